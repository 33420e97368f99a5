package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The renewal's budget is derived from the lease that remains, as the bound it writes is (issue
 * 31/32: a fixed 100 ms rolled back a 114 ms renewal on a loaded host while 600 ms of the lease
 * remained). What {@code docs/lease.md} step 6 needs: the budget and the bound never add up to more
 * than {@code remaining × (1 − drift)}.
 */
class FenceLeaseBudgetTest {

  @Test
  void theDerivedBudgetIsHalfOfTheRemainingLeaseLessTheDriftAndTheBoundTheOtherHalf() {
    Duration remaining = Duration.ofMillis(692); // the default lease (docs/lease.md)
    long budget = FenceLease.renewalBudgetNanos(remaining, 0.01, null);
    assertThat(budget).isEqualTo((long) (692_000_000L * 0.99) / 2);
    assertThat(FenceLease.boundMicros(remaining, 0.01, budget)).isEqualTo(342_540L);
    // The round trip that was rolled back under the fixed 100 ms fits now.
    assertThat(budget).isGreaterThan(Duration.ofMillis(114).toNanos());
  }

  @Test
  void budgetAndBoundNeverExceedTheRemainingLeaseLessTheDrift() {
    for (double drift : new double[] {0, 0.01, 0.1, 0.49}) {
      for (long ms = 0; ms <= 5_000; ms += 7) {
        Duration remaining = Duration.ofMillis(ms);
        long budget = FenceLease.renewalBudgetNanos(remaining, drift, null);
        long bound = FenceLease.boundMicros(remaining, drift, budget) * 1000;
        long allowed = (long) (remaining.toNanos() * (1 - drift));
        assertThat(budget).as("budget at %d ms, drift %s", ms, drift).isNotNegative();
        assertThat(budget + bound).as("budget + bound at %d ms", ms).isLessThanOrEqualTo(allowed);
        // Equal halves: neither the round trip nor the bound is starved as the lease shrinks.
        assertThat(Math.abs(bound - budget)).isLessThanOrEqualTo(1000);
      }
    }
  }

  @Test
  void theBoundOutlastsTheRenewIntervalWhileTheLeaseIsMoreThanTwiceIt() {
    Duration interval = Duration.ofMillis(100); // the sidecar's default renewInterval
    Duration remaining = Duration.ofMillis(203); // 203 × 0.99 > 200
    long budget = FenceLease.renewalBudgetNanos(remaining, 0.01, null);
    assertThat(FenceLease.boundMicros(remaining, 0.01, budget) * 1000)
        .isGreaterThanOrEqualTo(interval.toNanos());
  }

  @Test
  void aFixedMaxRenewalTimeIsTakenAsGivenAndTheBoundIsWhatRemains() {
    Duration fixed = Duration.ofMillis(300);
    assertThat(FenceLease.renewalBudgetNanos(Duration.ofSeconds(4), 0.25, fixed))
        .isEqualTo(fixed.toNanos());
    assertThat(FenceLease.boundMicros(Duration.ofSeconds(4), 0.25, fixed.toNanos()))
        .isEqualTo(2_700_000L);
    // More than the lease that remains: no bound at all rather than a negative one.
    assertThat(FenceLease.boundMicros(Duration.ofMillis(200), 0.01, fixed.toNanos())).isZero();
  }
}
