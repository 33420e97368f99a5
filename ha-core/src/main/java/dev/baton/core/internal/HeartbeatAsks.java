package dev.baton.core.internal;

import java.util.OptionalLong;

/**
 * When an active asks Ratis for an AppendEntries round, and of whom (step 1 of docs/lease.md):
 * every {@code renewInterval} while it holds the role, of a majority's worth of followers only
 * (rotating) when the previous ask renewed the lease, of every follower otherwise, and widened to
 * every follower when the followers asked have not made a majority within a tick. Who is asked
 * never changes what renews the lease ({@link RaftNode#majorityAckedSendTime(long)}, read by the
 * {@link RoleController}), only how many followers an idle cluster keeps busy. Used only by the
 * role controller's thread.
 */
final class HeartbeatAsks {
  private final RaftNode raft;
  private final long renewNanos;
  private final long tickNanos;

  // When this node last asked Ratis for heartbeats (every renewInterval while holding the role).
  private long askedAt;
  // Whether the last ask went to only a majority's worth of followers and has not yet been either
  // answered by a majority or widened to every follower.
  private boolean partialAskOpen;

  HeartbeatAsks(RaftNode raft, long renewNanos, long tickNanos) {
    this.raft = raft;
    this.renewNanos = renewNanos;
    this.tickNanos = tickNanos;
  }

  /** An activation's entry went out at {@code sent}: it counts as the first ask. */
  void activationSent(long sent) {
    askedAt = sent;
    partialAskOpen = false;
  }

  /** Asks for the next round if it is due, for the activation of {@code term}. */
  void maybeAsk(long now, long term) {
    if (now - askedAt >= renewNanos) {
      // Asked of a majority only (rotating) when the previous ask renewed the lease, that is when a
      // round built after it has a majority's acknowledgement; of every follower otherwise.
      boolean previousRenewed = renewedSince(term, askedAt);
      askedAt = now;
      partialAskOpen = previousRenewed;
      raft.triggerHeartbeats(!previousRenewed);
    } else if (partialAskOpen && now - askedAt >= tickNanos) {
      // The followers asked have not made a majority within a tick: ask every follower now, so
      // that a slow or dead follower costs the lease at most one tick more than asking all.
      partialAskOpen = false;
      if (!renewedSince(term, askedAt)) {
        raft.triggerHeartbeats(true);
      }
    }
  }

  /** Whether a round built at or after {@code since} has a majority's acknowledgement. */
  private boolean renewedSince(long term, long since) {
    OptionalLong acked = raft.majorityAckedSendTime(term);
    return acked.isPresent() && acked.getAsLong() - since >= 0;
  }
}
