package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.jepsen.ProductPathChecks.Fault;
import dev.baton.jepsen.ProductPathChecks.Observations;
import java.util.ArrayList;
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
      ops.add(new NodeEvents.Op(r.node(), 0, r.node(), "invoke", r.commitSeq(), value, null, null));
      ops.add(
          new NodeEvents.Op(
              r.node(), 0, r.node(), "ok", r.commitSeq(), value, r.commitSeq(), null));
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
            NemesisKind.PG_KILL);
    assertThat(ProductPathTest.productKinds("all")).isEqualTo(ProductPathTest.RUN_HERE);
    assertThat(ProductPathTest.productKinds("clock")).containsExactly(NemesisKind.CLOCK);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ProductPathTest.productKinds("kill,partition-bridge"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("partition-bridge (with two sites and a witness");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProductPathTest.productKinds("kil"))
        .hasMessageContaining("no fault named kil");
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
}
