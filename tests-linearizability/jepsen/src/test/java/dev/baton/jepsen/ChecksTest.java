package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryRecorder;
import dev.baton.lincheck.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkers on hand-made observations: they find what is there, and only that. */
class ChecksTest {

  private static Activation act(String node, long token, long first, long last) {
    // Samples take 10 ns: certainly active from first+10 to last.
    return new Activation(node, 0, token, first, first + 10, last, last + 10, last + 1000, 100);
  }

  @Test
  void oneBelieverFindsOverlappingIntervalsOfDifferentNodes() {
    var r = Checks.oneBeliever(List.of(act("n1", 5, 1_000, 5_000), act("n2", 9, 4_000, 9_000)));
    assertThat(r.validity()).isEqualTo(Validity.INVALID);
    assertThat(r.summary()).contains("n1 (token 5) and n2 (token 9)");
  }

  @Test
  void oneBelieverAcceptsHandOverWithinTheSampleUncertainty() {
    // n1's last true sample started at 5000; n2's first true sample ended at 5005: each node was
    // certainly active only up to 5000 and from 5005, so nothing proves an overlap.
    var a = new Activation("n1", 0, 5, 1_000, 1_010, 5_000, 5_020, 5_030, 50);
    var b = new Activation("n2", 0, 9, 4_990, 5_005, 9_000, 9_010, -1, 50);
    assertThat(Checks.oneBeliever(List.of(a, b)).validity()).isEqualTo(Validity.VALID);
  }

  @Test
  void oneBelieverIgnoresOneNodesSuccessiveActivations() {
    var r = Checks.oneBeliever(List.of(act("n1", 5, 1_000, 5_000), act("n1", 9, 4_000, 9_000)));
    assertThat(r.validity()).isEqualTo(Validity.VALID);
  }

  @Test
  void aSingleSampleCountsOnlyWhenItsWholeWindowIsInsideAnotherActivation() {
    var single = new Activation("n2", 0, 9, 3_000, 3_050, 3_000, 3_050, 3_100, 1);
    assertThat(Checks.oneBeliever(List.of(act("n1", 5, 1_000, 5_000), single)).validity())
        .isEqualTo(Validity.INVALID);
    var straddling = new Activation("n2", 0, 9, 4_990, 5_050, 4_990, 5_050, 5_100, 1);
    assertThat(Checks.oneBeliever(List.of(act("n1", 5, 1_000, 5_000), straddling)).validity())
        .isEqualTo(Validity.VALID);
  }

  @Test
  void tokensMustGrowInTheOrderActivationsWereSeen() {
    var ok =
        Checks.tokensGrow(
            List.of(act("n1", 5, 1_000, 2_000), act("n2", 9, 3_000, 4_000)), Map.of());
    assertThat(ok.validity()).isEqualTo(Validity.VALID);
    var bad =
        Checks.tokensGrow(
            List.of(act("n1", 9, 1_000, 2_000), act("n2", 5, 3_000, 4_000)), Map.of());
    assertThat(bad.validity()).isEqualTo(Validity.INVALID);
    assertThat(bad.summary()).contains("n1 was active with token 9 before n2");
    var shared =
        Checks.tokensGrow(
            List.of(act("n1", 5, 1_000, 2_000), act("n2", 5, 3_000, 4_000)), Map.of());
    assertThat(shared.validity()).isEqualTo(Validity.INVALID);
  }

  @Test
  void fencedCommitOrderFindsAStaleCommitAfterANewerOne() {
    var ok =
        Checks.fencedCommitOrder(
            List.of(new Row(1, 5, "n1", "a"), new Row(2, 5, "n1", "b"), new Row(3, 9, "n2", "c")));
    assertThat(ok.validity()).isEqualTo(Validity.VALID);
    var bad =
        Checks.fencedCommitOrder(
            List.of(new Row(1, 5, "n1", "a"), new Row(2, 9, "n2", "b"), new Row(3, 5, "n1", "c")));
    assertThat(bad.validity()).isEqualTo(Validity.INVALID);
    assertThat(bad.summary()).contains("commit #3 by n1 with token 5 after commit #2 by n2");
  }

