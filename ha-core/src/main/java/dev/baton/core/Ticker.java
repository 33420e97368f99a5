package dev.baton.core;

/**
 * The time source a node measures its lease with: nanoseconds from an arbitrary origin, like {@link
 * System#nanoTime()}, which is the default.
 *
 * <p>Only the <em>rate</em> of a ticker matters, never its value: a lease is a duration measured
 * from the moment a renewal round was sent. The lease argument (docs/lease.md) holds while every
 * node's ticker advances at a rate within {@link Timing#clockDrift()} of real time. A ticker must
 * never go backwards. Wall-clock time ({@link System#currentTimeMillis()}) is <em>not</em> a valid
 * ticker: NTP and operators step it.
 *
 * <p>Give a node another ticker to test it (a fake that a test advances by hand, or one that runs
 * fast or slow to show what drift beyond the bound does), as Caffeine's {@code Ticker} is given to
 * a cache. A ticker that does not advance at all removes the lease: the node then believes it is
 * active for as long as it thinks it leads. Baton's Jepsen-style suite does exactly that in its
 * self-test, to show that its checkers catch the split brain that follows; never do it elsewhere.
 *
 * <p>What no ticker can fix: {@code CLOCK_MONOTONIC}, behind {@code System.nanoTime()} on Linux,
 * stops while the host is suspended and during some VM freezes. A node frozen that way cannot tell
 * that time passed, and its lease outlives the real one; only the fences (invariant I3) hold then.
 */
@FunctionalInterface
public interface Ticker {

  /** Nanoseconds since an arbitrary origin; never decreases. */
  long read();

  /** {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
