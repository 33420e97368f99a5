package dev.baton.core;

import java.time.Duration;

/**
 * The timing of elections and of the active's lease, checked against the lease argument
 * (docs/lease.md) when it is built.
 *
 * <p>{@code lease = electionTimeoutMin × (1 − clockDrift) − leaseMargin}: a new leader cannot be
 * elected until followers have not heard from the old one for {@code electionTimeoutMin} on their
 * own clocks, which, with clock rates within {@code clockDrift} of each other, is never sooner than
 * {@code lease} after the old active sent the round that renewed its lease.
 *
 * @param electionTimeoutMin a follower waits at least this long without hearing from a leader
 *     before it seeks election, and refuses to vote for this long after hearing from one
 * @param electionTimeoutMax the upper end of the randomised election timeout: a follower seeks
 *     election between {@code electionTimeoutMin} and this long after it last heard from a leader
 * @param clockDrift the bound on how much clock <em>rates</em> may differ between nodes (0.01 = 1%)
 * @param leaseMargin subtracted from the lease for scheduling delays between a clock read and the
 *     send that follows it
 * @param renewInterval how often the active renews its lease
 * @param demotionReserve the active starts demoting when less than this remains of its lease and no
 *     renewal has succeeded, so that demotion ends before the lease does
 */
public record Timing(
    Duration electionTimeoutMin,
    Duration electionTimeoutMax,
    double clockDrift,
    Duration leaseMargin,
    Duration renewInterval,
    Duration demotionReserve) {

  /**
   * The defaults: elections after 0.8–1.2 s of silence, 1% drift, 100 ms margin (lease 692 ms),
   * renewal every 150 ms, demotion starting with 250 ms of lease left.
   */
  public static final Timing DEFAULTS =
      new Timing(
          Duration.ofMillis(800),
          Duration.ofMillis(1200),
          0.01,
          Duration.ofMillis(100),
          Duration.ofMillis(150),
          Duration.ofMillis(250));

  public Timing {
    require(electionTimeoutMin, "electionTimeoutMin");
    require(electionTimeoutMax, "electionTimeoutMax");
    require(leaseMargin, "leaseMargin");
    require(renewInterval, "renewInterval");
    require(demotionReserve, "demotionReserve");
    if (electionTimeoutMin.toMillis() < 50) {
      throw new IllegalArgumentException(
          "electionTimeoutMin " + electionTimeoutMin.toMillis() + " ms is below the 50 ms minimum");
    }
    if (electionTimeoutMax.compareTo(electionTimeoutMin) <= 0) {
      throw new IllegalArgumentException(
          "electionTimeoutMax ("
              + electionTimeoutMax.toMillis()
              + " ms) must be greater than electionTimeoutMin ("
              + electionTimeoutMin.toMillis()
              + " ms): the randomised gap keeps elections from colliding");
    }
    if (!(clockDrift >= 0 && clockDrift < 0.5)) {
      throw new IllegalArgumentException(
          "clockDrift " + clockDrift + " is outside [0, 0.5): it is a rate bound such as 0.01");
    }
    if (leaseMargin.isNegative()) {
      throw new IllegalArgumentException(
          "leaseMargin " + leaseMargin + " is negative: the lease may never exceed its bound");
    }
    long leaseMs = leaseMillis(electionTimeoutMin, clockDrift, leaseMargin);
    if (leaseMs <= 0) {
      throw new IllegalArgumentException(
          "the lease (electionTimeoutMin × (1 − clockDrift) − leaseMargin = "
              + leaseMs
              + " ms) must be positive: lower leaseMargin or raise electionTimeoutMin");
    }
    if (renewInterval.isZero() || renewInterval.isNegative()) {
      throw new IllegalArgumentException("renewInterval must be positive, got " + renewInterval);
    }
    if (demotionReserve.isZero() || demotionReserve.isNegative()) {
      throw new IllegalArgumentException(
          "demotionReserve must be positive, got " + demotionReserve);
    }
    if (demotionReserve.toMillis() >= leaseMs) {
      throw new IllegalArgumentException(
          "demotionReserve ("
              + demotionReserve.toMillis()
              + " ms) must be shorter than the lease ("
              + leaseMs
              + " ms)");
    }
    if (renewInterval.toMillis() * 2 > leaseMs - demotionReserve.toMillis()) {
      throw new IllegalArgumentException(
          "renewInterval ("
              + renewInterval.toMillis()
              + " ms) is too long: two renewals must fit in the lease minus demotionReserve ("
              + (leaseMs - demotionReserve.toMillis())
              + " ms), or one slow round would demote the active");
    }
  }

  /** The lease: how long after sending a round that a majority acknowledged the active may act. */
  public Duration lease() {
    return Duration.ofMillis(leaseMillis(electionTimeoutMin, clockDrift, leaseMargin));
  }

  /**
   * The documented bound on unplanned failover (the active's process dies, a majority stays
   * connected) until another node has won the role: {@code 2 × electionTimeoutMax +
   * electionTimeoutMin} (3.2 s with the defaults).
   *
   * <p>Detection: each follower's election timer starts an election (pre-vote first) once it has
   * heard nothing from the leader for a timeout drawn anew from {@code [electionTimeoutMin,
   * electionTimeoutMax]} after each message, so a dead leader is noticed between {@code
   * electionTimeoutMin} and {@code electionTimeoutMax} after its last heartbeat, plus the timer
   * thread's scheduling delay, and never before {@code electionTimeoutMin} (docs/lease.md, step 2).
   * The bound keeps {@code 2 × electionTimeoutMax} for what that timer does not cover: Ratis's own
   * follower timer, which still runs beside it, sleeps one whole randomised timeout and only then
   * checks, so on its own (a Ratis whose members the timer cannot reach, a WARN at start; a look
   * that came late and was skipped, as Ratis skips its own) it notices between {@code
   * electionTimeoutMin} and {@code 2 × electionTimeoutMax}. The last term covers the pre-vote and
   * vote rounds, the new leader's first commits, and one split vote. Promotion actions come on top.
   * Measured figures are in the README ({@code InJvmFailover} in benchmarks; {@code
   * scripts/detection} side by side with another build).
   */
  public Duration failoverBound() {
    return electionTimeoutMax.multipliedBy(2).plus(electionTimeoutMin);
  }

  /** A copy with other election timeouts; the other settings scale with the minimum. */
  public static Timing scaledTo(Duration electionTimeoutMin, Duration electionTimeoutMax) {
    double f = electionTimeoutMin.toMillis() / (double) DEFAULTS.electionTimeoutMin.toMillis();
    return new Timing(
        electionTimeoutMin,
        electionTimeoutMax,
        DEFAULTS.clockDrift,
        Duration.ofMillis(Math.round(DEFAULTS.leaseMargin.toMillis() * f)),
        Duration.ofMillis(Math.max(1, Math.round(DEFAULTS.renewInterval.toMillis() * f))),
        Duration.ofMillis(Math.max(1, Math.round(DEFAULTS.demotionReserve.toMillis() * f))));
  }

  private static long leaseMillis(Duration min, double drift, Duration margin) {
    return (long) Math.floor(min.toMillis() * (1 - drift)) - margin.toMillis();
  }

  private static void require(Duration d, String name) {
    if (d == null) {
      throw new IllegalArgumentException(name + " must be set");
    }
  }
}