  @Test
  void dnsFenceMustOnlyMoveForwardToIssuedTokens() {
    Map<String, List<Long>> issued = Map.of("n1", List.of(5L), "n2", List.of(9L));
    Map<String, String> ips = Map.of("n1", "10.0.0.1", "n2", "10.0.0.2");
    var forward =
        List.of(
            new DnsWatcher.Observation(1, 5, "n1", "10.0.0.1", null),
            new DnsWatcher.Observation(2, -1, "", "", "timeout"),
            new DnsWatcher.Observation(3, 9, "n2", "10.0.0.2", null));
    assertThat(Checks.dnsForward(forward, issued, ips).validity()).isEqualTo(Validity.VALID);
    var backward =
        List.of(
            new DnsWatcher.Observation(1, 9, "n2", "10.0.0.2", null),
            new DnsWatcher.Observation(2, 5, "n1", "10.0.0.1", null));
    assertThat(Checks.dnsForward(backward, issued, ips).validity()).isEqualTo(Validity.INVALID);
    var stranger = List.of(new DnsWatcher.Observation(1, 7, "n1", "10.0.0.1", null));
    assertThat(Checks.dnsForward(stranger, issued, ips).validity()).isEqualTo(Validity.INVALID);
  }

  private static NodeEvents.Journal j(String node, long token, String step, String outcome) {
    return new NodeEvents.Journal(node, token, step, "PROMOTE", 1, outcome);
  }

  @Test
  void aPromotionTakenOverByASuccessorWithAHigherTokenIsJournaled() {
    var acts = List.of(act("n1", 5, 1_000, 2_000), act("n2", 9, 3_000, 4_000));
    var journal =
        List.of(
            j("n1", 5, "fence", "STARTED"),
            j("n1", 5, "fence", "COMPLETED"),
            j("n1", 5, "dns", "STARTED"),
            j("n2", 9, "fence", "STARTED"),
            j("n2", 9, "fence", "COMPLETED"),
            j("n2", 9, "dns", "STARTED"),
            j("n2", 9, "dns", "COMPLETED"));
    assertThat(Checks.promotionJournaled(journal, acts).validity()).isEqualTo(Validity.VALID);
  }

  @Test
  void aPromotionThatNobodyCompletedIsAViolation() {
    var acts = List.of(act("n1", 5, 1_000, 2_000), act("n2", 9, 3_000, 4_000));
    var journal =
        List.of(
            j("n1", 5, "fence", "COMPLETED"),
            j("n1", 5, "dns", "COMPLETED"),
            j("n2", 9, "fence", "COMPLETED"),
            j("n2", 9, "dns", "FAILED"));
    var r = Checks.promotionJournaled(journal, acts);
    assertThat(r.validity()).isEqualTo(Validity.INVALID);
    assertThat(r.summary()).contains("[9]");
  }

  @Test
  void aNodeJournalingAnotherNodesTokenIsAViolation() {
    var acts = List.of(act("n1", 5, 1_000, 2_000));
    var journal = List.of(j("n1", 5, "fence", "COMPLETED"), j("n2", 5, "fence", "COMPLETED"));
    var r = Checks.promotionJournaled(journal, acts);
    assertThat(r.validity()).isEqualTo(Validity.INVALID);
    assertThat(r.summary()).contains("token 5");
  }

