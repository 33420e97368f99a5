package dev.baton.jepsen;

import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.lincheck.Budget;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.Checker;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Verdict;
import dev.baton.lincheck.models.Models;
import dev.baton.lincheck.models.NilRead;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The checkers. Each one is sound: it reports a violation only when the recorded observations prove
 * one (times are CLOCK_MONOTONIC nanoseconds, one clock for every container and the host). None is
 * valid on nothing: a checker that had nothing to judge (no activation, no committed row, no
 * successful operation, no reading of the fence) answers UNKNOWN and says what it lacked, so a
 * broken recorder or a workload whose every call failed cannot pass. {@link Floors} asks more of a
 * whole run: enough of each kind of observation that a healthy run always records.
 */
final class Checks {
  private Checks() {}

  /** Valid, violated, or unknown (the check could not decide, e.g. the budget ran out). */
  enum Validity {
    VALID,
    INVALID,
    UNKNOWN;

    String json() {
      return switch (this) {
        case VALID -> "true";
        case INVALID -> "false";
        case UNKNOWN -> "\"unknown\"";
      };
    }
  }

  /**
   * One checker's verdict.
   *
   * @param name the checker
   * @param guarantee what it checks, in one sentence
   * @param validity the verdict
   * @param summary one line for people
   * @param details facts behind the verdict (counts, the violations found)
   */
  record Outcome(
      String name,
      String guarantee,
      Validity validity,
      String summary,
      Map<String, Object> details) {}

  static final String NO_ACTIVATION =
      "no activation was recorded (no node's sampler saw it active): nothing was checked";

  /** A sampled interval of being active, as used for the report and the checks. */
  record Overlap(Activation a, Activation b, long from, long to) {}

  // ------------------------------------------------------------------------- I2

  /**
   * I2, one believer: no two nodes were active at the same instant. Activation A was certainly
   * active throughout {@code [A.firstT1, A.lastT0]}; a violation is two such intervals of different
   * nodes that intersect, or a single-sample activation whose whole sample window lies inside
   * another node's certain interval.
   */
  static Outcome oneBeliever(List<Activation> activations) {
    List<Overlap> overlaps = overlaps(activations);
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("activations", activations.size());
    details.put("samples", activations.stream().mapToLong(Activation::samples).sum());
    List<String> found = new ArrayList<>();
    for (Overlap o : overlaps) {
      found.add(
          String.format(
              "%s (token %d) and %s (token %d) both active for %.3f ms (from t=%d to t=%d ns)",
              o.a().node(),
              o.a().token(),
              o.b().node(),
              o.b().token(),
              (o.to() - o.from()) / 1e6,
              o.from(),
              o.to()));
    }
    details.put("overlaps", found);
    return new Outcome(
        "I2-one-believer",
        "at no instant were two nodes active (isActive() sampled every millisecond, intervals timed"
            + " with the shared monotonic clock)",
        !overlaps.isEmpty()
            ? Validity.INVALID
            : activations.isEmpty() ? Validity.UNKNOWN : Validity.VALID,
        !overlaps.isEmpty()
            ? overlaps.size() + " overlap(s): " + found.get(0)
            : activations.isEmpty()
                ? NO_ACTIVATION
                : activations.size() + " activations, no overlap",
        details);
  }

