package dev.baton.core;

import java.time.Duration;
import java.util.Objects;

/**
 * A probe of what the active serves: the plane's own process, its PostgreSQL, anything whose loss
 * should move the role. Built-in kinds are in {@link HealthChecks}; implement this interface for
 * any other.
 *
 * <p>Baton runs {@link #check()} every {@link Settings#interval() interval}, on a thread of its
 * own. A check that throws, or that has not answered within its {@link Settings#timeout() timeout},
 * counts as unhealthy; one that overruns is interrupted and not run again until it returns. How
 * many answers in a row change a node's health is the {@link HealthPolicy}'s to say.
 */
public interface HealthCheck {

  /** The check's name, interval, timeout and effect. */
  Settings settings();

  /**
   * One probe: healthy, or unhealthy with a reason. Must respond to interruption (it is interrupted
   * when it overruns its timeout).
   */
  HealthResult check() throws Exception;

  /**
   * Called once when probing starts, before the first {@link #check()}, on a probe thread and with
   * no timeout of the check's own (Baton stops waiting for it after {@link #WARM_UP_LIMIT} and
   * probes anyway). Its outcome, an exception included, is ignored. For what the first probe would
   * otherwise pay once, such as loading a client's classes and opening its connection in a cold
   * JVM, so that a slow first probe on a loaded machine is not counted as a failure. Default:
   * nothing.
   */
  default void warmUp() throws Exception {}

  /** How long Baton waits for {@link #warmUp()} before it starts probing anyway. */
  Duration WARM_UP_LIMIT = Duration.ofSeconds(10);

  /**
   * @param name unique on the node; shown in status and as the {@code check} label of {@code
   *     baton_health_check_up}
   * @param interval time between the starts of two probes
   * @param timeout how long a probe may take before it counts as failed; at most the interval
   * @param demotes whether this check's failure also makes a current active hand over the role
   *     (true), or only keeps the node from becoming active (false)
   */
  record Settings(String name, Duration interval, Duration timeout, boolean demotes) {
    public Settings {
      Objects.requireNonNull(interval, "interval");
      Objects.requireNonNull(timeout, "timeout");
      if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
        throw new IllegalArgumentException(
            "health check name '"
                + name
                + "' must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or"
                + " digit");
      }
      if (interval.toMillis() < 10) {
        throw new IllegalArgumentException(
            "health check '" + name + "': interval " + interval + " is below 10 ms");
      }
      if (timeout.isZero() || timeout.isNegative()) {
        throw new IllegalArgumentException(
            "health check '" + name + "': timeout " + timeout + " must be positive");
      }
      if (timeout.compareTo(interval) > 0) {
        throw new IllegalArgumentException(
            "health check '"
                + name
                + "': timeout "
                + timeout.toMillis()
                + " ms is longer than its interval "
                + interval.toMillis()
                + " ms; a probe must end before the next one starts");
      }
    }

    /** {@code name}, probed every {@code interval} with {@code timeout}, demoting. */
    public static Settings of(String name, Duration interval, Duration timeout) {
      return new Settings(name, interval, timeout, true);
    }

    /** These settings, gating eligibility only: a failure never demotes a current active. */
    public Settings eligibilityOnly() {
      return new Settings(name, interval, timeout, false);
    }
  }
}
