package dev.baton.core.internal;

import dev.baton.core.internal.proto.SwitchRequest;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether the active may hand the role to a switch's target now (step 4 of docs/lease.md):
 * once the target has acknowledged (SUCCESS, this term) a request sent after the active saw the
 * switch, so its Raft server runs, and holds every entry this leader had when it saw the switch
 * (its match index, from Ratis's {@code FollowerInfo}), or once {@code 2 × electionTimeoutMax} (the
 * transfer's own timeout) has passed without that. A target restarted a moment ago has not started
 * its Raft server yet (it keeps quiet for {@code electionTimeoutMin}, step 3), and once it has, it
 * still lacks what was written while it was down: demoting at once and transferring to it left the
 * cluster with no active until the transfer reached it and it caught up, or timed out. Waiting
 * keeps the active active meanwhile (its lease renewed as usual), so the gap a switch costs is
 * about the same for a cold target as for a warm one: the transfer then sends the few entries
 * written since (the resignation) before it asks the target to run. Used only by the role
 * controller's thread.
 */
final class SwitchTargetReadiness {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final String self;
  private final RaftNode raft;
  private final long renewNanos;
  private final long boundNanos;

  // The switch request last seen: since when, and when this node last asked for heartbeats while
  // its target had not answered.
  private String seenId = "";
  private long seenAt;
  private long seenIndex;
  private long askedAt;
  private boolean waitLogged;

  SwitchTargetReadiness(NodeConfig config, RaftNode raft, long renewNanos) {
    this.self = config.self().id();
    this.raft = raft;
    this.renewNanos = renewNanos;
    this.boundNanos = config.timing().electionTimeoutMax().multipliedBy(2).toNanos();
  }

  /**
   * Whether the target of {@code pending} has answered (or the bound has passed) at {@code now}, in
   * the active's {@code term}. Asks every follower for a heartbeat when it first sees the switch
   * and every {@code renewInterval} while the target is silent.
   */
  boolean targetAnswers(SwitchRequest pending, long now, long term) {
    if (!pending.getRequestId().equals(seenId)) {
      seenId = pending.getRequestId();
      seenAt = now;
      seenIndex = raft.lastLogIndex();
      askedAt = now;
      waitLogged = false;
      raft.triggerHeartbeats(true);
    }
    String target = pending.getTargetNodeId();
    OptionalLong acked = raft.acknowledgedBy(target, term);
    if (acked.isPresent()
        && acked.getAsLong() - seenAt >= 0
        && raft.matchIndex(target, term) >= seenIndex) {
      return true;
    }
    long waited = now - seenAt;
    if (waited >= boundNanos) {
      LOG.warn(
          "{}: switch to {}: its Raft server has not answered, or not caught up (holds up to index"
              + " {}, this leader had {}), in {} ms; handing over anyway",
          self,
          target,
          raft.matchIndex(target, term),
          seenIndex,
          TimeUnit.NANOSECONDS.toMillis(waited));
      return true;
    }
    if (!waitLogged && waited > 0) {
      // Not answered at the first look after the switch was seen: a cold target, say so once.
      waitLogged = true;
      LOG.info(
          "{}: switch to {}: staying active until its Raft server answers and holds index {} (at"
              + " most {} ms)",
          self,
          target,
          seenIndex,
          TimeUnit.NANOSECONDS.toMillis(boundNanos));
    }
    if (now - askedAt >= renewNanos) {
      askedAt = now;
      raft.triggerHeartbeats(true);
    }
    return false;
  }
}
