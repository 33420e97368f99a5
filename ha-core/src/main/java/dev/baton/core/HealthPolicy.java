package dev.baton.core;

import java.time.Duration;
import java.util.Objects;

/**
 * How answers of the {@link HealthCheck}s become a node's health, and how often health may move the
 * role.
 *
 * @param failuresToDemote consecutive unhealthy answers of one check before the check counts as
 *     down
 * @param successesToRecover consecutive healthy answers of a down check before it counts as up
 * @param minMoveInterval the least time between two role moves caused by health, so that a flapping
 *     check cannot make the role flap
 */
public record HealthPolicy(int failuresToDemote, int successesToRecover, Duration minMoveInterval) {
  /** 3 failures, 2 successes, 30 s between health-driven moves. */
  public static final HealthPolicy DEFAULTS = new HealthPolicy(3, 2, Duration.ofSeconds(30));

  public HealthPolicy {
    Objects.requireNonNull(minMoveInterval, "minMoveInterval");
    if (failuresToDemote < 1 || failuresToDemote > 1000) {
      throw new IllegalArgumentException(
          "failuresToDemote " + failuresToDemote + " must be between 1 and 1000");
    }
    if (successesToRecover < 1 || successesToRecover > 1000) {
      throw new IllegalArgumentException(
          "successesToRecover " + successesToRecover + " must be between 1 and 1000");
    }
    if (minMoveInterval.isNegative()) {
      throw new IllegalArgumentException(
          "minMoveInterval " + minMoveInterval + " must not be negative");
    }
  }
}
