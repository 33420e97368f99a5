package dev.baton.core.internal;

import dev.baton.core.Member;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code baton_member_up} gauges: one per member the cluster knows, up as this node sees it.
 */
final class MemberGauges {
  // The node's logger, as in NodeRuntime.
  private static final Logger LOG = LoggerFactory.getLogger("dev.baton.core.BatonNode");

  private final NodeConfig config;
  private final RaftNode raft;
  private final NodeMetrics metrics;
  private final Supplier<List<Member>> members;

  MemberGauges(
      NodeConfig config, RaftNode raft, NodeMetrics metrics, Supplier<List<Member>> members) {
    this.config = config;
    this.raft = raft;
    this.metrics = metrics;
    this.members = members;
  }

  /** One gauge per member the cluster knows now; never throws. */
  void sync() {
    try {
      metrics.members(members.get().stream().map(Member::id).toList(), this::memberUp);
    } catch (RuntimeException e) {
      LOG.debug("node {}: member gauges not updated: {}", config.self().id(), e.toString());
    }
  }

  /**
   * Whether member {@code id} is up as this node sees it: 1 or 0, or NaN when this node cannot
   * tell. This node is up while its Raft server runs. The leader counts a follower up when it
   * answered within the maximum election timeout; a follower counts the leader up when it heard
   * from it within that time, and cannot tell about the other followers (it hears only from the
   * leader), nor, without a leader, about anyone but itself.
   */
  double memberUp(String id) {
    try {
      if (!raft.alive()) {
        return id.equals(config.self().id()) ? 0 : Double.NaN;
      }
      if (id.equals(config.self().id())) {
        return 1;
      }
      PeerContact contact = raft.peerContacts().get(id);
      if (contact != null) {
        return contact.up() ? 1 : 0;
      }
      return raft.isLeader() ? 0 : Double.NaN;
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }
}
