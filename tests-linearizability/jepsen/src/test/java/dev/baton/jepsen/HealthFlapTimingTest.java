package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.HealthPolicy;
import dev.baton.jepsen.node.MarkerHealthCheck;
import org.junit.jupiter.api.Test;

/**
 * The health nemesis's flap must let the check recover and then fail again (issue 31): its two
 * halves are derived from the marker check's interval and policy. Replayed here on the probe
 * schedule, at every phase of the probes against the toggle, with the counting of {@link
 * HealthPolicy} (that many probes in a row flip the check).
 */
class HealthFlapTimingTest {
  private static final int CYCLES = 4;

  @Test
  void theDerivedFlapTakesTheCheckDownAndBackUpInEveryCycleAtEveryPhase() {
    long interval = MarkerHealthCheck.INTERVAL.toMillis();
    long unhealthy = MarkerHealthCheck.flapUnhealthyFor().toMillis();
    long healthy = MarkerHealthCheck.flapHealthyFor().toMillis();
    assertThat(unhealthy).isEqualTo(interval * (MarkerHealthCheck.POLICY.failuresToDemote() + 1));
    assertThat(healthy).isEqualTo(interval * (MarkerHealthCheck.POLICY.successesToRecover() + 1));
    for (long offset = 0; offset < interval; offset += 5) {
      assertThat(changes(unhealthy, healthy, interval, offset, MarkerHealthCheck.POLICY))
          .as("state changes at probe offset %d ms", offset)
          .isEqualTo(2 * CYCLES);
    }
  }

  /** What the fixed 300 ms toggle did against 200 ms probes: never down, up and down again. */
  @Test
  void theOld300MsToggleNeverRecoveredAndFailedAgain() {
    for (long offset = 0; offset < 200; offset += 5) {
      assertThat(changes(300, 300, 200, offset, MarkerHealthCheck.POLICY))
          .as("state changes at probe offset %d ms", offset)
          .isLessThanOrEqualTo(1);
    }
  }

  /**
   * How often the check's state changes over {@link #CYCLES} flap cycles (marker in place from 0
   * for {@code unhealthy} ms, then away for {@code healthy} ms), probed at {@code offset + k x
   * interval}; the check starts up.
   */
  private static int changes(
      long unhealthy, long healthy, long interval, long offset, HealthPolicy policy) {
    long cycle = unhealthy + healthy;
    boolean up = true;
    int failures = 0;
    int successes = 0;
    int changes = 0;
    for (long t = offset; t < CYCLES * cycle; t += interval) {
      boolean marked = t % cycle < unhealthy;
      if (marked) {
        successes = 0;
        if (++failures >= policy.failuresToDemote() && up) {
          up = false;
          changes++;
        }
      } else {
        failures = 0;
        if (++successes >= policy.successesToRecover() && !up) {
          up = true;
          changes++;
        }
      }
    }
    return changes;
  }
}
