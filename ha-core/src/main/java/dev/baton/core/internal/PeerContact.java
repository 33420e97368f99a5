package dev.baton.core.internal;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.RaftPeerId;

/**
 * How long ago a peer last answered this node, and whether that makes it up. This is the one "up"
 * rule behind the health hand-over's target, the step-down choice and {@code baton_member_up}: a
 * peer is up when it answered within {@code electionTimeoutMax}. A peer silent for longer is one a
 * leadership transfer would not reach before it timed out.
 *
 * @param sinceLastAnswer how long ago the peer last answered an RPC of this node
 * @param up whether it answered within {@code electionTimeoutMax}
 */
public record PeerContact(Duration sinceLastAnswer, boolean up) {

  /**
   * The contacts {@code info} shows, judged against {@code upBound}: on a leader each follower's,
   * on a follower its leader's ({@code leaderId}, null when it knows none), otherwise none.
   */
  static Map<String, PeerContact> of(RoleInfoProto info, RaftPeerId leaderId, Duration upBound) {
    Map<String, PeerContact> out = new HashMap<>();
    if (info.hasLeaderInfo()) {
      for (var f : info.getLeaderInfo().getFollowerInfoList()) {
        out.put(
            RaftPeerId.valueOf(f.getId().getId()).toString(),
            judged(f.getLastRpcElapsedTimeMs(), upBound));
      }
    } else if (leaderId != null
        && info.hasFollowerInfo()
        && info.getFollowerInfo().hasLeaderInfo()) {
      out.put(
          leaderId.toString(),
          judged(info.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs(), upBound));
    }
    return out;
  }

  private static PeerContact judged(long ageMillis, Duration upBound) {
    return new PeerContact(Duration.ofMillis(ageMillis), ageMillis <= upBound.toMillis());
  }
}
