package dev.baton.dns;

import java.time.Duration;

/** A point on the monotonic clock; wall-clock jumps never shorten or stretch a DNS operation. */
final class Deadline {
  private final long endNanos;

  private Deadline(long endNanos) {
    this.endNanos = endNanos;
  }

  static Deadline in(Duration d) {
    return new Deadline(System.nanoTime() + saturatedNanos(d));
  }

  Deadline min(Duration d) {
    long other = System.nanoTime() + saturatedNanos(d);
    return other - endNanos < 0 ? new Deadline(other) : this;
  }

  Duration remaining() {
    return Duration.ofNanos(endNanos - System.nanoTime());
  }

  boolean expired() {
    return endNanos - System.nanoTime() <= 0;
  }

  private static long saturatedNanos(Duration d) {
    try {
      return Math.max(0, d.toNanos());
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 4;
    }
  }
}
