package dev.baton.core.internal;

import java.time.Duration;

/**
 * The active's lease: the interval in which it may act without hearing from the quorum again
 * (docs/lease.md, step 1). It runs from the monotonic time at which a round was <em>sent</em> that
 * a majority then acknowledged, for {@code length}; every later acknowledged round moves the end
 * forward, never back, and a lease that has lapsed is never revived: belief in one activation ends
 * once, and the node re-activates with a new token instead.
 *
 * <p>All arithmetic is on differences of readings of the node's {@link MonotonicClock}, so an
 * origin anywhere in {@code long}'s range (the ticker's values may wrap) gives the same answers.
 * Validity is computed at the instant of the question; no thread has to run for the lease to end on
 * time.
 *
 * <p>Readers may call from any thread. {@link #start} and {@link #renew} are called by the role
 * controller under its lock, so they never race each other.
 */
final class Lease {
  private final MonotonicClock clock;
  private final long lengthNanos;
  private volatile long expiry;

  /** A lease of {@code length}, lapsed until {@link #start}. */
  Lease(MonotonicClock clock, Duration length) {
    if (length.isNegative() || length.isZero()) {
      throw new IllegalArgumentException("a lease must be longer than zero, not " + length);
    }
    this.clock = clock;
    this.lengthNanos = length.toNanos();
    this.expiry = clock.nanoTime();
  }

  /** A new activation's lease, from the time its activation entry was sent. */
  void start(long sentAt) {
    expiry = sentAt + lengthNanos;
  }

  /**
   * A majority acknowledged a round sent at {@code sentAt}: the lease now ends at {@code sentAt +
   * length} if that is later than its end, and it has not lapsed yet.
   *
   * @return whether the end moved
   */
  boolean renew(long sentAt) {
    long end = expiry;
    if (clock.nanoTime() - end >= 0) {
      return false;
    }
    long candidate = sentAt + lengthNanos;
    if (candidate - end <= 0) {
      return false;
    }
    expiry = candidate;
    return true;
  }

  /** Whether the lease is valid now. */
  boolean isValid() {
    return clock.nanoTime() - expiry < 0;
  }

  /** Whether less than {@code reserve} nanoseconds of the lease are left at {@code now}. */
  boolean endsWithin(long now, long reserveNanos) {
    return expiry - now < reserveNanos;
  }

  /** What is left of the lease now; zero once it has lapsed. */
  Duration remaining() {
    long left = expiry - clock.nanoTime();
    return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
  }

  /** The clock reading at which the lease ends (a deadline for the demotion actions). */
  long end() {
    return expiry;
  }

  /** The lease's length in nanoseconds. */
  long lengthNanos() {
    return lengthNanos;
  }
}
