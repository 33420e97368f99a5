package dev.baton.jepsen;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.NodeEvents.Activation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The verdict of a {@link ProductPathTest} run: the suite's checkers ({@link Checks}) on what the
 * harness observed of the sidecars, the writers and the DNS server, plus the two that make an empty
 * run fail. Pure: no Docker, so {@code ProductPathChecksTest} checks it on hand-made observations.
 *
 * <p>A run is VALID only when every checker is: a run with no committed row, no activation, no
 * fault, or a fault that no other site took over from (Baton's promotion of the other server, a row
 * committed there through the fence with the new token) is UNKNOWN, never VALID.
 */
final class ProductPathChecks {
  private ProductPathChecks() {}

  /** The SIGKILL of an active site: its node, the token it was active with, when (nanoTime). */
  record Kill(String node, long token, long time) {}

  /** What a run observed. */
  record Observations(
      List<Activation> activations,
      List<Row> rows,
      List<NodeEvents.Op> ops,
      List<DnsWatcher.Observation> dns,
      List<Kill> kills,
      Map<String, String> addresses,
      Map<String, List<Long>> history) {}

  /** The checkers' outcomes, the run's validity, and the durability outcome (reported only). */
  record Verdict(Validity validity, List<Outcome> outcomes, Outcome durability) {
    String describe() {
      StringBuilder b = new StringBuilder("run " + validity + "\n");
      for (Outcome o : outcomes) {
        b.append("  ")
            .append(o.validity())
            .append(' ')
            .append(o.name())
            .append(": ")
            .append(o.summary())
            .append('\n');
      }
      b.append("  (reported, not asserted) ")
          .append(durability.validity())
          .append(' ')
          .append(durability.name())
          .append(": ")
          .append(durability.summary())
          .append('\n');
      return b.toString();
    }
  }

  static Verdict check(Observations o) {
    // The tokens issued to each node: the cluster's activation history (every activation, also
    // one too short for the harness's sampler to see) and the sampled activations.
    Map<String, List<Long>> issued = new TreeMap<>();
    o.history().forEach((node, tokens) -> issued.put(node, new ArrayList<>(tokens)));
    for (Activation a : o.activations()) {
      List<Long> tokens = issued.computeIfAbsent(a.node(), k -> new ArrayList<>());
      if (!tokens.contains(a.token())) {
        tokens.add(a.token());
      }
    }
    issued.values().forEach(java.util.Collections::sort);
    List<Outcome> outcomes = new ArrayList<>();
    outcomes.add(Checks.oneBeliever(o.activations()));
    outcomes.add(Checks.tokensGrow(o.activations(), issued));
    outcomes.add(Checks.fencedCommitOrder(o.rows()));
    outcomes.add(Checks.dnsForward(o.dns(), issued, o.addresses()));
    outcomes.add(tookOver(o.kills(), o.activations(), o.rows()));
    Validity v = Validity.VALID;
    for (Outcome out : outcomes) {
      if (out.validity() == Validity.INVALID) {
        v = Validity.INVALID;
        break;
      }
      if (out.validity() == Validity.UNKNOWN) {
        v = Validity.UNKNOWN;
      }
    }
    // Replication between the sites is asynchronous (the product does not manage synchronous
    // replication: a promoted server with synchronous_standby_names set and no standby would block
    // its own fence advance), so a site loss may lose writes acknowledged just before it, within
    // the
    // postgres step's maximumLag. Reported with the run, not part of its validity.
    Outcome durability = Checks.fencedDurable(o.ops(), o.rows());
    return new Verdict(v, List.copyOf(outcomes), durability);
  }

  /**
   * Every SIGKILL of an active site was taken over: after it, another node became active with a
   * higher token, and a row carrying that token committed (the other site's server promoted by
   * Baton and its fence advanced, the writer there following the name). With no kill at all the run
   * tested no fault: UNKNOWN.
   */
  static Outcome tookOver(List<Kill> kills, List<Activation> activations, List<Row> rows) {
    List<String> missing = new ArrayList<>();
    List<String> found = new ArrayList<>();
    for (Kill k : kills) {
      Activation next = null;
      for (Activation a : activations) {
        if (!a.node().equals(k.node())
            && a.token() > k.token()
            && a.firstT1() > k.time()
            && (next == null || a.firstT0() < next.firstT0())) {
          next = a;
        }
      }
      if (next == null) {
        missing.add(
            "kill of "
                + k.node()
                + " (token "
                + k.token()
                + "): no other node became active after");
        continue;
      }
      long t = next.token();
      long committed = rows.stream().filter(r -> r.token() == t).count();
      if (committed == 0) {
        missing.add(
            "kill of "
                + k.node()
                + " (token "
                + k.token()
                + "): "
                + next.node()
                + " took over with token "
                + t
                + " but no row committed with it");
        continue;
      }
      found.add(
          String.format(
              "%s (token %d) -> %s (token %d, active %.0f ms after the kill, %d rows)",
              k.node(), k.token(), next.node(), t, (next.firstT1() - k.time()) / 1e6, committed));
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("kills", kills.size());
    details.put("takeovers", found);
    details.put("missing", missing);
    Validity v = kills.isEmpty() || !missing.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    String summary =
        kills.isEmpty()
            ? "no active site was killed: no fault was tested"
            : !missing.isEmpty()
                ? missing.size()
                    + " of "
                    + kills.size()
                    + " kills not taken over: "
                    + missing.get(0)
                : kills.size() + " kills, each taken over: " + String.join("; ", found);
    return new Outcome(
        "site-loss-taken-over",
        "after each SIGKILL of the active site, another node became active with a higher token and"
            + " committed rows through the fence with it (Baton promoted the other server)",
        v,
        summary,
        details);
  }
}
