package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.jepsen.ProductPathChecks.Fault;
import dev.baton.jepsen.ProductPathChecks.Observations;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The verdict of a {@link ProductPathTest} run on hand-made observations (no Docker): a healthy run
 * is VALID; an empty run, a run with no fault, or a fault nobody took over from is not; a stale
 * commit or two actives at once is INVALID.
 */
class ProductPathChecksTest {
  private static final Map<String, String> ADDRESSES = Map.of("n1", "10.0.0.11", "n2", "10.0.0.12");
  private static final long MS = 1_000_000L;

  /** n1 active with token 5 from 0 to 1 s, killed at 1.1 s; n2 active with token 9 from 3 s. */
  private static List<Activation> twoActivations() {
    return List.of(
        new Activation("n1", 0, 5, 0, 10 * MS, 1000 * MS, 1010 * MS, -1, 40),
        new Activation("n2", 0, 9, 3000 * MS, 3010 * MS, 5000 * MS, 5010 * MS, -1, 80));
  }

  private static List<Row> rows(long... tokens) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < tokens.length; i++) {
      long t = tokens[i];
      rows.add(new Row(i + 1, t, t == 5 ? "n1" : "n2", "v" + (i + 1)));
    }
    return rows;
  }

  private static List<NodeEvents.Op> acknowledged(List<Row> rows) {
    List<NodeEvents.Op> ops = new ArrayList<>();
    for (Row r : rows) {
      Object value = List.of(r.token(), r.value());
      // Within its token's activation (twoActivations): n1's from 0 s, n2's from 3 s.
      long t = (r.token() == 5 ? 0 : 3000 * MS) + r.commitSeq() * 100 * MS;
      ops.add(new NodeEvents.Op(r.node(), 0, r.node(), "invoke", t, value, null, null));
      ops.add(
          new NodeEvents.Op(r.node(), 0, r.node(), "ok", t + 5 * MS, value, r.commitSeq(), null));
    }
    return ops;
  }

  /** A reading of the DNS fence during each activation, pointing at its node. */
  private static List<DnsWatcher.Observation> dns(List<Activation> activations) {
    return activations.stream()
        .map(
            a ->
                new DnsWatcher.Observation(
                    a.lastT0(), a.token(), a.node(), ADDRESSES.get(a.node()), null))
        .toList();
  }

  private static final List<Fault> ONE_KILL = List.of(new Fault("kill", "n1", 5, 1100 * MS, true));

  private static ProductPathChecks.Verdict check(
      List<Activation> activations, List<Row> rows, List<Fault> kills) {
    return ProductPathChecks.check(
        new Observations(
            activations, rows, acknowledged(rows), dns(activations), kills, ADDRESSES, Map.of()));
  }

  @Test
  void aSiteLossTakenOverWithRowsInTokenOrderIsValid() {
    var v = check(twoActivations(), rows(5, 5, 9, 9), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(v.durability().validity()).isEqualTo(Validity.VALID);
  }

  @Test
  void anEmptyRunIsNotValid() {
    var v = check(List.of(), List.of(), List.of());
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.UNKNOWN);
  }

  @Test
  void aRunWithNoCommittedRowIsNotValid() {
    var v = check(twoActivations(), List.of(), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(v.describe()).contains("no committed row");
  }

  @Test
  void aRunWithNoFaultIsNotValid() {
    var v = check(twoActivations(), rows(5, 5, 9, 9), List.of());
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(v.describe()).contains("no fault was injected");
  }

  @Test
  void aKillThatNobodyTookOverIsNotValid() {
    // Only n1's activation: nobody became active after the kill.
    var v = check(twoActivations().subList(0, 1), rows(5, 5), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(v.describe()).contains("no other node became active");
  }

  @Test
  void aTakeoverThatCommittedNothingIsNotValid() {
    var v = check(twoActivations(), rows(5, 5), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(v.describe()).contains("no row committed with it");
  }

  @Test
  void aStaleCommitAfterANewerTokenIsInvalid() {
    var v = check(twoActivations(), rows(5, 9, 5, 9), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.describe()).contains("I3-fenced-commit-order").contains("stale commit");
  }

  @Test
  void twoActivesAtOnceAreInvalid() {
    List<Activation> overlapping =
        List.of(
            new Activation("n1", 0, 5, 0, 10 * MS, 4000 * MS, 4010 * MS, -1, 40),
            new Activation("n2", 0, 9, 3000 * MS, 3010 * MS, 5000 * MS, 5010 * MS, -1, 80));
    var v = check(overlapping, rows(5, 5, 9, 9), ONE_KILL);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.describe()).contains("I2-one-believer").contains("overlap");
  }

  @Test
  void anAcknowledgedWriteLostInTheSiteLossIsNamedAndReportedNotAsserted() {
    List<Row> committed = rows(5, 5, 9, 9);
    List<NodeEvents.Op> ops = new ArrayList<>(acknowledged(committed));
    // n1's writer saw commit #3 with token 5 just before the kill; n2's promoted server never got
    // it (asynchronous replication), and n2 committed its own #3 with token 9.
    Object lost = List.of(5L, "lost-1");
    ops.add(new NodeEvents.Op("n1", 0, "n1.0", "invoke", 1050 * MS, lost, null, null));
    ops.add(new NodeEvents.Op("n1", 0, "n1.0", "ok", 1060 * MS, lost, 3L, null));
    var v =
        ProductPathChecks.check(
            new Observations(
                twoActivations(),
                committed,
                ops,
                dns(twoActivations()),
                ONE_KILL,
                ADDRESSES,
                Map.of()));
    assertThat(v.durability().validity()).isEqualTo(Validity.INVALID);
    assertThat(v.describe())
        .contains("(reported, not asserted)")
        .contains("1 lost of 5 acknowledged")
        .contains(
            "value lost-1 (token 5, commit #3, writer n1.0, straddled kill of n1 (active, token 5)"
                + " 40 ms after the acknowledgement, n2 active next with token 9)");
    assertThat((List<?>) v.durability().details().get("lost")).hasSize(1);
    // Replication is asynchronous: the loss is reported, the run stays VALID.
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
  }

  @Test
  void aRunWithoutALostRowPassesTheLostRowChecker() {
    List<Row> committed = rows(5, 5, 9, 9);
    var out =
        ProductPathChecks.lostRows(acknowledged(committed), committed, ONE_KILL, twoActivations());
    assertThat(out.validity()).as(out.summary()).isEqualTo(Validity.VALID);
    assertThat(out.summary()).isEqualTo("4 acknowledged writes all on the final primary");
    assertThat(
            ProductPathChecks.findLostRows(
                acknowledged(committed), committed, ONE_KILL, twoActivations()))
        .isEmpty();
  }

  @Test
  void aRowOnTheFinalPrimaryWithAnotherTokenOrCommitNumberIsLost() {
    // The value is there, but as another commit: what the writer was told committed is gone.
    List<Row> committed = rows(5, 5, 9, 9);
    List<NodeEvents.Op> ops = acknowledged(committed);
    List<Row> rewritten = new ArrayList<>(committed);
    rewritten.set(1, new Row(2, 9, "n2", "v2"));
    List<ProductPathChecks.LostRow> lost =
        ProductPathChecks.findLostRows(ops, rewritten, ONE_KILL, twoActivations());
    assertThat(lost).hasSize(1);
    assertThat(lost.get(0).value()).isEqualTo("v2");
    assertThat(lost.get(0).token()).isEqualTo(5);
    assertThat(lost.get(0).writer()).isEqualTo("n1");
    assertThat(lost.get(0).failover()).startsWith("kill of n1 (active, token 5)");
  }

  @Test
  void aFaultOffTheActiveNeedsNoTakeover() {
    List<Fault> faults =
        List.of(
            new Fault("kill", "n1", 5, 1100 * MS, true),
            new Fault("partition-halves", "w1", 0, 4000 * MS, false));
    var v = check(twoActivations(), rows(5, 5, 9, 9), faults);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(v.describe()).contains("faults off the active: partition-halves of w1");
  }

  @Test
  void aDnsFenceTokenIsJudgedAgainstTheClustersHistoryNotOnlyTheSamples() {
    List<Row> committed = rows(5, 5, 9, 9);
    List<DnsWatcher.Observation> readings = new ArrayList<>(dns(twoActivations()));
    // Token 7: an activation of n2 too short for the sampler, which moved the name before it ended.
    readings.add(1, new DnsWatcher.Observation(2000 * MS, 7, "n2", "10.0.0.12", null));
    var withHistory =
        ProductPathChecks.check(
            new Observations(
                twoActivations(),
                committed,
                acknowledged(committed),
                readings,
                ONE_KILL,
                ADDRESSES,
                Map.of("n1", List.of(5L), "n2", List.of(7L, 9L))));
    assertThat(withHistory.validity()).as(withHistory.describe()).isEqualTo(Validity.VALID);
    var without =
        ProductPathChecks.check(
            new Observations(
                twoActivations(),
                committed,
                acknowledged(committed),
                readings,
                ONE_KILL,
                ADDRESSES,
                Map.of()));
    assertThat(without.validity()).as(without.describe()).isEqualTo(Validity.INVALID);
    assertThat(without.describe()).contains("token 7 for n2, never issued to it");
  }

  @Test
  void theProductPathRunsTheKindsItCanAndRefusesTheOthersWithTheReason() {
    assertThat(ProductPathTest.productKinds(ProductPathTest.DEFAULT_NEMESES))
        .containsExactlyInAnyOrder(
            NemesisKind.KILL, NemesisKind.PARTITION_ISOLATE_ACTIVE, NemesisKind.PG_KILL);
    assertThat(ProductPathTest.productKinds("partition, pg-kill"))
        .containsExactlyInAnyOrder(
            NemesisKind.PARTITION_ISOLATE_ACTIVE,
            NemesisKind.PARTITION_HALVES,
            NemesisKind.PARTITION_LEADER_AFTER_READ,
            NemesisKind.PARTITION_MAJORITY_RING,
            NemesisKind.PARTITION_BRIDGE,
            NemesisKind.PG_KILL);
    // Every kind of the suite runs through the product path.
    assertThat(ProductPathTest.productKinds("all")).isEqualTo(EnumSet.allOf(NemesisKind.class));
    assertThat(ProductPathTest.RUN_HERE).isEqualTo(EnumSet.allOf(NemesisKind.class));
    assertThat(ProductPathTest.productKinds("switch-active,health,dns-pause,pg-paused-txn"))
        .containsExactlyInAnyOrder(
            NemesisKind.SWITCH_ACTIVE,
            NemesisKind.HEALTH,
            NemesisKind.DNS_PAUSE,
            NemesisKind.PG_PAUSED_TXN);
    assertThat(ProductPathTest.productKinds("clock")).containsExactly(NemesisKind.CLOCK);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProductPathTest.productKinds("kil"))
        .hasMessageContaining("no fault named kil");
    assertThat(ProductPathTest.productKinds("membership,wipe,outsider"))
        .containsExactlyInAnyOrder(NemesisKind.MEMBERSHIP, NemesisKind.WIPE, NemesisKind.OUTSIDER);
  }

  // ------------------------------------------------------------------ the Raft faults

  private static final String REFUSAL =
      "failed: dev.baton.core.BatonException: data directory /site/data is empty (or missing) and"
          + " node 'n2' was told neither that this is a new cluster nor that it is joining one;"
          + " refusing to start, nothing was changed. If this node lost its disk, it must not come"
          + " back as if new (it would vote with no memory of the log): from a running member,"
          + " 'baton members remove n2', then start this node with 'joining: true'"
          + " (BatonNode.Builder.joining(true)), then 'baton members add --id n2 --raft"
          + " <host:port>'.";

  private static ProductPathChecks.Verdict valid() {
    return check(twoActivations(), rows(5, 5, 9, 9), ONE_KILL);
  }

  @Test
  void aWipedSidecarThatRefusedNamingTheWayBackAndWasAddedBackIsValid() {
    String log =
        "12:00:01 INFO starting\n"
            + REFUSAL
            + "\nstart.sh: the sidecar exited with status 1 at 2026-12-07T18:00:00Z; starting it"
            + " again in 1 s\n";
    Integer status = ProductRaftFaults.exitStatus(log);
    String refusal = ProductRaftFaults.refusalLine(log);
    assertThat(status).isEqualTo(1);
    assertThat(refusal).isEqualTo(REFUSAL);
    var w = new ProductRaftFaults.Wipe("n2", false, status, refusal, false, true);
    var out = ProductRaftFaults.wipedSidecarsRefused(List.of(w));
    assertThat(out.validity()).as(out.summary()).isEqualTo(Validity.VALID);
    assertThat(out.summary()).contains("n2 (config without bootstrap): exited with status 1");
    var v = ProductRaftFaults.withOutcomes(valid(), List.of(out));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(v.describe()).contains("VALID wiped-sidecar-refused");
  }

  @Test
  void aWipedSidecarThatStartedMakesTheRunInvalid() {
    var w = new ProductRaftFaults.Wipe("w1", true, null, null, true, true);
    var v =
        ProductRaftFaults.withOutcomes(
            valid(), List.of(ProductRaftFaults.wipedSidecarsRefused(List.of(w))));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.describe())
        .contains(
            "wiped-sidecar-refused: 1 wiped sidecar(s) started: w1 (config still saying"
                + " bootstrap): STARTED on its empty data directory");
  }

  @Test
  void aWipedSidecarThatExitedWithoutTheRefusalOrWasNotAddedBackIsNotValid() {
    // Exited, but nothing says it refused its empty directory (it may have died of something else).
    var silent = new ProductRaftFaults.Wipe("n2", false, 1, null, false, true);
    assertThat(ProductRaftFaults.wipedSidecarsRefused(List.of(silent)).validity())
        .isEqualTo(Validity.UNKNOWN);
    // A refusal that does not name the way back.
    var vague = new ProductRaftFaults.Wipe("n2", false, 1, "refusing to start: no", false, true);
    assertThat(ProductRaftFaults.wipedSidecarsRefused(List.of(vague)).summary())
        .contains("does not name the way back");
    // Refused, but the runbook did not make it a member again.
    var notBack = new ProductRaftFaults.Wipe("n2", false, 1, REFUSAL, false, false);
    assertThat(ProductRaftFaults.wipedSidecarsRefused(List.of(notBack)).validity())
        .isEqualTo(Validity.UNKNOWN);
    // Exit status 0 is no refusal.
    var zero = new ProductRaftFaults.Wipe("n2", false, 0, REFUSAL, false, true);
    assertThat(zero.refused()).isFalse();
  }

  @Test
  void theClusterMustEndWithItsThreeMembers() {
    List<String> three = List.of("n1", "n2", "w1 (witness)");
    var changes = List.of(new ProductRaftFaults.Change("membership", "w1", 9, 9));
    var ok = ProductRaftFaults.membersRestored(changes, List.of("w1 (witness)", "n1", "n2"), three);
    assertThat(ok.validity()).as(ok.summary()).isEqualTo(Validity.VALID);
    assertThat(ok.summary()).contains("membership of w1 (the active kept token 9)");
    var lost = ProductRaftFaults.membersRestored(changes, List.of("n1", "n2"), three);
    assertThat(lost.validity()).isEqualTo(Validity.INVALID);
    assertThat(lost.summary()).isEqualTo("the cluster ends with members [n1, n2], not " + three);
    // Added back as a voter instead of a witness: not the cluster it was.
    var wrongKind = ProductRaftFaults.membersRestored(changes, List.of("n1", "n2", "w1"), three);
    assertThat(wrongKind.validity()).isEqualTo(Validity.INVALID);
    var unread = ProductRaftFaults.membersRestored(changes, null, three);
    assertThat(unread.validity()).isEqualTo(Validity.UNKNOWN);
    var v = ProductRaftFaults.withOutcomes(valid(), List.of(lost));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
  }

  @Test
  void anOutsiderAttemptThatGotInMakesTheRunInvalid() {
    // The suite's check, fed as the product path feeds it: the probe's events and the refusal
    // counters read from the sidecars' /metrics.
    List<Nemesis.Event> schedule =
        List.of(
            new Nemesis.Event(1000 * MS, NemesisKind.OUTSIDER, "start", "outsider probes"),
            new Nemesis.Event(1001 * MS, NemesisKind.OUTSIDER, "attempt", "begins"),
            new Nemesis.Event(1100 * MS, NemesisKind.OUTSIDER, "failed", "raw write: refused"),
            new Nemesis.Event(1600 * MS, NemesisKind.OUTSIDER, "attempt", "begins"),
            new Nemesis.Event(1700 * MS, NemesisKind.OUTSIDER, "ACCEPTED", "setConfiguration"),
            new Nemesis.Event(1800 * MS, NemesisKind.OUTSIDER, "end", "outsider done"));
    List<NodeEvents.Refusals> counted = List.of(new NodeEvents.Refusals("n1", 0, 1050 * MS, 3));
    var in =
        ProductRaftFaults.withOutcomes(valid(), List.of(Checks.outsiderRefused(schedule, counted)));
    assertThat(in.validity()).as(in.describe()).isEqualTo(Validity.INVALID);
    assertThat(in.describe()).contains("outsider-refused: 1 outsider attempt(s) accepted");
    var refused =
        ProductRaftFaults.withOutcomes(
            valid(), List.of(Checks.outsiderRefused(schedule.subList(0, 3), counted)));
    assertThat(refused.validity()).as(refused.describe()).isEqualTo(Validity.VALID);
  }

  @Test
  void theRefusalCounterIsSummedOverItsKindsFromTheMetricsPage() {
    String page =
        "# HELP baton_raft_refused_total calls and TLS handshakes the Raft port refused\n"
            + "# TYPE baton_raft_refused_total counter\n"
            + "baton_raft_refused_total{kind=\"handshake\",node=\"n1\"} 3.0\n"
            + "baton_raft_refused_total{kind=\"admin\",node=\"n1\"} 2.0\n"
            + "baton_raft_entries_rejected_total{reason=\"x\",stage=\"apply\"} 7.0\n";
    assertThat(ProductRaftFaults.refusedTotal(page)).isEqualTo(5.0);
    assertThat(ProductRaftFaults.refusedTotal("")).isEqualTo(0.0);
  }

  private static final List<Fault> PAUSED_TXN =
      List.of(new Fault("pg-paused-txn", "n1", 5, 1100 * MS, true));

  private static ProductPathChecks.Verdict withHeld(ProductPathChecks.HeldTransaction... held) {
    List<Row> committed = rows(5, 5, 9, 9);
    return ProductPathChecks.check(
        new Observations(
            twoActivations(),
            committed,
            acknowledged(committed),
            dns(twoActivations()),
            PAUSED_TXN,
            ADDRESSES,
            Map.of(),
            List.of(held)));
  }

  @Test
  void aHeldTransactionThatCommittedAfterTheTakeoverMakesTheRunInvalid() {
    // The held transaction's COMMIT went through on n1's old primary while n2 was active with 9:
    // pg_rewind later removes the row, so only the recorded outcome shows it.
    var v =
        withHeld(
            new ProductPathChecks.HeldTransaction(
                "n1", 5, "n1.held-5-x", 3, 9, "its sidecar SIGSTOPped", "committed"));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.describe())
        .contains("INVALID held-transaction-fenced")
        .contains("1 held transaction(s) committed after a successor was active: n1.held-5-x");
  }

  @Test
  void aHeldTransactionRefusedAfterTheTakeoverIsValid() {
    var v =
        withHeld(
            new ProductPathChecks.HeldTransaction(
                "n1", 5, "n1.held-5-x", 3, 9, "its site cut off", "BT008 ERROR: fence lease"));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(v.describe()).contains("1 held transaction(s), none committed");
  }

  @Test
  void aPausedTransactionFaultWithNothingHeldOrNoSuccessorChecksNothing() {
    var none = withHeld();
    assertThat(none.validity()).as(none.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(none.describe()).contains("1 pg-paused-txn faults, 0 transactions held");
    // A COMMIT tried before any successor was active may commit: it proves nothing either way.
    var early =
        withHeld(
            new ProductPathChecks.HeldTransaction(
                "n1", 5, "n1.held-5-x", 3, 0, "its sidecar SIGSTOPped", "committed"));
    assertThat(early.validity()).as(early.describe()).isEqualTo(Validity.UNKNOWN);
    // A run without the fault has no such check.
    assertThat(check(twoActivations(), rows(5, 5, 9, 9), ONE_KILL).describe())
        .doesNotContain("held-transaction-fenced");
  }

  @Test
  void aFaultsDetailIsInItsDescription() {
    Fault clock = new Fault("clock", "n2", 0, 1000 * MS, false);
    assertThat(clock.describe()).isEqualTo("clock of n2");
    assertThat(clock.withDetail("ran at 1.0801").describe())
        .isEqualTo("clock of n2: ran at 1.0801");
  }

  @Test
  void aRowAcknowledgedByACutOffActiveStraddlesTheFaultItWasAcknowledgedIn() {
    // n1 is cut off at 0.9 s and commits on its own server until its lease ends; n2 takes over
    // with token 9 at 3 s; a later kill of n1 (no longer active) is not the failover it straddled.
    List<Fault> faults =
        List.of(
            new Fault("partition-isolate-active", "n1", 5, 900 * MS, true),
            new Fault("kill", "n1", 0, 6000 * MS, false));
    assertThat(ProductPathChecks.straddled(5, 1000 * MS, faults, twoActivations()))
        .isEqualTo(
            "partition-isolate-active of n1 (active, token 5) begun 100 ms before the"
                + " acknowledgement, n2 active next with token 9");
    // A token never replaced: the first fault after the acknowledgement.
    assertThat(ProductPathChecks.straddled(9, 5500 * MS, faults, twoActivations()))
        .isEqualTo("kill of n1 500 ms after the acknowledgement, no newer token was seen");
  }

  @Test
  void aWriteWithAnOldTokenBegunAfterANewerTokensAcknowledgementIsInvalid() {
    // The final primary (n2) holds rows 5, 5, 9, 9 in order; n1's server, cut off, also took a
    // write with token 5 that began 200 ms after n2's first write with token 9 was acknowledged (at
    // 3.305 s): a rewind discarded it, so only the writer's log shows the split brain.
    List<Row> committed = rows(5, 5, 9, 9);
    List<NodeEvents.Op> ops = new ArrayList<>(acknowledged(committed));
    Object stale = List.of(5L, "stale-1");
    ops.add(new NodeEvents.Op("n1", 0, "n1.0", "invoke", 3505 * MS, stale, null, null));
    ops.add(new NodeEvents.Op("n1", 0, "n1.0", "ok", 3506 * MS, stale, 5L, null));
    var v =
        ProductPathChecks.check(
            new Observations(
                twoActivations(),
                committed,
                ops,
                dns(twoActivations()),
                ONE_KILL,
                ADDRESSES,
                Map.of()));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.describe())
        .contains("I3-no-stale-acknowledgement")
        .contains(
            "value stale-1 with token 5 (writer n1.0) invoked 200 ms after value v3 with token 9"
                + " (writer n2) was acknowledged");
    // Begun before that acknowledgement (a cut-off active within its lease): not stale.
    List<NodeEvents.Op> early = new ArrayList<>(acknowledged(committed));
    early.add(new NodeEvents.Op("n1", 0, "n1.0", "invoke", 3300 * MS, stale, null, null));
    early.add(new NodeEvents.Op("n1", 0, "n1.0", "ok", 3900 * MS, stale, 5L, null));
    assertThat(ProductPathChecks.noStaleAcknowledgement(early).validity())
        .isEqualTo(Validity.VALID);
    assertThat(ProductPathChecks.noStaleAcknowledgement(List.of()).validity())
        .isEqualTo(Validity.UNKNOWN);
  }

  /**
   * A pause of n1 taken over by n2: n2's promotion asked the fence agent to power n1 off (asked at
   * 2.5 s, off at 2.6 s, on again at 8 s), then advanced the fence to 9; n1 wrote with token 5 at
   * 0.1 s and 0.2 s, n2 with token 9 at 3.1 s and 3.2 s. {@code extra} adds writes (token, value,
   * invoked, acknowledged).
   */
  private static ProductPathChecks.Verdict stonithRun(long[][] extra) {
    List<Row> rows = new ArrayList<>();
    List<NodeEvents.Op> ops = new ArrayList<>();
    List<long[]> writes = new ArrayList<>();
    writes.add(new long[] {5, 100, 110});
    writes.add(new long[] {5, 200, 210});
    writes.addAll(List.of(extra));
    writes.add(new long[] {9, 3100, 3110});
    writes.add(new long[] {9, 3200, 3210});
    for (long[] w : writes) {
      String node = w[0] == 5 ? "n1" : "n2";
      String value = "v" + (rows.size() + 1);
      Object v = List.of(w[0], value);
      rows.add(new Row(rows.size() + 1, w[0], node, value));
      ops.add(new NodeEvents.Op(node, 0, node, "invoke", w[1] * MS, v, null, null));
      ops.add(new NodeEvents.Op(node, 0, node, "ok", w[2] * MS, v, (long) rows.size(), null));
    }
    List<FenceAgent.Stop> stops =
        List.of(
            new FenceAgent.Stop(
                2500 * MS, 2600 * MS, "n1", "10.0.0.11", 9, "n2", "n2", false, 8000 * MS));
    return ProductPathChecks.check(
        new Observations(
            twoActivations(),
            rows,
            ops,
            dns(twoActivations()),
            List.of(new Fault("pause", "n1", 5, 1100 * MS, true)),
            ADDRESSES,
            Map.of("n1", List.of(5L), "n2", List.of(9L))),
        stops);
  }

  private static Checks.Outcome stonithOutcome(ProductPathChecks.Verdict v) {
    return v.outcomes().stream().filter(o -> o.name().equals("stonith-held")).findFirst().get();
  }

  @Test
  void aPowerOffBeforeTheNewPrimarysWritesAndNoWriteOnTheOffServerIsValid() {
    var v = stonithRun(new long[0][]);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(stonithOutcome(v).summary())
        .isEqualTo(
            "1 servers powered off took no write after, and no new primary took one before: n1 for"
                + " token 9 of n2");
    // A write with n1's token begun before the power-off, acknowledged just after it, may have
    // committed before: not a violation.
    var straddling = stonithRun(new long[][] {{5, 2550, 2650}});
    assertThat(stonithOutcome(straddling).validity())
        .as(straddling.describe())
        .isEqualTo(Validity.VALID);
  }

  @Test
  void aWriteCommittedOnAServerAfterTheAgentPoweredItOffIsInvalid() {
    // Begun at 2.7 s with n1's token 5: it committed on n1's server, off since 2.6 s.
    var v = stonithRun(new long[][] {{5, 2700, 2710}});
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(stonithOutcome(v).summary())
        .contains(
            "value v3 (token 5) committed on n1's server, which the agent had powered off 100 ms"
                + " before the write began");
  }

  @Test
  void aWriteOfTheNewPrimaryAcknowledgedBeforeTheOldOneWasOffIsInvalid() {
    // Token 9 acknowledged at 2.55 s, before n1 was off (2.6 s).
    var v = stonithRun(new long[][] {{9, 2540, 2550}});
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(stonithOutcome(v).summary())
        .contains("value v3 acknowledged with token 9 50 ms before the agent had powered off n1");
  }

  @Test
  void withoutAPowerOffTheStonithCheckerSaysItCheckedNothing() {
    var v = check(twoActivations(), rows(5, 5, 9, 9), ONE_KILL);
    assertThat(stonithOutcome(v).validity()).isEqualTo(Validity.VALID);
    assertThat(stonithOutcome(v).summary()).contains("the agent powered no server off");
  }

  @Test
  void theNameStillOnTheOldServerLongerThanTheBoundAfterATakeoverIsInvalid() {
    // n2 first seen active with token 9 at 3.01 s; a reading at 4.5 s still on n1 (token 5).
    List<DnsWatcher.Observation> readings = new ArrayList<>(dns(twoActivations()));
    readings.add(new DnsWatcher.Observation(4500 * MS, 5, "n1", "10.0.0.11", null));
    var out =
        ProductPathChecks.dnsFollowsTheFence(
            readings, twoActivations(), ProductPathChecks.DNS_BOUND);
    assertThat(out.validity()).as(out.summary()).isEqualTo(Validity.INVALID);
    assertThat(out.summary())
        .contains(
            "1490 ms after n2 was first seen active with token 9 still showed the name on n1");
    // Within the bound (3.9 s: 890 ms after), and the readings as they should be: VALID.
    List<DnsWatcher.Observation> within = new ArrayList<>(dns(twoActivations()));
    within.add(new DnsWatcher.Observation(3900 * MS, 5, "n1", "10.0.0.11", null));
    assertThat(
            ProductPathChecks.dnsFollowsTheFence(
                    within, twoActivations(), ProductPathChecks.DNS_BOUND)
                .validity())
        .isEqualTo(Validity.VALID);
    // A takeover and no reading after it: nothing was checked.
    assertThat(
            ProductPathChecks.dnsFollowsTheFence(
                    List.of(), twoActivations(), ProductPathChecks.DNS_BOUND)
                .validity())
        .isEqualTo(Validity.UNKNOWN);
  }
}