  static List<Overlap> overlaps(List<Activation> activations) {
    List<Overlap> out = new ArrayList<>();
    for (int i = 0; i < activations.size(); i++) {
      for (int j = i + 1; j < activations.size(); j++) {
        Activation a = activations.get(i);
        Activation b = activations.get(j);
        if (a.node().equals(b.node())) {
          continue;
        }
        if (a.hasInner() && b.hasInner()) {
          long from = Math.max(a.firstT1(), b.firstT1());
          long to = Math.min(a.lastT0(), b.lastT0());
          if (from <= to) {
            out.add(new Overlap(a, b, from, to));
          }
        } else if (a.hasInner() != b.hasInner()) {
          Activation inner = a.hasInner() ? a : b;
          Activation point = a.hasInner() ? b : a;
          if (point.firstT0() >= inner.firstT1() && point.firstT1() <= inner.lastT0()) {
            out.add(new Overlap(inner, point, point.firstT0(), point.firstT1()));
          }
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------- I1

  /**
   * I1, tokens only grow: tokens are unique, and whenever one activation was certainly seen active
   * before another was first seen active, its token is lower; this includes activations across
   * restarts of a node and of the whole cluster.
   */
  static Outcome tokensGrow(List<Activation> activations, Map<String, List<Long>> advanced) {
    List<String> found = new ArrayList<>();
    Map<Long, Activation> byToken = new HashMap<>();
    for (Activation a : activations) {
      Activation other = byToken.putIfAbsent(a.token(), a);
      if (other != null && !other.node().equals(a.node())) {
        found.add("token " + a.token() + " used by both " + other.node() + " and " + a.node());
      }
    }
    for (Activation a : activations) {
      for (Activation b : activations) {
        if (a != b && a.firstT1() < b.firstT0() && a.token() >= b.token()) {
          found.add(
              String.format(
                  "%s was active with token %d before %s became active with token %d",
                  a.node(), a.token(), b.node(), b.token()));
        }
      }
    }
    Map<String, List<String>> perNode = new TreeMap<>();
    for (Activation a : activations) {
      perNode
          .computeIfAbsent(a.node(), k -> new ArrayList<>())
          .add(a.token() + "@" + a.incarnation());
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("activations", activations.size());
    details.put("tokensByNode(token@incarnation)", perNode);
    details.put("tokensIssuedByNode", advanced);
    details.put("violations", found);
    List<Long> order =
        activations.stream()
            .sorted(Comparator.comparingLong(Activation::firstT0))
            .map(Activation::token)
            .toList();
    details.put("tokensInOrderOfActivation", order);
    return new Outcome(
        "I1-tokens-grow",
        "every activation's token is unique and greater than the token of every activation seen"
            + " before it, across node and cluster restarts",
        !found.isEmpty()
            ? Validity.INVALID
            : activations.isEmpty() ? Validity.UNKNOWN : Validity.VALID,
        !found.isEmpty()
            ? found.size() + " violation(s): " + found.get(0)
            : activations.isEmpty()
                ? NO_ACTIVATION
                : activations.size()
                    + " activations, tokens strictly increasing: "
                    + abbreviate(order),
        details);
  }

  // ------------------------------------------------------------------------- I3

  /** A committed row of the fenced-writes table. */
  record Row(long commitSeq, long token, String node, String value) {}

  // ------------------------------------------------------------------------- outsider

  /**
   * How long after an outsider attempt ended a node's refusal counter may still show it: the node
   * app polls the counter every 20 ms; the rest is scheduling on a loaded machine. The nemesis
   * leaves twice this between attempts, so a rise is never put down to the wrong one.
   */
  static final long REFUSAL_RECORD_SLACK = 250_000_000L;

  /**
   * No outsider attempt on the Raft port (write, reconfiguration, transfer, election) succeeded,
   * and each was refused by a node. A failed attempt counts as refused only when some node's
   * refusal counter ({@code baton.raft.refused}, recorded as {@code refusals} when it rises) rose
   * between the attempt's {@code attempt} event and {@link #REFUSAL_RECORD_SLACK} after its
   * outcome: the client alone cannot tell a refusal from a port nobody listens on (a plaintext call
   * to a port that wants TLS fails as "UNAVAILABLE: Network closed", as does a dead one). A failed
   * attempt that no node counted never reached one, as far as anyone can tell: UNKNOWN.
   */
  static Outcome outsiderRefused(List<Nemesis.Event> schedule, List<NodeEvents.Refusals> refusals) {
    List<String> accepted = new ArrayList<>();
    List<String> unconfirmed = new ArrayList<>();
    Map<String, Long> confirmedBy = new TreeMap<>();
    int refused = 0;
    long begin = -1;
    for (Nemesis.Event e : schedule) {
      if (e.kind() != NemesisKind.OUTSIDER) {
        continue;
      }
      switch (e.phase()) {
        case "attempt" -> begin = e.time();
        case "ACCEPTED" -> accepted.add(e.detail());
        case "failed", "refused" -> {
          long from = begin >= 0 ? begin : e.time();
          long to = e.time() + REFUSAL_RECORD_SLACK;
          List<String> nodes =
              refusals.stream()
                  .filter(r -> r.time() >= from && r.time() <= to)
                  .map(NodeEvents.Refusals::node)
                  .distinct()
                  .toList();
          if (nodes.isEmpty()) {
            unconfirmed.add(e.detail());
          } else {
            refused++;
            nodes.forEach(n -> confirmedBy.merge(n, 1L, Long::sum));
          }
        }
        default -> {}
      }
      if (!e.phase().equals("attempt")) {
        begin = -1;
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("refused", refused);
    details.put("refusalsCountedBy", confirmedBy);
    details.put("notCounted", unconfirmed);
    details.put("accepted", accepted);
    details.put("refusalCounterRecords", refusals.size());
    Validity v =
        !accepted.isEmpty()
            ? Validity.INVALID
            : refused == 0 || !unconfirmed.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    return new Outcome(
        "outsider-refused",
        "a process without the cluster secret that knows the cluster id and the Raft addresses"
            + " could not write, reconfigure, transfer leadership or force an election: each"
            + " attempt was refused by a node, which counted the refusal",
        v,
        !accepted.isEmpty()
            ? accepted.size() + " outsider attempt(s) accepted: " + accepted.get(0)
            : !unconfirmed.isEmpty()
                ? unconfirmed.size()
                    + " outsider attempt(s) failed but no node counted a refusal (it may never"
                    + " have reached one), so they checked nothing: "
                    + unconfirmed.get(0)
                : refused == 0
                    ? "no outsider attempt was made: nothing was checked"
                    : refused
                        + " outsider attempts, each refused by a node that counted it: "
                        + confirmedBy,
        details);
  }

  // ------------------------------------------------------------------------- faults happened

  static final String FAULTS_HAPPENED = "faults-happened";

  /**
   * Every configured fault kind happened (its nemesis recorded a {@code start} at least once), and
   * the nemesis recorded no {@code error}. A kind that never happened leaves its checks with
   * nothing to judge and the run with less than it says it tested; an error inside a nemesis (a
   * fault half-applied, a heal that failed) means the run did not test what it says. Neither is a
   * violation of Baton's properties, so both are UNKNOWN, naming the kind and why: the nemesis's
   * {@code skipped} reason, the error, or that the schedule ended before the kind came up.
   */
  static Outcome faultsHappened(Set<NemesisKind> configured, List<Nemesis.Event> schedule) {
    Map<String, Long> happened = new TreeMap<>();
    Map<String, String> missing = new TreeMap<>();
    List<String> errors = new ArrayList<>();
    for (NemesisKind k : configured) {
      long starts =
          schedule.stream().filter(e -> e.kind() == k && e.phase().equals("start")).count();
      if (starts > 0) {
        happened.put(k.wireName(), starts);
      } else {
        missing.put(k.wireName(), whyNotHappened(k, schedule));
      }
    }
    for (Nemesis.Event e : schedule) {
      if (e.phase().equals("error")) {
        errors.add((e.kind() == null ? "healing" : e.kind().wireName()) + ": " + e.detail());
      }
    }
    List<String> problems = new ArrayList<>();
    missing.forEach((k, why) -> problems.add(k + ": configured, never happened: " + why));
    errors.forEach(e -> problems.add("nemesis error in " + e));
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("configured", configured.stream().map(NemesisKind::wireName).sorted().toList());
    details.put("happened", happened);
    details.put("neverHappened", missing);
    details.put("errors", errors);
    return new Outcome(
        FAULTS_HAPPENED,
        "every configured fault kind was injected at least once and the nemesis raised no error,"
            + " so the run tested what it says it did",
        problems.isEmpty() ? Validity.VALID : Validity.UNKNOWN,
        !problems.isEmpty()
            ? String.join("; ", problems)
            : configured.isEmpty()
                ? "no fault kind was configured"
                : "every configured kind happened: " + happened,
        details);
  }

  static final String SELF_STOPS = "node-self-stops";

  /**
   * The nodes that stopped by themselves (their app exited with status 3 and the {@link Supervisor}
   * started it again), listed so that they are seen. Not a safety property, and VALID whatever the
   * count: a self-stop is a liveness event, and whatever it broke shows up in the checkers of the
   * properties it broke (the safety checkers, I4, I5, the nemesis's own waits); counting it as an
   * anomaly would fail runs on a node doing what it must when its Raft server is gone. The summary
   * names each one with why, the schedule and {@code results.json} ({@code selfStops}) when.
   */
  static Outcome selfStops(List<Nemesis.Event> schedule) {
    List<String> stops = new ArrayList<>();
    long restarts = 0;
    for (Nemesis.Event e : schedule) {
      if (e.phase().equals(Supervisor.SELF_STOP)) {
        stops.add(e.detail());
      } else if (e.phase().equals(Supervisor.RESTARTED)) {
        restarts++;
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("selfStops", stops);
    details.put("restartedBySupervisor", restarts);
    return new Outcome(
        SELF_STOPS,
        "informational, not a safety property: every node app that exited because its node stopped"
            + " itself (status 3) is listed; the harness restarted it as a supervisor would",
        Validity.VALID,
        stops.isEmpty()
            ? "no node stopped itself"
            : stops.size()
                + " self-stop(s), "
                + restarts
                + " restarted by the supervisor: "
                + String.join("; ", stops),
        details);
  }

  /**
   * Why {@code kind} has no {@code start} in the schedule: what its nemesis recorded instead (a
   * {@code skipped} reason, an {@code error}), or that it was never drawn.
   */
  static String whyNotHappened(NemesisKind kind, List<Nemesis.Event> schedule) {
    List<String> reasons = new ArrayList<>();
    for (Nemesis.Event e : schedule) {
      if (e.kind() == kind && (e.phase().equals("skipped") || e.phase().equals("error"))) {
        reasons.add(e.phase() + " (" + e.detail() + ")");
      }
    }
    if (reasons.isEmpty()) {
      return "never drawn (the schedule ended before its turn)";
    }
    return reasons.size() == 1
        ? reasons.get(0)
        : reasons.size() + " tries: " + String.join(", ", reasons);
  }

  // ------------------------------------------------------------------------- paused transaction

  /**
   * A fenced transaction held open by an active that was then paused and cut off from the primary
   * never committed once a successor had become active: the successor's fence advance ended the
   * orphaned session. (If no successor was seen, the held transaction may commit when the node
   * wakes: nothing newer was fenced in.) The fault's {@code start} event's detail begins with the
   * value held.
   */
  static Outcome heldTransactionFenced(List<Nemesis.Event> schedule, List<Row> rows) {
    Set<String> committed = rows.stream().map(Row::value).collect(Collectors.toSet());
    List<String> landed = new ArrayList<>();
    int held = 0;
    int superseded = 0;
    String current = null;
    for (Nemesis.Event e : schedule) {
      if (e.kind() != NemesisKind.PG_PAUSED_TXN) {
        continue;
      }
      switch (e.phase()) {
        case "start" -> {
          held++;
          current = e.detail().split(" ", 2)[0];
        }
        case "successor" -> {
          if (current != null) {
            superseded++;
            if (committed.contains(current)) {
              landed.add(current + " committed although " + e.detail());
            }
          }
        }
        case "end" -> current = null;
        default -> {}
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("held", held);
    details.put("supersededWhileHeld", superseded);
    details.put("committedAfterSuccessor", landed);
    return new Outcome(
        "held-transaction-fenced",
        "a fenced transaction left open by an active that was paused and cut off from the primary"
            + " never committed once a successor was active (its fence advance ended the session)",
        !landed.isEmpty() ? Validity.INVALID : superseded == 0 ? Validity.UNKNOWN : Validity.VALID,
        !landed.isEmpty()
            ? landed.size() + " held transaction(s) committed: " + landed.get(0)
            : held == 0
                ? "no transaction was held: pg-paused-txn never happened: "
                    + whyNotHappened(NemesisKind.PG_PAUSED_TXN, schedule)
                    + "; nothing was checked"
                : superseded == 0
                    ? held
                        + " transaction(s) held, none with a successor active: nothing was checked"
                    : superseded + " held transaction(s) superseded, none committed",
        details);
  }

  // ------------------------------------------------------------------------- region cut

  static final String REGION_CUT_FENCED = "region-cut-lease-fenced";

  /**
   * The slowest clock rate a node of the suite runs at ({@code clock}'s 0.92; the configured base
   * rates are 0.95 and up): a paused node's lease ends at most {@code lease / rate} after it
   * stopped.
   */
  static final double SLOWEST_CLOCK_RATE = 0.92;

  /**
   * How long after its SIGSTOP a paused active's lease can last at most, as the harness bounds it
   * without trusting the fence: the default lease at the slowest clock rate, plus 100 ms for the
   * signal and the clock read.
   */
  static Duration regionCutLeaseBound() {
    long lease = dev.baton.core.Timing.DEFAULTS.lease().toNanos();
    return Duration.ofNanos((long) (lease / SLOWEST_CLOCK_RATE)).plusMillis(100);
  }

  /** The {@code key=value} words of an event's detail. */
  static Map<String, String> words(String detail) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String w : detail.split(" ")) {
      int eq = w.indexOf('=');
      if (eq > 0) {
        out.put(w.substring(0, eq), w.substring(eq + 1));
      }
    }
    return out;
  }

  /**
   * Region loss without a STONITH (issue 32): after a region cut (the active paused, it and the
   * PostgreSQL primary cut off, a writer in the region still committing on that primary with the
   * old token, the standby promoted from outside), no commit with the old token landed on the old
   * primary after the old active's lease would have ended: the earlier of the fence lease's {@code
   * valid_until} there and the harness's own bound ({@link #regionCutLeaseBound} after the pause).
   * The commit times are the old primary's own ({@code pg_xact_commit_timestamp}), read after the
   * fault from its {@code old-primary} event. A cut is judged only when a successor became active
   * during it and the stale writer made at least one attempt after the bound: otherwise nothing was
   * at stake, and the check is {@code unknown} unless some cut was judged.
   */
  static Outcome regionCutFenced(List<Nemesis.Event> schedule) {
    int cuts = 0;
    int judged = 0;
    int withoutSuccessor = 0;
    int withoutAttempt = 0;
    int unread = 0;
    long attemptsAfter = 0;
    List<String> landed = new ArrayList<>();
    List<String> facts = new ArrayList<>();
    String target = null;
    boolean successor = false;
    boolean read = false;
    for (Nemesis.Event e : schedule) {
      if (e.kind() != NemesisKind.REGION_CUT) {
        continue;
      }
      switch (e.phase()) {
        case "start" -> {
          cuts++;
          target = e.detail().split(" ", 2)[0];
          successor = false;
          read = false;
        }
        case "successor" -> successor = true;
        case "old-primary" -> {
          read = true;
          facts.add(e.detail());
          Map<String, String> w = words(e.detail());
          long after = parseCount(w.get("commitsAfter"));
          long tried = parseCount(w.get("attemptsAfter"));
          if (after > 0) {
            landed.add(
                after
                    + " commit(s) with "
                    + target
                    + "'s token "
                    + w.get("token")
                    + " on the old primary after "
                    + w.get("bound")
                    + " (valid_until "
                    + w.get("validUntil")
                    + ", lease bound "
                    + w.get("leaseEnd")
                    + "; "
                    + w.get("nodeCommitsAfter")
                    + " of them by the node's own writer; stale writer: "
                    + w.get("outcomes")
                    + ")");
          }
          if (!successor) {
            withoutSuccessor++;
          } else if (tried <= 0) {
            withoutAttempt++;
          } else {
            judged++;
            attemptsAfter += tried;
          }
        }
        case "end" -> {
          if (cuts > 0 && !read) {
            unread++;
          }
        }
        default -> {}
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("cuts", cuts);
    details.put("judged", judged);
    details.put("staleAttemptsAfterLease", attemptsAfter);
    details.put("oldPrimary", facts);
    details.put("committedAfterLease", landed);
    String why;
    if (cuts == 0) {
      why =
          "region-cut never happened: "
              + whyNotHappened(NemesisKind.REGION_CUT, schedule)
              + "; nothing was checked";
    } else {
      List<String> lacks = new ArrayList<>();
      if (withoutSuccessor > 0) {
        lacks.add(withoutSuccessor + " without a successor active during the cut");
      }
      if (withoutAttempt > 0) {
        lacks.add(
            withoutAttempt + " in which the stale writer made no attempt after the lease end");
      }
      if (unread > 0) {
        lacks.add(unread + " whose old primary was never read");
      }
      why =
          cuts
              + " region cut(s), none judged"
              + (lacks.isEmpty() ? "" : ": " + String.join(", ", lacks))
              + "; nothing was checked";
    }
    return new Outcome(
        REGION_CUT_FENCED,
        "after a region cut (the active paused, it and the PostgreSQL primary cut off, a writer"
            + " still committing there with the old token, the standby promoted from outside), no"
            + " commit with the old token landed on the old primary after the old active's lease"
            + " would have ended (the fence lease's valid_until, BT007)",
        !landed.isEmpty() ? Validity.INVALID : judged == 0 ? Validity.UNKNOWN : Validity.VALID,
        !landed.isEmpty()
            ? landed.size() + " region cut(s) with stale commits: " + landed.get(0)
            : judged == 0
                ? why
                : judged
                    + " region cut(s) with a successor: none of "
                    + attemptsAfter
                    + " stale attempt(s) after the lease end committed on the old primary",
        details);
  }

  private static long parseCount(String s) {
    if (s == null) {
      return -1;
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  // ------------------------------------------------------------------------- health

  /** How long after the active turned unhealthy a healthy node must be active. */
  static final Duration HEALTH_MOVE_BOUND = Duration.ofSeconds(15);

  static final String HEALTH_MOVED = "health-moved";

  /**
   * Liveness of health gating (issue 31): after the health nemesis made the active unhealthy (its
   * {@code start}, whose detail names the node: {@code "active nX unhealthy"}), some other node,
   * healthy because only the marked node is unhealthy until the nemesis's {@code all} phase, was
   * sampled active within {@link #HEALTH_MOVE_BOUND}. Judged on the nodes' own samples, not on what
   * the harness saw. A fault whose single-unhealthy phase ended before the bound without a move (a
   * nemesis error) decides nothing; a marked node that was not the sampled active at the time
   * (another node already active) is not counted as a move. No counted move at all is UNKNOWN,
   * naming why: a run in which the role never had to move proves nothing.
   */
  static Outcome healthMoved(List<Nemesis.Event> schedule, List<Activation> activations) {
    List<String> found = new ArrayList<>();
    List<Long> moveMillis = new ArrayList<>();
    List<String> notCounted = new ArrayList<>();
    int applied = 0;
    for (int i = 0; i < schedule.size(); i++) {
      Nemesis.Event e = schedule.get(i);
      if (e.kind() != NemesisKind.HEALTH || !e.phase().equals("start")) {
        continue;
      }
      applied++;
      String[] words = e.detail().split(" ");
      String target = words.length > 1 ? words[1] : "";
      long lo = e.time();
      long phaseEnd = Long.MAX_VALUE;
      for (int j = i + 1; j < schedule.size(); j++) {
        Nemesis.Event f = schedule.get(j);
        if (f.kind() == NemesisKind.HEALTH
            && (f.phase().equals("all") || f.phase().equals("end") || f.phase().equals("error"))) {
          phaseEnd = f.time();
          break;
        }
      }
      long hi = Math.min(lo + HEALTH_MOVE_BOUND.toNanos(), phaseEnd);
      Activation first = null;
      Activation already = null;
      for (Activation a : activations) {
        if (a.node().equals(target) || a.lastT0() <= lo) {
          continue;
        }
        // A new activation sampled active by hi (one activation is one interval of being active,
        // and its first sample began after the node was marked), or one active at the mark.
        if (a.firstT0() > lo && a.firstT1() <= hi) {
          if (first == null || a.firstT0() < first.firstT0()) {
            first = a;
          }
        } else if (a.firstT0() <= lo) {
          already = a;
        }
      }
      if (first == null && already != null) {
        first = already;
      }
      if (first != null && first.firstT0() <= lo) {
        notCounted.add(
            first.node()
                + " (token "
                + first.token()
                + ") was already active when "
                + target
                + " was marked unhealthy");
      } else if (first != null) {
        moveMillis.add((first.firstT1() - lo) / 1_000_000);
      } else if (hi - lo >= HEALTH_MOVE_BOUND.toNanos()) {
        found.add(
            "no node but the unhealthy "
                + target
                + " was active within "
                + HEALTH_MOVE_BOUND.toSeconds()
                + " s after it turned unhealthy (t="
                + lo
                + " ns)");
      } else {
        notCounted.add(
            target
                + "'s unhealthy phase ended after "
                + (hi - lo) / 1_000_000
                + " ms, before any move and before the bound");
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("applied", applied);
    details.put("moveMillis", moveMillis);
    details.put("notCounted", notCounted);
    details.put("violations", found);
    Validity v =
        !found.isEmpty()
            ? Validity.INVALID
            : moveMillis.isEmpty() ? Validity.UNKNOWN : Validity.VALID;
    return new Outcome(
        HEALTH_MOVED,
        "after the active turned unhealthy, a healthy node was active within "
            + HEALTH_MOVE_BOUND.toSeconds()
            + " s (health gating moves the role)",
        v,
        !found.isEmpty()
            ? found.size() + " violation(s): " + found.get(0)
            : !moveMillis.isEmpty()
                ? moveMillis.size() + " move(s) off an unhealthy active, in " + moveMillis + " ms"
                : applied == 0
                    ? "the active was never made unhealthy: health never happened: "
                        + whyNotHappened(NemesisKind.HEALTH, schedule)
                        + "; nothing was checked"
                    : applied + " health fault(s), no move counted: " + notCounted,
        details);
  }

  static final String HEALTH_MOVES_SPACED = "health-moves-spaced";

  /**
   * The fastest lease clock a node of the suite runs with ({@code Nemesis.CLOCK_RATES}): a node
   * measures minMoveInterval on its own clock, so in real time it may be this much shorter.
   */
  static final double FASTEST_CLOCK = 1.08;

  /**
   * How late a node's listener may record a role change (its executor runs after the change):
   * generous, because a late record of one move can only shorten the gap to the next.
   */
  static final long LISTENER_SLACK = 1_500_000_000L;

  /**
   * A flapping check cannot make the role flap (issue 31): two role moves caused by health ({@code
   * standby} with reason {@code UNHEALTHY}, from any node) are at least {@code minMoveInterval}
   * apart, less what a fast clock ({@link #FASTEST_CLOCK}) and a late listener ({@link
   * #LISTENER_SLACK}) can take off: with the suite's 5 s interval, 3.1 s. No health-driven move at
   * all is UNKNOWN.
   */
  static Outcome healthMovesSpaced(List<NodeEvents.RoleChange> roles, Duration minMoveInterval) {
    List<NodeEvents.RoleChange> moves =
        roles.stream()
            .filter(r -> r.role().equals("standby") && "UNHEALTHY".equals(r.reason()))
            .sorted(Comparator.comparingLong(NodeEvents.RoleChange::time))
            .toList();
    long bound = (long) (minMoveInterval.toNanos() / FASTEST_CLOCK) - LISTENER_SLACK;
    List<String> found = new ArrayList<>();
    List<Long> gaps = new ArrayList<>();
    for (int i = 1; i < moves.size(); i++) {
      long gap = moves.get(i).time() - moves.get(i - 1).time();
      gaps.add(gap / 1_000_000);
      if (gap < bound) {
        found.add(
            String.format(
                "%s handed over for health %.3f s after %s did (at least %.3f s expected)",
                moves.get(i).node(), gap / 1e9, moves.get(i - 1).node(), bound / 1e9));
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("moves", moves.stream().map(NodeEvents.RoleChange::node).toList());
    details.put("gapsMillis", gaps);
    details.put("boundMillis", bound / 1_000_000);
    details.put("violations", found);
    return new Outcome(
        HEALTH_MOVES_SPACED,
        "role moves caused by health are at least minMoveInterval apart (a flapping check cannot"
            + " make the role flap)",
        !found.isEmpty() ? Validity.INVALID : moves.isEmpty() ? Validity.UNKNOWN : Validity.VALID,
        !found.isEmpty()
            ? found.size() + " violation(s): " + found.get(0)
            : moves.isEmpty()
                ? "no node handed the role over for health: nothing was checked"
                : moves.size() + " health-driven move(s), gaps " + gaps + " ms",
        details);
  }

  // ------------------------------------------------------------------------- wipe

  /**
   * A node whose data directory was wiped and that was restarted as it was (neither bootstrap nor
   * joining) refused to start: a voter with no memory never took part.
   */
  static Outcome wipedNodeRefused(List<Nemesis.Event> schedule) {
    List<String> running = new ArrayList<>();
    int wipes = 0;
    for (Nemesis.Event e : schedule) {
      if (e.kind() == NemesisKind.WIPE
          && (e.phase().equals("refused") || e.phase().equals("RUNNING"))) {
        wipes++;
        if (e.phase().equals("RUNNING")) {
          running.add(e.detail());
        }
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("wipes", wipes);
    details.put("running", running);
    return new Outcome(
        "wiped-node-refused",
        "a node restarted on an empty data directory, told neither bootstrap nor joining, refused"
            + " to start instead of voting with no memory",
        !running.isEmpty() ? Validity.INVALID : wipes == 0 ? Validity.UNKNOWN : Validity.VALID,
        !running.isEmpty()
            ? running.size() + " wiped node(s) started: " + running.get(0)
            : wipes == 0
                ? "no wipe was observed: "
                    + (schedule.stream()
                            .anyMatch(
                                e -> e.kind() == NemesisKind.WIPE && e.phase().equals("start"))
                        ? "the wiped node's fate was never recorded"
                        : "wipe never happened: " + whyNotHappened(NemesisKind.WIPE, schedule))
                    + "; nothing was checked"
                : wipes + " wiped node(s), all refused to start",
        details);
  }

  // ------------------------------------------------------------------------- I5

  /**
   * I5, promotion is journaled: every promotion that began (a PROMOTE record for token T) was
   * completed, every step of the plan, under T or under a higher token by a successor; and every
   * journal record for token T comes from the node that held T (a node never journals another
   * node's activation). The plan's steps are those any PROMOTE record names.
   */
  static Outcome promotionJournaled(
      java.util.Collection<NodeEvents.Journal> journal, List<Activation> activations) {
    Map<Long, String> holder = new HashMap<>();
    for (Activation a : activations) {
      holder.putIfAbsent(a.token(), a.node());
    }
    java.util.Set<String> steps = new java.util.TreeSet<>();
    Map<Long, String> journaledBy = new TreeMap<>();
    Map<Long, java.util.Set<String>> completed = new TreeMap<>();
    List<String> found = new ArrayList<>();
    for (NodeEvents.Journal j : journal) {
      if (!j.phase().equals("PROMOTE")) {
        continue;
      }
      steps.add(j.step());
      String by = journaledBy.putIfAbsent(j.token(), j.node());
      if (by != null && !by.equals(j.node()) && found.size() < 20) {
        found.add("token " + j.token() + " journaled by both " + by + " and " + j.node());
      }
      String h = holder.get(j.token());
      if (h != null && !h.equals(j.node()) && found.size() < 20) {
        found.add(
            "token " + j.token() + " was held by " + h + " but " + j.node() + " journaled it");
      }
      if (j.outcome().equals("COMPLETED")) {
        completed.computeIfAbsent(j.token(), k -> new java.util.TreeSet<>()).add(j.step());
      }
    }
    // The highest token whose whole plan completed; every promotion below it was taken over.
    long highestComplete = 0;
    for (Map.Entry<Long, java.util.Set<String>> e : completed.entrySet()) {
      if (e.getValue().containsAll(steps)) {
        highestComplete = Math.max(highestComplete, e.getKey());
      }
    }
    List<Long> unfinished = new ArrayList<>();
    for (Map.Entry<Long, String> e : journaledBy.entrySet()) {
      if (e.getKey() > highestComplete) {
        unfinished.add(e.getKey());
      }
    }
    if (!unfinished.isEmpty()) {
      found.add(
          "promotion(s) with token(s) "
              + unfinished
              + " began but neither they nor a successor with a higher token completed every step"
              + " of the plan "
              + steps
              + " (highest complete: "
              + highestComplete
              + ")");
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("records", journal.size());
    details.put("promotions", journaledBy.size());
    details.put("steps", List.copyOf(steps));
    details.put("highestCompleteToken", highestComplete);
    details.put("violations", found);
    return new Outcome(
        "I5-promotion-journaled",
        "every promotion that began was completed, every step, by its node or by a successor with"
            + " a higher token; a token's journal records come only from the node that held it",
        !found.isEmpty()
            ? Validity.INVALID
            : journaledBy.isEmpty() ? Validity.UNKNOWN : Validity.VALID,
        !found.isEmpty()
            ? found.size() + " violation(s): " + found.get(0)
            : journaledBy.isEmpty()
                ? "no promotion was journaled ("
                    + journal.size()
                    + " journal records, none a PROMOTE step): nothing was checked"
                : journaledBy.size()
                    + " promotions journaled, highest complete token "
                    + highestComplete,
        details);
  }

  /**
   * I3, fences hold: in commit order, no committed row carries a token lower than a row committed
   * before it.
   */
  static Outcome fencedCommitOrder(List<Row> rows) {
    List<String> found = new ArrayList<>();
    Row max = null;
    long expected = 1;
    boolean gap = false;
    for (Row r : rows) {
      if (r.commitSeq() != expected) {
        gap = true;
      }
      expected = r.commitSeq() + 1;
      if (max != null && r.token() < max.token()) {
        found.add(
            String.format(
                "commit #%d by %s with token %d after commit #%d by %s with token %d (%s)",
                r.commitSeq(),
                r.node(),
                r.token(),
                max.commitSeq(),
                max.node(),
                max.token(),
                r.value()));
      }
      if (max == null || r.token() > max.token()) {
        max = r;
      }
    }
    Map<String, Long> perToken = new TreeMap<>();
    for (Row r : rows) {
      perToken.merge(r.token() + " (" + r.node() + ")", 1L, Long::sum);
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("committedRows", rows.size());
    details.put("rowsPerToken", perToken);
    details.put("staleCommits", found.size());
    details.put("violations", found.size() > 20 ? found.subList(0, 20) : found);
    details.put("commitOrderHasGaps", gap);
    return new Outcome(
        "I3-fenced-commit-order",
        "in the database's commit order, no committed row carries a token lower than a row committed"
            + " before it (a stale active's write never lands after a newer active's)",
        !found.isEmpty() ? Validity.INVALID : rows.isEmpty() ? Validity.UNKNOWN : Validity.VALID,
        !found.isEmpty()
            ? found.size() + " stale commit(s): " + found.get(0)
            : rows.isEmpty()
                ? "no committed row in the fenced-writes table: nothing was checked"
                : rows.size() + " committed rows, tokens never decrease in commit order",
        details);
  }

  /**
   * Every write a node saw commit is in the table with its token (acknowledged writes survive,
   * including a PostgreSQL fail-over with synchronous replication), and every row was written by a
   * node that tried to.
   */
  static Outcome fencedDurable(List<NodeEvents.Op> ops, List<Row> rows) {
    Map<String, Row> byValue = rows.stream().collect(Collectors.toMap(Row::value, r -> r));
    Set<String> invoked =
        ops.stream()
            .filter(o -> o.type().equals("invoke"))
            .map(o -> o.value() instanceof List<?> l ? String.valueOf(l.get(1)) : "")
            .collect(Collectors.toSet());
    List<String> lost = new ArrayList<>();
    int acknowledged = 0;
    for (NodeEvents.Op o : ops) {
      if (o.type().equals("ok") && o.value() instanceof List<?> l && o.commitSeq() != null) {
        acknowledged++;
        String value = String.valueOf(l.get(1));
        long token = ((Number) l.get(0)).longValue();
        Row r = byValue.get(value);
        if (r == null || r.token() != token || r.commitSeq() != o.commitSeq()) {
          lost.add(value + " (token " + token + ", commit #" + o.commitSeq() + ")");
        }
      }
    }
    List<String> phantom = rows.stream().map(Row::value).filter(v -> !invoked.contains(v)).toList();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("acknowledged", acknowledged);
    details.put("rows", rows.size());
    details.put("lost", lost.size() > 20 ? lost.subList(0, 20) : lost);
    details.put("phantom", phantom.size() > 20 ? phantom.subList(0, 20) : phantom);
    boolean ok = lost.isEmpty() && phantom.isEmpty();
    return new Outcome(
        "fenced-writes-durable",
        "every write a node saw commit is in the table as committed (across PostgreSQL fail-overs),"
            + " and nothing else is",
        !ok ? Validity.INVALID : acknowledged == 0 ? Validity.UNKNOWN : Validity.VALID,
        !ok
            ? lost.size() + " lost, " + phantom.size() + " phantom"
            : acknowledged == 0
                ? "no write was acknowledged as committed ("
                    + invoked.size()
                    + " tried): nothing was checked"
                : acknowledged + " acknowledged writes all present",
        details);
  }

  // ------------------------------------------------------------------------- linearizability

  static Outcome linearizable(
      String name, String guarantee, History history, String model, CheckResult r) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("model", model);
    details.put("operations", r.operationCount());
    long unknown = history.operations().stream().filter(Operation::isUnknown).count();
    long ok = history.operations().stream().filter(Operation::isOk).count();
    details.put("okOutcomes", ok);
    details.put("unknownOutcomes", unknown);
    details.put("checkMillis", r.elapsed().toMillis());
    details.put("partitions", r.partitions().size());
    // A history in which nothing succeeded is linearizable whatever the system did: every failed
    // operation is dropped and every unknown one may never have happened.
    boolean nothing = r.verdict() == Verdict.LINEARIZABLE && ok == 0;
    Validity v =
        nothing
            ? Validity.UNKNOWN
            : r.verdict() == Verdict.LINEARIZABLE
                ? Validity.VALID
                : r.verdict() == Verdict.NOT_LINEARIZABLE ? Validity.INVALID : Validity.UNKNOWN;
    String summary =
        switch (r.verdict()) {
          case LINEARIZABLE ->
              nothing
                  ? "no operation completed successfully ("
                      + history.operations().size()
                      + " operations, "
                      + unknown
                      + " with an unknown outcome, the others failed): nothing was checked"
                  : r.operationCount() + " operations (" + ok + " ok), linearizable";
          case NOT_LINEARIZABLE -> r.explanation().summary();
          case UNKNOWN -> "undecided: " + r.reason();
        };
    if (r.explanation() != null) {
      details.put("explanation", r.explanation().describe(20));
    }
    return new Outcome(name, guarantee, v, summary, details);
  }

  /**
   * The KV history as a cas-register per key, starting absent. {@link KvWorkload} records a read of
   * an absent key as {@code nil} (and an unknown read as {@code :info}), so a nil read here is a
   * value ({@link NilRead#ABSENT}), stricter than Jepsen's rule: a stale read of "absent" after a
   * completed write is a violation.
   */
  static CheckResult checkKv(History h) {
    return Checker.check(
        h,
        Models.casRegister(null, NilRead.ABSENT),
        Budget.defaults().withTime(Duration.ofSeconds(60)));
  }

  /** The fenced writes; nil as a value, as in {@link #checkKv} (the history has no reads yet). */
  static CheckResult checkFenced(History h) {
    return Checker.check(
        h,
        Models.fencedRegister(null, null, NilRead.ABSENT),
        Budget.defaults().withTime(Duration.ofSeconds(60)));
  }

  // ------------------------------------------------------------------------- DNS

  /**
   * The DNS fence record only moves forward: successive readings never show a lower token, every
   * token read belongs to the node that was issued it, and the name points at that node.
   */
  static Outcome dnsForward(
      List<DnsWatcher.Observation> observations,
      Map<String, List<Long>> issued,
      Map<String, String> nodeAddresses) {
    List<String> found = new ArrayList<>();
    long max = 0;
    String maxNode = "";
    int answered = 0;
    int withFence = 0;
    int unanswered = 0;
    List<Long> seen = new ArrayList<>();
    for (DnsWatcher.Observation o : observations) {
      if (o.error() != null) {
        unanswered++;
        continue;
      }
      answered++;
      if (o.token() == 0) {
        if (max > 0) {
          found.add("the fence record vanished after holding token " + max);
        }
        continue;
      }
      withFence++;
      if (o.token() < max) {
        found.add(
            "fence went back from token "
                + max
                + " ("
                + maxNode
                + ") to "
                + o.token()
                + " ("
                + o.node()
                + ")");
      }
      if (o.token() > max) {
        max = o.token();
        maxNode = o.node();
        seen.add(o.token());
        List<Long> tokens = issued.getOrDefault(o.node(), List.of());
        if (!tokens.contains(o.token())) {
          found.add("fence holds token " + o.token() + " for " + o.node() + ", never issued to it");
        }
      }
      String expected = nodeAddresses.get(o.node());
      if (expected != null && !o.address().isEmpty() && !o.address().equals(expected)) {
        // The name and the fence change in one UPDATE message: they can never disagree.
        found.add(
            "app points at "
                + o.address()
                + " while the fence says "
                + o.node()
                + " ("
                + expected
                + ")");
      }
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("readings", observations.size());
    details.put("answered", answered);
    details.put("withFence", withFence);
    details.put("unanswered", unanswered);
    details.put("tokensSeen", seen);
    details.put("violations", found.size() > 20 ? found.subList(0, 20) : found);
    // A reading without the fence record (token 0) says nothing about the fence moving forward.
    Validity v =
        found.isEmpty() ? (withFence > 0 ? Validity.VALID : Validity.UNKNOWN) : Validity.INVALID;
    return new Outcome(
        "dns-fence-forward",
        "the DNS fence record's token never decreases, is always a token issued to the node it"
            + " names, and the switched name always points at that node",
        v,
        !found.isEmpty()
            ? found.size() + " violation(s): " + found.get(0)
            : withFence == 0
                ? "no reading showed the fence record ("
                    + observations.size()
                    + " readings: "
                    + answered
                    + " answered without it, "
                    + unanswered
                    + " unanswered): nothing was checked"
                : withFence + " readings of the fence record, fence tokens " + abbreviate(seen),
        details);
  }

  static String abbreviate(List<Long> tokens) {
    if (tokens.size() <= 12) {
      return tokens.toString();
    }
    return tokens.subList(0, 6) + "…" + tokens.subList(tokens.size() - 6, tokens.size());
  }
}
