package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryRecorder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The KV workload's part in a {@link ProductPathTest} run's verdict (no Docker): its history
 * checked as the suite checks its own, a violation makes the run INVALID, and a history in which
 * nothing completed cannot pass, as {@link VacuousRunTest} asks of the suite.
 */
class ProductKvTest {
  private static final Outcome VALID_CHECK =
      new Outcome("I2-one-believer", "", Validity.VALID, "3 activations, no overlap", Map.of());
  private static final Outcome DURABILITY =
      new Outcome("acknowledged-rows-on-final-primary", "", Validity.VALID, "", Map.of());

  private static ProductPathChecks.Verdict run(Validity v) {
    return new ProductPathChecks.Verdict(v, List.of(VALID_CHECK), DURABILITY);
  }

  private static ProductPathChecks.Verdict withKv(ProductPathChecks.Verdict run, History h) {
    return ProductKv.withKv(run, ProductKv.check(h));
  }

  @Test
  void aLinearizableHistoryKeepsAValidRunValidAndIsCountedByOutcome() {
    HistoryRecorder good = new HistoryRecorder();
    good.invoke(1, "read", "r1", null).ok(KvWorkload.readResult(Optional.empty()));
    good.invoke(0, "write", "r1", 3L).ok();
    good.invoke(0, "cas", "r1", List.of(3L, 4L)).ok();
    good.invoke(1, "cas", "r1", List.of(0L, 1L)).fail();
    good.invoke(1, "write", "r2", 2L).info("DEADLINE_EXCEEDED");
    good.invoke(2, "read", "r1", null).ok(4L);
    ProductKv.Result r =
        ProductKv.result(
            good.history(), ProductKv.check(good.history()), 2, 10.0, List.of("read r0 = nil"));
    ProductPathChecks.Verdict valid = ProductKv.withKv(run(Validity.VALID), r.outcome());
    assertThat(valid.validity()).as(valid.describe()).isEqualTo(Validity.VALID);
    assertThat(valid.describe()).contains("VALID kv-linearizable: ");
    assertThat(r.figures())
        .containsEntry("operations", 6)
        .containsEntry("ok", 4L)
        .containsEntry("fail", 1L)
        .containsEntry("info", 1L)
        .containsEntry("opsPerSecond", 0.6)
        .containsEntry("validity", "VALID")
        .containsEntry("undecided", false)
        .containsEntry("leaderReads", List.of("read r0 = nil"));
    assertThat(r.describe())
        .contains("6 operations (4 ok, 1 fail, 1 info), 0.6 ops/s")
        .contains("linearizable");
  }

  @Test
  void aStaleReadMakesTheRunInvalid() {
    // As a leader cut off after a read would answer: the write of 3 completed, then a read through
    // the old leader found the register absent.
    HistoryRecorder rec = new HistoryRecorder();
    rec.invoke(0, "write", "r1", 3L).ok();
    rec.invoke(1000000, "read", "r1", null).ok(KvWorkload.readResult(Optional.empty()));
    ProductPathChecks.Verdict v = withKv(run(Validity.VALID), rec.history());
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.INVALID);
    assertThat(v.outcomes()).extracting(Outcome::name).contains("kv-linearizable");
    assertThat(v.durability()).isEqualTo(DURABILITY);
  }

  @Test
  void aKvHistoryInWhichNothingCompletedNeverPasses() {
    ProductPathChecks.Verdict empty = withKv(run(Validity.VALID), new HistoryRecorder().history());
    assertThat(empty.validity()).as(empty.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(empty.describe()).contains("no operation completed successfully");

    HistoryRecorder failed = new HistoryRecorder();
    for (int i = 0; i < 20; i++) {
      failed.invoke(i, "write", "r" + (i % 4), (long) i).fail("UNAVAILABLE");
      failed.invoke(i, "cas", "r" + (i % 4), List.of(1L, 2L)).info("DEADLINE_EXCEEDED");
    }
    ProductPathChecks.Verdict none = withKv(run(Validity.VALID), failed.history());
    assertThat(none.validity()).as(none.describe()).isEqualTo(Validity.UNKNOWN);
    // An UNKNOWN KV history never hides a violation found elsewhere.
    assertThat(withKv(run(Validity.INVALID), failed.history()).validity())
        .isEqualTo(Validity.INVALID);
  }
}
