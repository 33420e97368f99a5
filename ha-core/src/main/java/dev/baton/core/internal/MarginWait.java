package dev.baton.core.internal;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides when a committed activation takes the role: only with margin (step 1 of docs/lease.md).
 * The role is taken when at least {@code reserve + (lease - reserve) / 2} of the lease is left:
 * half of what the lease holds above the demotion reserve, so that one more round taking as long as
 * the one that gave the lease still renews it before the reserve. Otherwise the activation waits,
 * the node still leader and holding no role, and asks every follower for heartbeat rounds until one
 * that a majority acknowledged in the activation's term leaves that much. This only ever makes a
 * lease start later, never longer than what a majority acknowledged. Used only by the role
 * controller's thread.
 */
final class MarginWait {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  /** The role to take now: activation {@code a}'s lease runs from {@code start}. */
  record Take(RoleController.Activation activation, long start, long waitedNanos) {}

  /** A committed activation whose lease had too little left to take the role with. */
  private record Waiting(RoleController.Activation activation, long sent, long committedAt) {}

  private final String self;
  private final RaftNode raft;
  private final MonotonicClock clock;
  private final long leaseNanos;
  private final long renewNanos;
  private final long marginNanos;

  // Null while no activation waits.
  private @Nullable Waiting waiting;
  // When the waiting activation last asked for a heartbeat round.
  private long askedAt;

  MarginWait(
      String self,
      RaftNode raft,
      MonotonicClock clock,
      long leaseNanos,
      long reserveNanos,
      long renewNanos) {
    this.self = self;
    this.raft = raft;
    this.clock = clock;
    this.leaseNanos = leaseNanos;
    this.renewNanos = renewNanos;
    this.marginNanos = reserveNanos + (leaseNanos - reserveNanos) / 2;
  }

  /** Whether a committed activation waits for margin. */
  boolean isWaiting() {
    return waiting != null;
  }

  /**
   * Activation {@code a}, proposed at {@code sent}, has committed: the role to take now, or empty
   * if it waits for margin (then {@link #step} decides, every step of the controller).
   */
  Optional<Take> committed(RoleController.Activation a, long sent) {
    // The lease runs from the activation's send, or from a later round a majority acknowledged in
    // this term (the entry's own, a heartbeat), whichever is later: never longer than what a
    // majority acknowledged (docs/lease.md, step 1).
    long start = later(sent, raft.majorityAckedSendTime(a.term()));
    long left = start + leaseNanos - clock.nanoTime();
    if (left < marginNanos) {
      // Under load (a JVM that has just started, busy cores) the commit can take most of the
      // lease: taking the role now would give it up again within a step or two, with a demotion
      // racing what is left. Wait, holding no role, for a round acknowledged in time.
      waiting = new Waiting(a, sent, clock.nanoTime());
      askedAt = clock.nanoTime();
      LOG.info(
          "{}: activation with token {} committed {} ms after it was sent, leaving {} ms of lease"
              + " (less than {} ms): not taking the role until a heartbeat round leaves more",
          self,
          a.token(),
          TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - sent),
          Math.max(0, TimeUnit.NANOSECONDS.toMillis(left)),
          TimeUnit.NANOSECONDS.toMillis(marginNanos));
      raft.triggerHeartbeats(true);
      return Optional.empty();
    }
    return Optional.of(new Take(a, start, 0));
  }

  /**
   * While an activation waits: the role to take once a round that a majority acknowledged in the
   * activation's term leaves at least the margin, else empty after asking every follower for
   * another round. Leadership lost, another term or {@code stopping} (closing) end the wait without
   * taking the role: no effect of the activation has run, and the next activation (by this node or
   * another) has a larger token.
   */
  Optional<Take> step(boolean leader, long term, boolean stopping) {
    Waiting w =
        Objects.requireNonNull(
            waiting, "the role controller steps the wait only while isWaiting()");
    RoleController.Activation a = w.activation();
    if (!leader || term != a.term() || stopping) {
      waiting = null;
      LOG.info(
          "{}: activation with token {} not taken: {}",
          self,
          a.token(),
          stopping ? "closing" : "leadership lost while waiting for lease margin");
      return Optional.empty();
    }
    long start = later(w.sent(), raft.majorityAckedSendTime(a.term()));
    long now = clock.nanoTime();
    if (start + leaseNanos - now >= marginNanos) {
      waiting = null;
      return Optional.of(new Take(a, start, now - w.committedAt()));
    }
    // The next round: once the last one has been answered by a majority, or every renewInterval
    // while it is not (a slow cluster is not asked for more than it can answer).
    if (start - askedAt >= 0 || now - askedAt >= renewNanos) {
      askedAt = now;
      raft.triggerHeartbeats(true);
    }
    return Optional.empty();
  }

  private static long later(long sent, OptionalLong acked) {
    return acked.isPresent() && acked.getAsLong() - sent > 0 ? acked.getAsLong() : sent;
  }
}
