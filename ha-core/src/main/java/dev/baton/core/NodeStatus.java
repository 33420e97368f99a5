package dev.baton.core;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A snapshot of one node's view of the cluster, for status pages, the CLI and tests.
 *
 * @param clusterId the cluster
 * @param nodeId this node
 * @param role this node's role now
 * @param token this node's token when active or promoting, else 0
 * @param term the current Raft term as this node knows it
 * @param leaderId the Raft leader as this node knows it, if any
 * @param activeNodeId the node of the newest activation this node has applied, if any
 * @param activeToken the token of that activation, or 0
 * @param highestToken the highest token ever issued, as this node has applied
 * @param leaseRemaining what remains of this node's lease (zero when not active)
 * @param members the members and what this node knows of them
 * @param promotion the promotion plan's progress on this node
 */
public record NodeStatus(
    String clusterId,
    String nodeId,
    Role role,
    long token,
    long term,
    Optional<String> leaderId,
    Optional<String> activeNodeId,
    long activeToken,
    long highestToken,
    Duration leaseRemaining,
    List<MemberStatus> members,
    PromotionStatus promotion) {

  /**
   * A member as this node sees it.
   *
   * @param member the member's configuration
   * @param leader whether it is the Raft leader as this node knows
   * @param active whether it holds the newest activation this node has applied
   * @param inConfiguration whether it is in the current Raft configuration
   */
  public record MemberStatus(
      Member member, boolean leader, boolean active, boolean inConfiguration) {}
}
