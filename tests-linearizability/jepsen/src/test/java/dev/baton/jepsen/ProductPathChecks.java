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

  /**
   * A transaction held open on the active's server across a takeover ({@code pg-paused-txn}, {@link
   * ProductAppFaults}): the node whose server held it, the token it checked, the value it inserted
   * with commit number {@code commitSeq}, the token the successor was active with when its {@code
   * COMMIT} was tried ({@code successor}, 0 if none was seen), how the takeover was caused, and the
   * COMMIT's outcome: {@value #COMMITTED}, or the SQLSTATE and message that refused it.
   */
  record HeldTransaction(
      String node,
      long token,
      String value,
      long commitSeq,
      long successor,
      String how,
      String outcome) {
    static final String COMMITTED = "committed";

    boolean committed() {
      return outcome.equals(COMMITTED);
    }

    @Override
    public String toString() {
      return value
          + " (token "
          + token
          + " on "
          + node
          + "'s server, commit #"
          + commitSeq
          + ", "
          + how
          + "): COMMIT with "
          + (successor > 0 ? "token " + successor + " active" : "no successor seen")
          + ": "
          + outcome;
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
      Map<String, List<Long>> history,
      List<HeldTransaction> held) {
    /** A run with no held transaction. */
    Observations(
        List<Activation> activations,
        List<Row> rows,
        List<NodeEvents.Op> ops,
        List<DnsWatcher.Observation> dns,
        List<Fault> faults,
        Map<String, String> addresses,
        Map<String, List<Long>> history) {
      this(activations, rows, ops, dns, faults, addresses, history, List.of());
    }
  }

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
    return check(o, List.of());
  }

  /** {@link #check(Observations)} with the fence agent's power-offs ({@link #stonithHeld}). */
  static Verdict check(Observations o, List<FenceAgent.Stop> stops) {
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
    outcomes.add(noStaleAcknowledgement(o.ops()));
    outcomes.add(Checks.dnsForward(o.dns(), issued, o.addresses()));
    outcomes.add(dnsFollowsTheFence(o.dns(), o.activations(), DNS_BOUND));
    outcomes.add(tookOver(o.faults(), o.activations(), o.rows()));
    outcomes.add(stonithHeld(stops, o.ops(), o.rows(), issued));
    if (!o.held().isEmpty() || o.faults().stream().anyMatch(f -> f.kind().equals(PG_PAUSED_TXN))) {
      outcomes.add(heldTransactions(o.faults(), o.held()));
    }
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

  /**
   * One write a writer was told committed: its token and value, the writer, when it was invoked and
   * when it was acknowledged (nanoTime).
   */
  record Acknowledged(long token, String value, String writer, long invoked, long acked) {}

  /**
   * No write with a token is acknowledged if it began after a write with a newer token was
   * acknowledged (I3 across the two sites' servers). The fence on one server orders that server's
   * commits ({@link Checks#fencedCommitOrder}, on the final primary's rows only); this one also
   * judges the writes that the final primary does not hold: those the old primary took while it was
   * cut off or paused, which a rewind later discarded. Such a write committed after its invocation,
   * so after the newer write's acknowledgement: two servers took writes for two tokens at once, the
   * split brain the fence's time bound and the lease exist to prevent. Judged from the writers'
   * logs alone (invocation and acknowledgement times on the clock all containers share).
   */
  static Outcome noStaleAcknowledgement(List<NodeEvents.Op> ops) {
    List<Acknowledged> acks = acknowledged(ops);
    // For each token, the earliest acknowledgement of a write with that token or a newer one.
    java.util.NavigableMap<Long, Acknowledged> firstAck = new TreeMap<>();
    for (Acknowledged a : acks) {
      firstAck.merge(a.token(), a, (x, y) -> x.acked() <= y.acked() ? x : y);
    }
    Map<Long, Acknowledged> newerFirst = new TreeMap<>();
    Acknowledged earliest = null;
    for (Map.Entry<Long, Acknowledged> e : firstAck.descendingMap().entrySet()) {
      newerFirst.put(e.getKey(), earliest);
      if (earliest == null || e.getValue().acked() < earliest.acked()) {
        earliest = e.getValue();
      }
    }
    List<String> stale = new ArrayList<>();
    for (Acknowledged a : acks) {
      Acknowledged newer = newerFirst.get(a.token());
      if (newer != null && a.invoked() > newer.acked()) {
        stale.add(
            String.format(
                "value %s with token %d (writer %s) invoked %.0f ms after value %s with token %d"
                    + " (writer %s) was acknowledged, and acknowledged itself",
                a.value(),
                a.token(),
                a.writer(),
                (a.invoked() - newer.acked()) / 1e6,
                newer.value(),
                newer.token(),
                newer.writer()));
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("acknowledged", acks.size());
    details.put("tokens", firstAck.size());
    details.put("stale", stale);
    Validity v =
        !stale.isEmpty() ? Validity.INVALID : acks.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    String summary =
        !stale.isEmpty()
            ? stale.size() + " stale writes acknowledged: " + String.join("; ", stale)
            : acks.isEmpty()
                ? "no write was acknowledged: nothing checked"
                : acks.size()
                    + " acknowledged writes with "
                    + firstAck.size()
                    + " tokens, none begun after a newer token's write was acknowledged";
    return new Outcome(
        "I3-no-stale-acknowledgement",
        "no write with a token is acknowledged if it began after a write with a newer token was"
            + " acknowledged, on either site's server (the rows a rewind discarded included)",
        v,
        summary,
        details);
  }

  /**
   * The writers' acknowledged writes (an {@code ok} with a commit number), each with its invoke.
   */
  static List<Acknowledged> acknowledged(List<NodeEvents.Op> ops) {
    Map<String, NodeEvents.Op> pending = new java.util.HashMap<>();
    List<Acknowledged> out = new ArrayList<>();
    List<NodeEvents.Op> sorted = new ArrayList<>(ops);
    sorted.sort(java.util.Comparator.comparingLong(NodeEvents.Op::time));
    for (NodeEvents.Op op : sorted) {
      if (!(op.value() instanceof List<?> l) || l.size() < 2) {
        continue;
      }
      String value = String.valueOf(l.get(1));
      if (op.type().equals("invoke")) {
        pending.put(op.proc() + "/" + value, op);
      } else {
        NodeEvents.Op inv = pending.remove(op.proc() + "/" + value);
        if (op.type().equals("ok") && op.commitSeq() != null) {
          long token = ((Number) l.get(0)).longValue();
          out.add(
              new Acknowledged(
                  token, value, op.proc(), inv == null ? op.time() : inv.time(), op.time()));
        }
      }
    }
    return out;
  }

  /**
   * The bound {@link #dnsFollowsTheFence} holds the name to: its TTL ({@code ttl: 1s} in the {@code
   * dns} step). The name moves in the promotion's {@code dns} step, before the node reports itself
   * active; a resolver that cached the old answer may still hand it out for one TTL.
   */
  static final java.time.Duration DNS_BOUND = java.time.Duration.ofSeconds(1);

  /**
   * The switched name, when read, never points at a server that a newer token fenced for longer
   * than {@code bound}: no reading begun more than {@code bound} after another node was first seen
   * active with a newer token shows the name still on the older token's node. (A node is active
   * only once its promotion, the fence advance and the {@code dns} step included, is done, so the
   * first sample of a newer activation comes after its server took the writer from the old one.)
   */
  static Outcome dnsFollowsTheFence(
      List<DnsWatcher.Observation> dns, List<Activation> activations, java.time.Duration bound) {
    long b = bound.toNanos();
    List<String> stale = new ArrayList<>();
    int judged = 0;
    for (DnsWatcher.Observation r : dns) {
      if (r.error() != null || r.token() <= 0 || r.node().isEmpty()) {
        continue;
      }
      Activation newer = null;
      for (Activation a : activations) {
        if (a.token() > r.token()
            && !a.node().equals(r.node())
            && a.firstT1() + b < r.time()
            && (newer == null || a.firstT1() < newer.firstT1())) {
          newer = a;
        }
      }
      boolean afterATakeover = false;
      for (Activation a : activations) {
        if (a.firstT1() + b < r.time() && !a.node().equals(r.node())) {
          afterATakeover = true;
          break;
        }
      }
      if (afterATakeover) {
        judged++;
      }
      if (newer != null && stale.size() < 20) {
        stale.add(
            String.format(
                "a reading %.0f ms after %s was first seen active with token %d still showed the"
                    + " name on %s (fence token %d)",
                (r.time() - newer.firstT1()) / 1e6,
                newer.node(),
                newer.token(),
                r.node(),
                r.token()));
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("readings", dns.size());
    details.put("judged", judged);
    details.put("boundMillis", bound.toMillis());
    details.put("stale", stale);
    boolean takeover = activations.stream().map(Activation::node).distinct().count() > 1;
    Validity v =
        !stale.isEmpty()
            ? Validity.INVALID
            : takeover && judged == 0 ? Validity.UNKNOWN : Validity.VALID;
    String summary =
        !stale.isEmpty()
            ? stale.size() + " stale reading(s): " + stale.get(0)
            : !takeover
                ? "no other node became active: no reading to judge"
                : judged == 0
                    ? "no reading after a takeover: nothing was checked"
                    : judged
                        + " readings after a takeover, none on a server fenced by a newer token for"
                        + " longer than "
                        + bound.toMillis()
                        + " ms";
    return new Outcome(
        "dns-follows-the-fence",
        "the switched name, when read, never points at a server fenced by a newer token for longer"
            + " than the name's TTL after the newer token's node was first seen active",
        v,
        summary,
        details);
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

  private static final String PG_PAUSED_TXN = NemesisKind.PG_PAUSED_TXN.wireName();

  /**
   * No transaction held open on the old primary across a takeover committed once a successor was
   * active ({@code pg-paused-txn}): its session ended by the successor's fencing of the old
   * primary, or its COMMIT refused by the fence's time bound ({@code BT008}). A committed one is
   * INVALID, as the suite's {@link Checks#heldTransactionFenced}; a fault whose transaction was not
   * held, or whose COMMIT was tried with no successor seen, checked nothing: UNKNOWN.
   */
  static Outcome heldTransactions(List<Fault> faults, List<HeldTransaction> held) {
    long injected = faults.stream().filter(f -> f.kind().equals(PG_PAUSED_TXN)).count();
    List<String> landed = new ArrayList<>();
    List<String> refused = new ArrayList<>();
    List<String> unchecked = new ArrayList<>();
    for (HeldTransaction h : held) {
      if (h.successor() <= h.token()) {
        unchecked.add(h.toString());
      } else if (h.committed()) {
        landed.add(h.toString());
      } else {
        refused.add(h.toString());
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("faults", injected);
    details.put("committed", landed);
    details.put("refused", refused);
    details.put("unchecked", unchecked);
    Validity v;
    String summary;
    if (!landed.isEmpty()) {
      v = Validity.INVALID;
      summary =
          landed.size()
              + " held transaction(s) committed after a successor was active: "
              + String.join("; ", landed);
    } else if (held.size() < injected || !unchecked.isEmpty() || refused.isEmpty()) {
      v = Validity.UNKNOWN;
      summary =
          injected
              + " pg-paused-txn faults, "
              + held.size()
              + " transactions held, "
              + unchecked.size()
              + " tried with no successor active: nothing checked for the rest"
              + (unchecked.isEmpty() ? "" : ": " + String.join("; ", unchecked));
    } else {
      v = Validity.VALID;
      summary =
          refused.size() + " held transaction(s), none committed: " + String.join("; ", refused);
    }
    return new Outcome(
        "held-transaction-fenced",
        "a fenced transaction held open on the old primary while the other site took over never"
            + " committed once the successor was active (its session ended by the successor's"
            + " fencing, or its COMMIT refused by the fence's time bound)",
        v,
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

  /**
   * A server the fence agent powered off takes no write, and the new primary takes none before the
   * old one is off ({@link FenceAgent}: the {@code stopCommand}, STONITH). A committed write (a row
   * on the final primary, or a write acknowledged to a writer) committed on the server of the node
   * whose activation issued its token ({@code check_fence} passes only on the server whose fence
   * holds that very token, which that activation's promotion advanced). INVALID when:
   *
   * <ul>
   *   <li>a write on a server the agent powered off was begun (its {@code invoke}) after the agent
   *       saw it off and before the harness powered it on again: it committed on a server that was
   *       off;
   *   <li>a write with the token of an activation that asked for a power-off was acknowledged
   *       before that power-off was done (the first one for that token): the new primary took a
   *       write while the old one may still have been running. Baton runs the stop command before
   *       it advances the fence, so no such write can commit.
   * </ul>
   *
   * With no power-off (every old primary was unreachable, the fence's time bound let the promotion
   * go on), there is nothing to check: VALID, and the summary says so.
   */
  static Outcome stonithHeld(
      List<FenceAgent.Stop> stops,
      List<NodeEvents.Op> ops,
      List<Row> rows,
      Map<String, List<Long>> issued) {
    Map<Long, String> nodeOfToken = new java.util.HashMap<>();
    issued.forEach((node, tokens) -> tokens.forEach(t -> nodeOfToken.put(t, node)));
    // Per value: the first invoke's time, and the commit (token, acknowledgement time or -1 for a
    // row read without an acknowledgement).
    Map<String, Long> invokedAt = new java.util.HashMap<>();
    Map<String, long[]> committed = new LinkedHashMap<>();
    for (NodeEvents.Op op : ops) {
      if (!(op.value() instanceof List<?> l) || l.size() < 2) {
        continue;
      }
      long token = ((Number) l.get(0)).longValue();
      String value = String.valueOf(l.get(1));
      if (op.type().equals("invoke")) {
        invokedAt.putIfAbsent(value, op.time());
      } else if (op.type().equals("ok")) {
        committed.put(value, new long[] {token, op.time()});
      }
    }
    for (Row r : rows) {
      committed.putIfAbsent(r.value(), new long[] {r.token(), -1});
    }
    List<String> violations = new ArrayList<>();
    Map<Long, FenceAgent.Stop> firstByToken = new TreeMap<>();
    for (FenceAgent.Stop s : stops) {
      FenceAgent.Stop f = firstByToken.get(s.token());
      if (f == null || s.doneAt() < f.doneAt()) {
        firstByToken.put(s.token(), s);
      }
      if (s.alreadyOff()) {
        continue;
      }
      long end = s.poweredOnAt() > 0 ? s.poweredOnAt() : Long.MAX_VALUE;
      for (Map.Entry<String, long[]> e : committed.entrySet()) {
        long token = e.getValue()[0];
        Long invoked = invokedAt.get(e.getKey());
        if (s.targetNode().equals(nodeOfToken.get(token))
            && invoked != null
            && invoked > s.doneAt()
            && invoked < end) {
          violations.add(
              String.format(
                  "value %s (token %d) committed on %s's server, which the agent had powered off"
                      + " %.0f ms before the write began",
                  e.getKey(), token, s.targetNode(), (invoked - s.doneAt()) / 1e6));
        }
      }
    }
    for (FenceAgent.Stop s : firstByToken.values()) {
      for (Map.Entry<String, long[]> e : committed.entrySet()) {
        long ack = e.getValue()[1];
        if (e.getValue()[0] == s.token() && ack >= 0 && ack < s.doneAt()) {
          violations.add(
              String.format(
                  "value %s acknowledged with token %d %.0f ms before the agent had powered off %s"
                      + " for that token's activation",
                  e.getKey(), s.token(), (s.doneAt() - ack) / 1e6, s.targetNode()));
        }
      }
    }
    long off = stops.stream().filter(s -> !s.alreadyOff()).count();
    Map<String, Object> details = new LinkedHashMap<>();
    List<String> described =
        stops.stream()
            .map(
                s ->
                    s.targetNode()
                        + " for token "
                        + s.token()
                        + " of "
                        + s.node()
                        + (s.alreadyOff() ? " (already off)" : ""))
            .toList();
    details.put("stops", described);
    details.put("violations", violations);
    String summary =
        !violations.isEmpty()
            ? violations.size() + " writes against the power-offs: " + String.join("; ", violations)
            : stops.isEmpty()
                ? "the agent powered no server off (no promotion had to stop its old primary: the"
                    + " fence's time bound covered an unreachable one, a guard held one handed over):"
                    + " nothing to check"
                : off
                    + " servers powered off took no write after, and no new primary took one"
                    + " before: "
                    + String.join(", ", described);
    return new Outcome(
        "stonith-held",
        "a server the fence agent powered off (the postgres step's stopCommand) takes no write"
            + " until it is powered on again, and the activation that asked takes none before it is"
            + " off",
        violations.isEmpty() ? Validity.VALID : Validity.INVALID,
        summary,
        details);
  }
}
