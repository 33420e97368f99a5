package dev.baton.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An exponential backoff: the pause before retry {@code n} is {@code initial × 2^(n-1)}, capped at
 * {@code max}. With {@link #withEqualJitter() equal jitter} the pause is drawn uniformly from the
 * upper half of that ceiling, so that two nodes retrying the same failing resource do not keep
 * colliding, and no pause is ever shorter than half the ceiling ("equal jitter" in the AWS
 * architecture blog's "Exponential Backoff And Jitter"; "full jitter" would draw from zero).
 *
 * <p>Used by the promotion plan between a step's attempts (from {@link StepPolicy}), by the control
 * API client between retries, and by the DNS client between queries.
 *
 * @param initial the ceiling of the first pause; zero for no pause at all
 * @param max the largest ceiling; at least {@code initial}
 * @param equalJitter whether pauses are drawn from the upper half of the ceiling
 */
public record Backoff(Duration initial, Duration max, boolean equalJitter) {

  public Backoff {
    if (initial == null || initial.isNegative()) {
      throw new IllegalArgumentException(
          "backoff initial must be zero or positive, was " + initial);
    }
    if (max == null || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "backoff max (" + max + ") must be at least its initial (" + initial + ")");
    }
  }

  /** A backoff without jitter: every pause is its ceiling. */
  public static Backoff exponential(Duration initial, Duration max) {
    return new Backoff(initial, max, false);
  }

  /** The same ceilings, with pauses drawn from the upper half of each. */
  public Backoff withEqualJitter() {
    return new Backoff(initial, max, true);
  }

  /**
   * The ceiling of the pause before retry {@code retry}: {@code initial × 2^(retry-1)}, at most
   * {@link #max()}.
   *
   * @param retry 1 for the pause after the first failure
   */
  public Duration ceiling(int retry) {
    if (retry < 1) {
      throw new IllegalArgumentException("backoff retry must be at least 1, was " + retry);
    }
    long initialNanos = initial.toNanos();
    long maxNanos = max.toNanos();
    // Double until the cap, without overflowing: 2^62 ns is far past any sane max.
    int shift = Math.min(retry - 1, 62);
    long ceiling = initialNanos > (maxNanos >> shift) ? maxNanos : initialNanos << shift;
    return Duration.ofNanos(Math.min(ceiling, maxNanos));
  }

  /** The pause before retry {@code retry}: its {@link #ceiling(int)}, jittered if configured. */
  public Duration delay(int retry) {
    long ceiling = ceiling(retry).toNanos();
    if (!equalJitter || ceiling <= 1) {
      return Duration.ofNanos(ceiling);
    }
    return Duration.ofNanos(ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1));
  }
}
