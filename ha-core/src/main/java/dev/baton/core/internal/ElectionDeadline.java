package dev.baton.core.internal;

import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * When a follower's {@link ElectionTimer} looks next, and when an election is due: a timeout drawn
 * uniformly from {@code [electionTimeoutMin, electionTimeoutMax]} for each silence, that is, anew
 * whenever the follower has heard from a leader again (Ratis's record of its last leader RPC is a
 * new object then), and measured from that last RPC. So a dead leader is noticed between {@code
 * min} and {@code max} after its last message reached the follower, and never before {@code min}
 * (docs/lease.md, step 2): a timeout is never shorter than {@code min}, and after a look that came
 * too late (the thread was starved or the process paused, by more than Ratis's sleep deviation
 * threshold) the next election is due one fresh timeout from that look, as Ratis's own timer does,
 * never sooner. Pure: time is passed in, so tests drive it by hand. Used by one thread.
 */
final class ElectionDeadline {
  private final long minNanos;
  private final long maxNanos;
  private final LongSupplier uniform;

  // The last-RPC record this deadline was drawn for, and the silence (nanoseconds since that RPC)
  // at which an election is due.
  private @Nullable Object armedFor;
  private long dueAtSilence;

  /**
   * @param uniform draws a value in {@code [0, maxNanos - minNanos]}
   */
  ElectionDeadline(long minNanos, long maxNanos, LongSupplier uniform) {
    if (minNanos <= 0 || maxNanos < minNanos) {
      throw new IllegalArgumentException(
          "election timeouts must satisfy 0 < min <= max, got " + minNanos + ", " + maxNanos);
    }
    this.minNanos = minNanos;
    this.maxNanos = maxNanos;
    this.uniform = uniform;
  }

  /**
   * How long to wait, from now, before the election is due, for a follower whose last leader RPC is
   * {@code lastRpc} (compared by identity), {@code silenceNanos} ago; 0 when it is due now.
   */
  long waitNanos(Object lastRpc, long silenceNanos) {
    if (lastRpc != armedFor) {
      armedFor = lastRpc;
      dueAtSilence = draw();
    }
    return Math.max(0, dueAtSilence - silenceNanos);
  }

  /**
   * The look at {@code silenceNanos} came late (or found the election not startable): the next one
   * is due a fresh timeout from now.
   */
  void deferFrom(long silenceNanos) {
    dueAtSilence = silenceNanos + draw();
  }

  /** The silence at which the election is due now (at least {@code min}). */
  long dueAtSilence() {
    return dueAtSilence;
  }

  private long draw() {
    long spread = maxNanos - minNanos;
    long r = spread == 0 ? 0 : Math.floorMod(uniform.getAsLong(), spread + 1);
    return minNanos + r;
  }
}
