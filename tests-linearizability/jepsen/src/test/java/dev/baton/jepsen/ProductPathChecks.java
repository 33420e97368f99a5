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

  /**
   * A fault the harness injected: its kind (the nemesis's wire name: {@code kill}, {@code
   * partition-isolate-active}, {@code pause}, ...), the node it hit, the token that node was active
   * with (0 if it was not the active), when it began (nanoTime), and whether another node must take
   * over (the fault hit the active); {@code detail}, what the harness saw of the fault itself
   * (empty when there is nothing to add: the clock fault's measured drift, {@link ProductClock}).
   */
  record Fault(String kind, String node, long token, long time, boolean takeover, String detail) {
    Fault(String kind, String node, long token, long time, boolean takeover) {
      this(kind, node, token, time, takeover, "");
    }

    Fault withDetail(String d) {
      return new Fault(kind, node, token, time, takeover, d);
    }

    String describe() {
      return kind
          + " of "
          + node
          + (token > 0 ? " (active, token " + token + ")" : "")
          + (detail.isEmpty() ? "" : ": " + detail);
    }
  }

  /**
   * A write acknowledged to a writer (committed, with {@code commitSeq}) that is not on the final
   * primary as it was committed: its token and value, the writer ({@code node.incarnation}), and
   * the failover it straddled ({@link #straddled}: the fault during which its token was replaced).
   */
  record LostRow(long token, String value, long commitSeq, String writer, String failover) {
    @Override
    public String toString() {
      return "value "
          + value
          + " (token "
          + token
          + ", commit #"
          + commitSeq
          + ", writer "
          + writer
          + ", straddled "
          + failover
          + ")";
    }
  }

  /** What a run observed. */
  record Observations(
      List<Activation> activations,
      List<Row> rows,
      List<NodeEvents.Op> ops,
      List<DnsWatcher.Observation> dns,
      List<Fault> faults,
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
    outcomes.add(tookOver(o.faults(), o.activations(), o.rows()));
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
    // the postgres step's maximumLag. Reported with the run, each lost row named, not part of its
    // validity.
    Outcome durability = lostRows(o.ops(), o.rows(), o.faults(), o.activations());
    return new Verdict(v, List.copyOf(outcomes), durability);
  }

  /** The rows {@link #lostRows} names; pure, for the checker and its test. */
  static List<LostRow> findLostRows(
      List<NodeEvents.Op> ops, List<Row> rows, List<Fault> faults, List<Activation> activations) {
    Map<String, Row> byValue = new LinkedHashMap<>();
    for (Row r : rows) {
      byValue.put(r.value(), r);
    }
    List<LostRow> lost = new ArrayList<>();
    for (NodeEvents.Op op : ops) {
      if (!op.type().equals("ok")
          || op.commitSeq() == null
          || !(op.value() instanceof List<?> l)
          || l.size() < 2) {
        continue;
      }
      long token = ((Number) l.get(0)).longValue();
      String value = String.valueOf(l.get(1));
      Row r = byValue.get(value);
      if (r != null && r.token() == token && r.commitSeq() == op.commitSeq()) {
        continue;
      }
      lost.add(
          new LostRow(
              token,
              value,
              op.commitSeq(),
              op.proc(),
              straddled(token, op.time(), faults, activations)));
    }
    return lost;
  }

  /**
   * The failover a write acknowledged at {@code ackTime} with {@code token} straddled: the first
   * activation with a higher token (its successor), and the last fault that began before that
   * successor was seen active (the fault may have begun before the acknowledgement: an active cut
   * off or paused goes on committing on its own server until its lease ends). With no successor,
   * the first fault after the acknowledgement.
   */
  static String straddled(
      long token, long ackTime, List<Fault> faults, List<Activation> activations) {
    Activation next = null;
    for (Activation a : activations) {
      if (a.token() > token && (next == null || a.token() < next.token())) {
        next = a;
      }
    }
    Fault f = null;
    for (Fault x : faults) {
      boolean fits = next == null ? x.time() >= ackTime : x.time() <= next.firstT1();
      if (fits && (f == null || (next == null ? x.time() < f.time() : x.time() > f.time()))) {
        f = x;
      }
    }
    String successor =
        next == null
            ? "no newer token was seen"
            : next.node() + " active next with token " + next.token();
    if (f == null) {
      return "no fault, " + successor;
    }
    long gap = f.time() - ackTime;
    return String.format(
        "%s %s, %s",
        f.describe(),
        gap >= 0
            ? String.format("%.0f ms after the acknowledgement", gap / 1e6)
            : String.format("begun %.0f ms before the acknowledgement", -gap / 1e6),
        successor);
  }

  /**
   * Every row acknowledged to a writer (committed, with its commit number) is on the final primary
   * as committed, or it is named ({@link LostRow}: token, value, writer, the failover it
   * straddled); a row nobody tried to write (a phantom) is named too. INVALID names a loss, which a
   * run reports and does not assert: replication is asynchronous.
   */
  static Outcome lostRows(
      List<NodeEvents.Op> ops, List<Row> rows, List<Fault> faults, List<Activation> activations) {
    List<LostRow> lost = findLostRows(ops, rows, faults, activations);
    java.util.Set<String> invoked = new java.util.HashSet<>();
    long acknowledged = 0;
    for (NodeEvents.Op op : ops) {
      if (op.value() instanceof List<?> l && l.size() >= 2) {
        if (op.type().equals("invoke")) {
          invoked.add(String.valueOf(l.get(1)));
        } else if (op.type().equals("ok") && op.commitSeq() != null) {
          acknowledged++;
        }
      }
    }
    List<String> phantom = rows.stream().map(Row::value).filter(v -> !invoked.contains(v)).toList();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("acknowledged", acknowledged);
    details.put("rows", rows.size());
    details.put("lost", lost.stream().map(LostRow::toString).toList());
    details.put("phantom", phantom);
    boolean ok = lost.isEmpty() && phantom.isEmpty();
    String summary;
    if (!ok) {
      List<String> named = new ArrayList<>();
      lost.forEach(x -> named.add(x.toString()));
      phantom.forEach(x -> named.add("phantom value " + x + " (never tried by a writer)"));
      summary =
          lost.size()
              + " lost of "
              + acknowledged
              + " acknowledged, "
              + phantom.size()
              + " phantom: "
              + String.join("; ", named);
    } else if (acknowledged == 0) {
      summary =
          "no write was acknowledged as committed (" + invoked.size() + " tried): nothing checked";
    } else {
      summary = acknowledged + " acknowledged writes all on the final primary";
    }
    return new Outcome(
        "acknowledged-rows-on-final-primary",
        "every row acknowledged to a writer is on the final primary as committed, and nothing"
            + " else is; each lost row is named with its token, value, writer and the failover it"
            + " straddled (reported, not asserted: replication between the sites is asynchronous)",
        !ok ? Validity.INVALID : acknowledged == 0 ? Validity.UNKNOWN : Validity.VALID,
        summary,
        details);
  }

  /**
   * Every fault of the active (a site loss, a partition, a pause, its PostgreSQL killed) was taken
   * over: after it, another node became active with a higher token, and a row carrying that token
   * committed (the other site's server promoted by Baton and its fence advanced, the writer there
   * following the name). With no fault at all the run tested nothing: UNKNOWN.
   */
  static Outcome tookOver(List<Fault> faults, List<Activation> activations, List<Row> rows) {
    List<String> missing = new ArrayList<>();
    List<String> found = new ArrayList<>();
    List<String> other = new ArrayList<>();
    for (Fault k : faults) {
      if (!k.takeover()) {
        other.add(k.describe());
        continue;
      }
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
        missing.add(k.describe() + ": no other node became active after");
        continue;
      }
      long t = next.token();
      long committed = rows.stream().filter(r -> r.token() == t).count();
      if (committed == 0) {
        missing.add(
            k.describe()
                + ": "
                + next.node()
                + " took over with token "
                + t
                + " but no row committed with it");
        continue;
      }
      found.add(
          String.format(
              "%s -> %s (token %d, active %.0f ms after, %d rows)",
              k.describe(), next.node(), t, (next.firstT1() - k.time()) / 1e6, committed));
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("faults", faults.size());
    details.put("takeovers", found);
    details.put("missing", missing);
    details.put("withoutTakeover", other);
    Validity v = faults.isEmpty() || !missing.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    long ofActive = faults.stream().filter(Fault::takeover).count();
    String summary =
        faults.isEmpty()
            ? "no fault was injected: nothing was tested"
            : !missing.isEmpty()
                ? missing.size()
                    + " of "
                    + ofActive
                    + " faults of the active not taken over: "
                    + missing.get(0)
                : ofActive
                    + " faults of the active, each taken over: "
                    + String.join("; ", found)
                    + (other.isEmpty()
                        ? ""
                        : "; faults off the active: " + String.join("; ", other));
    return new Outcome(
        "active-fault-taken-over",
        "after each fault of the active (site loss, partition, pause, PostgreSQL killed), another"
            + " node became active with a higher token and committed rows through the fence with it"
            + " (Baton promoted the other server)",
        v,
        summary,
        details);
  }
}