  @Test
  void kvCheckCatchesAStaleReadOfAnAbsentKey() {
    // As KvWorkload records it: a completed write of 3, then a read that found the key absent.
    HistoryRecorder rec = new HistoryRecorder();
    rec.invoke(0, "write", "r1", 3L).ok();
    rec.invoke(1, "read", "r1", null).ok(KvWorkload.readResult(Optional.empty()));
    CheckResult stale = Checks.checkKv(rec.history());
    assertThat(stale.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    // An absent read before any write is fine.
    HistoryRecorder first = new HistoryRecorder();
    first.invoke(1, "read", "r1", null).ok(KvWorkload.readResult(Optional.empty()));
    first.invoke(0, "write", "r1", 3L).ok();
    assertThat(Checks.checkKv(first.history()).verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  private static Nemesis.Event outsider(long time, String phase, String detail) {
    return new Nemesis.Event(time, NemesisKind.OUTSIDER, phase, detail);
  }

  @Test
  void outsiderRefusedIsUnknownWithoutAttemptsAndInvalidOnOneAcceptedCall() {
    assertThat(Checks.outsiderRefused(List.of(), List.of()).validity()).isEqualTo(Validity.UNKNOWN);
    var begin = outsider(1_000, "attempt", "outsider attempt begins");
    var failed = outsider(2_000, "failed", "raw write");
    var counted = List.of(new NodeEvents.Refusals("n1", 0, 1_500, 4));
    assertThat(Checks.outsiderRefused(List.of(begin, failed), counted).validity())
        .isEqualTo(Validity.VALID);
    var accepted = outsider(3_000_000_000L, "ACCEPTED", "setConfiguration");
    var r = Checks.outsiderRefused(List.of(begin, failed, accepted), counted);
    assertThat(r.validity()).isEqualTo(Validity.INVALID);
    assertThat(r.summary()).contains("setConfiguration");
  }

  @Test
  void aFailedOutsiderAttemptThatNoNodeCountedIsUnknownNotRefused() {
    // The client saw the call fail (as it does against a port nobody listens on); no node's
    // refusal counter rose while it ran: a refusal counted before it does not confirm it.
    var before = List.of(new NodeEvents.Refusals("n1", 0, 500, 4));
    var r =
        Checks.outsiderRefused(
            List.of(
                outsider(1_000, "attempt", "outsider attempt begins"),
                outsider(2_000, "failed", "raw write: UNAVAILABLE: Network closed")),
            before);
    assertThat(r.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(r.summary()).contains("no node counted a refusal", "raw write");
    // One counted, the next not: the run proves nothing about the second.
    var first = new NodeEvents.Refusals("n2", 0, 1_500, 1);
    var partly =
        Checks.outsiderRefused(
            List.of(
                outsider(1_000, "attempt", "outsider attempt begins"),
                outsider(2_000, "failed", "raw write"),
                outsider(1_000_000_000L, "attempt", "outsider attempt begins"),
                outsider(1_100_000_000L, "failed", "transferLeadership")),
            List.of(first));
    assertThat(partly.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(partly.summary()).contains("transferLeadership");
  }

  @Test
  void wipedNodeRefusedIsInvalidWhenAWipedNodeRan() {
    var refused = new Nemesis.Event(1, NemesisKind.WIPE, "refused", "n2 refused to start: stopped");
    assertThat(Checks.wipedNodeRefused(List.of(refused)).validity()).isEqualTo(Validity.VALID);
    var ran = new Nemesis.Event(2, NemesisKind.WIPE, "RUNNING", "n3 is running after the wipe");
    assertThat(Checks.wipedNodeRefused(List.of(refused, ran)).validity())
        .isEqualTo(Validity.INVALID);
    assertThat(Checks.wipedNodeRefused(List.of()).validity()).isEqualTo(Validity.UNKNOWN);
  }

  private static Nemesis.Event health(long time, String phase, String detail) {
    return new Nemesis.Event(time, NemesisKind.HEALTH, phase, detail);
  }

  @Test
  void healthMovedIsValidOnlyWhenAnotherNodeBecameActiveWithinTheBound() {
    long s = 1_000_000_000L;
    var start = health(10 * s, "start", "active n1 unhealthy");
    var all = health(40 * s, "all", "every node unhealthy");
    var end = health(45 * s, "end", "every node healthy");
    var n1 = act("n1", 5, 1 * s, 10 * s + 500_000_000L);
    // n2 activates 2 s after n1 was marked: a move, timed from the mark.
    var moved =
        Checks.healthMoved(List.of(start, all, end), List.of(n1, act("n2", 9, 12 * s, 44 * s)));
    assertThat(moved.validity()).as(moved.summary()).isEqualTo(Validity.VALID);
    assertThat(moved.summary()).contains("1 move(s)").contains("[2000] ms");
    // Only n1 again (it never handed over), for the whole bound: a violation.
    var stuck = Checks.healthMoved(List.of(start, all, end), List.of(act("n1", 5, 1 * s, 44 * s)));
    assertThat(stuck.validity()).as(stuck.summary()).isEqualTo(Validity.INVALID);
    assertThat(stuck.summary()).contains("unhealthy n1").contains("15 s");
    // Another node active only after the bound: a violation too.
    var late =
        Checks.healthMoved(List.of(start, all, end), List.of(n1, act("n2", 9, 26 * s, 44 * s)));
    assertThat(late.validity()).as(late.summary()).isEqualTo(Validity.INVALID);
    // The unhealthy phase cut short (a nemesis error at 12 s) before any move: decides nothing.
    var cut =
        Checks.healthMoved(
            List.of(start, health(12 * s, "error", "boom")), List.of(act("n1", 5, 1 * s, 44 * s)));
    assertThat(cut.validity()).as(cut.summary()).isEqualTo(Validity.UNKNOWN);
    // n2 was already active when n1 was marked (the harness picked the wrong node): not a move.
    var already =
        Checks.healthMoved(List.of(start, all, end), List.of(act("n2", 9, 1 * s, 44 * s)));
    assertThat(already.validity()).as(already.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(already.summary()).contains("already active");
  }

  @Test
  void healthMovedIsUnknownOnNothing() {
    var none = Checks.healthMoved(List.of(), List.of(act("n1", 5, 1_000, 9_000)));
    assertThat(none.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(none.summary()).contains("never drawn");
    var skipped = Checks.healthMoved(List.of(health(1, "skipped", "no node is active")), List.of());
    assertThat(skipped.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(skipped.summary()).contains("skipped (no node is active)");
  }

  @Test
  void healthMovesSpacedFindsAFlappingRole() {
    long s = 1_000_000_000L;
    java.time.Duration interval = java.time.Duration.ofSeconds(5);
    var first = new NodeEvents.RoleChange("n3", 10 * s, "standby", 7, "UNHEALTHY");
    var spaced = new NodeEvents.RoleChange("n2", 15 * s + 100_000_000L, "standby", 9, "UNHEALTHY");
    var other = new NodeEvents.RoleChange("n1", 11 * s, "standby", 8, "SWITCH_ACTIVE");
    var ok = Checks.healthMovesSpaced(List.of(first, other, spaced), interval);
    assertThat(ok.validity()).as(ok.summary()).isEqualTo(Validity.VALID);
    var flapping = new NodeEvents.RoleChange("n2", 11 * s, "standby", 9, "UNHEALTHY");
    var bad = Checks.healthMovesSpaced(List.of(first, flapping), interval);
    assertThat(bad.validity()).as(bad.summary()).isEqualTo(Validity.INVALID);
    assertThat(bad.summary()).contains("n2 handed over for health 1.000 s after n3");
    assertThat(Checks.healthMovesSpaced(List.of(other), interval).validity())
        .isEqualTo(Validity.UNKNOWN);
  }

  /** A region cut's schedule: start, promote, then {@code middle}, then the old primary's facts. */
  static List<Nemesis.Event> regionCut(String middle, String oldPrimary) {
    List<Nemesis.Event> out = new java.util.ArrayList<>();
    out.add(
        new Nemesis.Event(1, NemesisKind.REGION_CUT, "start", "n1 token 5: SIGSTOP n1; region"));
    out.add(new Nemesis.Event(2, NemesisKind.REGION_CUT, "promote", "pg2 promoted"));
    if (middle != null) {
      out.add(new Nemesis.Event(3, NemesisKind.REGION_CUT, middle, "n2 is active"));
    }
    if (oldPrimary != null) {
      out.add(new Nemesis.Event(4, NemesisKind.REGION_CUT, "old-primary", oldPrimary));
    }
    out.add(new Nemesis.Event(5, NemesisKind.REGION_CUT, "end", "SIGCONT n1; healed"));
    return out;
  }

  static String oldPrimary(long attemptsAfter, long commitsAfter, long nodeCommitsAfter) {
    return "token=5 validUntil=2026-12-07T02:00:00.500Z leaseEnd=2026-12-07T02:00:00.900Z"
        + " bound=2026-12-07T02:00:00.500Z attempts=90 attemptsAfter="
        + attemptsAfter
        + " outcomes=BT007:"
        + attemptsAfter
        + ",committed:12 staleCommits=12 commitsAfter="
        + commitsAfter
        + " nodeCommitsAfter="
        + nodeCommitsAfter;
  }

  @Test
  void regionCutFencedIsValidOnlyWhenAStaleWriterTriedAfterTheLeaseWithASuccessorActive() {
    var ok = Checks.regionCutFenced(regionCut("successor", oldPrimary(40, 0, 0)));
    assertThat(ok.validity()).as(ok.summary()).isEqualTo(Validity.VALID);
    assertThat(ok.summary()).contains("none of 40 stale attempt(s) after the lease end");

    // No successor became active during the cut: nothing newer was at stake.
    var alone = Checks.regionCutFenced(regionCut("no-successor", oldPrimary(40, 0, 0)));
    assertThat(alone.validity()).as(alone.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(alone.summary()).contains("without a successor");

    // The stale writer made no attempt after the lease's end: the fence was never put to it.
    var idle = Checks.regionCutFenced(regionCut("successor", oldPrimary(0, 0, 0)));
    assertThat(idle.validity()).as(idle.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(idle.summary()).contains("no attempt after the lease end");

    // The old primary was never read (the heal failed before): nothing to judge.
    var unread = Checks.regionCutFenced(regionCut("successor", null));
    assertThat(unread.validity()).as(unread.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(unread.summary()).contains("never read");
  }

  @Test
  void regionCutFencedIsInvalidWhenTheOldPrimaryCommittedTheOldTokenAfterTheLease() {
    var bad = Checks.regionCutFenced(regionCut("successor", oldPrimary(40, 3, 1)));
    assertThat(bad.validity()).as(bad.summary()).isEqualTo(Validity.INVALID);
    assertThat(bad.summary())
        .contains("3 commit(s) with n1's token 5 on the old primary after 2026-12-07T02:00:00.500Z")
        .contains("1 of them by the node's own writer");
    // A commit after the lease is a violation whether or not a successor was seen.
    assertThat(Checks.regionCutFenced(regionCut("no-successor", oldPrimary(40, 3, 0))).validity())
        .isEqualTo(Validity.INVALID);
  }

  @Test
  void regionCutFencedIsUnknownOnNothing() {
    var none = Checks.regionCutFenced(List.of());
    assertThat(none.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(none.summary()).contains("never drawn");
    var skipped =
        Checks.regionCutFenced(
            List.of(new Nemesis.Event(1, NemesisKind.REGION_CUT, "skipped", "no node is active")));
    assertThat(skipped.validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(skipped.summary()).contains("skipped (no node is active)");
  }

  @Test
  void theRegionCutLeaseBoundOutlastsTheLeaseAtTheSlowestClock() {
    // 692 ms at 0.92 is 752 ms of real time; the bound adds 100 ms.
    assertThat(Checks.regionCutLeaseBound().toMillis()).isBetween(800L, 900L);
  }

  @Test
  void heldTransactionFencedIsInvalidWhenTheHeldWriteCommittedAfterASuccessor() {
    var holding =
        new Nemesis.Event(1, NemesisKind.PG_PAUSED_TXN, "start", "n1.0-7 token 3: SIGSTOP n1");
    var successor = new Nemesis.Event(2, NemesisKind.PG_PAUSED_TXN, "successor", "n2 is active");
    var end = new Nemesis.Event(3, NemesisKind.PG_PAUSED_TXN, "end", "SIGCONT n1");
    List<Checks.Row> others = List.of(new Checks.Row(1, 4, "n2", "n2.0-1"));
    assertThat(Checks.heldTransactionFenced(List.of(holding, successor, end), others).validity())
        .isEqualTo(Validity.VALID);
    var landed =
        Checks.heldTransactionFenced(
            List.of(holding, successor, end),
            List.of(new Checks.Row(1, 4, "n2", "n2.0-1"), new Checks.Row(2, 3, "n1", "n1.0-7")));
    assertThat(landed.validity()).isEqualTo(Validity.INVALID);
    assertThat(landed.summary()).contains("n1.0-7");
    // Without a successor the held write may commit when the node wakes: nothing was checked.
    assertThat(
            Checks.heldTransactionFenced(
                    List.of(holding, end), List.of(new Checks.Row(1, 3, "n1", "n1.0-7")))
                .validity())
        .isEqualTo(Validity.UNKNOWN);
  }

  // ------------------------------------------------------------ nothing to judge is not valid

  private static void assertUnknownBecause(Checks.Outcome o, String lacking) {
    assertThat(o.validity()).as(o.name() + ": " + o.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(o.summary()).as(o.name()).contains(lacking);
  }

  @Test
  void oneBelieverIsUnknownWithoutAnyActivation() {
    assertUnknownBecause(Checks.oneBeliever(List.of()), "no activation was recorded");
  }

  @Test
  void tokensGrowIsUnknownWithoutAnyActivation() {
    assertUnknownBecause(Checks.tokensGrow(List.of(), Map.of()), "no activation was recorded");
  }

  @Test
  void promotionJournaledIsUnknownWithoutAnyPromotionRecord() {
    assertUnknownBecause(
        Checks.promotionJournaled(List.of(), List.of(act("n1", 5, 1_000, 2_000))),
        "no promotion was journaled");
  }

  @Test
  void fencedCommitOrderIsUnknownWithoutAnyCommittedRow() {
    assertUnknownBecause(Checks.fencedCommitOrder(List.of()), "no committed row");
  }

  @Test
  void fencedDurableIsUnknownWithoutAnyAcknowledgedWrite() {
    assertUnknownBecause(Checks.fencedDurable(List.of(), List.of()), "no write was acknowledged");
    // Every write a node tried failed: nothing to find in the table, nothing was checked.
    var failed =
        List.of(
            new NodeEvents.Op("n1", 0, "w", "invoke", 1, List.of(5, "n1.0-1"), null, null),
            new NodeEvents.Op("n1", 0, "w", "fail", 2, null, null, "connection refused"));
    assertUnknownBecause(Checks.fencedDurable(failed, List.of()), "no write was acknowledged");
  }

  private static Checks.Outcome kvOutcome(History h) {
    return Checks.linearizable("kv-linearizable", "", h, "cas-register", Checks.checkKv(h));
  }

  @Test
  void linearizabilityIsUnknownOnAnEmptyHistory() {
    assertUnknownBecause(
        kvOutcome(new HistoryRecorder().history()), "no operation completed successfully");
    History fenced = new HistoryRecorder().history();
    assertUnknownBecause(
        Checks.linearizable(
            "fenced-register-linearizable",
            "",
            fenced,
            "fenced-register",
            Checks.checkFenced(fenced)),
        "no operation completed successfully");
  }

  @Test
  void linearizabilityIsUnknownWhenEveryCallFailedOrTimedOut() {
    HistoryRecorder rec = new HistoryRecorder();
    for (int i = 0; i < 50; i++) {
      rec.invoke(i % 3, "write", "r" + (i % 4), (long) i).fail();
      rec.invoke(i % 3, "cas", "r" + (i % 4), List.of(1L, 2L)).info();
    }
    assertUnknownBecause(kvOutcome(rec.history()), "no operation completed successfully");
  }

  @Test
  void dnsForwardIsUnknownWhenNoReadingShowedAFenceRecord() {
    Map<String, List<Long>> issued = Map.of("n1", List.of(5L));
    Map<String, String> ips = Map.of("n1", "10.0.0.1");
    assertUnknownBecause(Checks.dnsForward(List.of(), issued, ips), "no reading");
    // The server answered, but the fence record never appeared: nothing about the fence was seen.
    var noFence =
        List.of(
            new DnsWatcher.Observation(1, 0, "", "", null),
            new DnsWatcher.Observation(2, 0, "", "", null),
            new DnsWatcher.Observation(3, -1, "", "", "timeout"));
    var r = Checks.dnsForward(noFence, issued, ips);
    assertUnknownBecause(r, "no reading");
    assertThat(r.details()).containsEntry("withFence", 0);
  }

  @Test
  void aMissingEventLogIsAnError(@TempDir Path dir) throws IOException {
    Path present = dir.resolve("containers/n1/events.jsonl");
    Files.createDirectories(present.getParent());
    Files.writeString(present, "{\"e\":\"start\",\"time\":1,\"incarnation\":0}\n");
    Path missing = dir.resolve("containers/n2/events.jsonl");
    assertThatThrownBy(() -> NodeEvents.read(Map.of("n1", present, "n2", missing)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("n2")
        .hasMessageContaining(missing.toString());
  }
}
