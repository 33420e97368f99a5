package dev.baton.core;

import java.util.Objects;

/**
 * One answer of a {@link HealthCheck}: healthy, or unhealthy with a reason that an operator can act
 * on (it is shown in status, logs and metrics labels are never made from it).
 *
 * @param healthy whether the checked thing works
 * @param reason why it is unhealthy (empty when healthy)
 */
public record HealthResult(boolean healthy, String reason) {
  private static final HealthResult HEALTHY = new HealthResult(true, "");

  public HealthResult {
    Objects.requireNonNull(reason, "reason");
    if (!healthy && reason.isBlank()) {
      throw new IllegalArgumentException("an unhealthy result needs a reason");
    }
  }

  /** Healthy. */
  public static HealthResult ok() {
    return HEALTHY;
  }

  /** Unhealthy, because of {@code reason}. */
  public static HealthResult unhealthy(String reason) {
    return new HealthResult(false, reason);
  }
}
