package dev.baton.core.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only time source the role logic reads: {@link System#nanoTime()}, never wall-clock time, so
 * clock steps (NTP, an operator) cannot shorten or stretch a lease.
 *
 * <p>For fault-injection tests only, the system property {@value #RATE_PROPERTY} makes this node's
 * clock run at another rate (e.g. 1.05 = 5% fast), to show what drift beyond the configured bound
 * does. The node logs a warning when it is set.
 */
public final class MonotonicClock {
  private static final Logger LOG = LoggerFactory.getLogger(MonotonicClock.class);

  /** Test-only: a clock rate for this JVM's Baton nodes, such as {@code 1.05}. */
  public static final String RATE_PROPERTY = "baton.test.clock-rate";

  private final double rate;
  private final long origin = System.nanoTime();

  private MonotonicClock(double rate) {
    this.rate = rate;
  }

  public static MonotonicClock system() {
    String value = System.getProperty(RATE_PROPERTY);
    if (value == null || value.isBlank()) {
      return new MonotonicClock(1.0);
    }
    double rate;
    try {
      rate = Double.parseDouble(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "system property " + RATE_PROPERTY + "='" + value + "' is not a number", e);
    }
    if (!(rate > 0.1 && rate < 10)) {
      throw new IllegalArgumentException(
          "system property " + RATE_PROPERTY + "=" + rate + " is outside (0.1, 10)");
    }
    LOG.warn("TEST ONLY: this node's monotonic clock runs at rate {} ({})", rate, RATE_PROPERTY);
    return new MonotonicClock(rate);
  }

  public long nanoTime() {
    long now = System.nanoTime();
    return rate == 1.0 ? now : origin + (long) ((now - origin) * rate);
  }
}
