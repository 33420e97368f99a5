package dev.baton.core.internal;

import java.util.concurrent.TimeUnit;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;

/**
 * Ratis's gRPC log appender for one follower, except that it does not spin while that follower does
 * not answer. Ratis 3.3's appender waits 0 ms between turns while its stream to the follower is
 * down and the follower is not yet "slow" ({@code raft.server.rpc.slowness.timeout}, 60 s), and
 * each turn rebuilds a request: with one follower of three down (a lost region) the leader spent
 * 29–40 % of a core in that thread for as long as the follower stayed down ({@code
 * scripts/idle-cost --down}, README "The appender's gap with a follower down"). Here, once the
 * follower has not answered for the minimum election timeout, a turn that Ratis would start at once
 * waits for the next heartbeat, at most {@link #PACE_MS}; the wait ends early when there is
 * something to send (Ratis signals new entries and heartbeat requests as before). A follower that
 * answers is never paced, and the replies that renew the lease come from the followers that answer,
 * so neither the lease nor a live follower's replication changes; a follower that comes back is
 * reached within {@link #PACE_MS}.
 */
final class PacedLogAppender extends GrpcLogAppender {
  /** The longest a turn to a silent follower waits, in milliseconds. */
  static final long PACE_MS = 100;

  private final long silentMs;

  PacedLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo follower) {
    super(server, state, follower);
    this.silentMs =
        RaftServerConfigKeys.Rpc.timeoutMin(server.getRaftServer().getProperties())
            .toLong(TimeUnit.MILLISECONDS);
  }

  @Override
  public long getWaitTimeMs() {
    long wait = super.getWaitTimeMs();
    if (wait > 0 || getFollower().getLastRpcResponseTime().elapsedTimeMs() <= silentMs) {
      return wait;
    }
    return Math.max(1, Math.min(getHeartbeatWaitTimeMs(), PACE_MS));
  }
}
