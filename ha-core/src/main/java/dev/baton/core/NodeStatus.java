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
 * @param token this node's token when active or promoting, else {@link BatonNode#NO_TOKEN}
 * @param term the current Raft term as this node knows it
 * @param leaderId the Raft leader as this node knows it, if any
 * @param activeNodeId the node of the newest activation this node has applied, if any
 * @param activeToken the token of that activation, or 0
 * @param highestToken the highest token ever issued, as this node has applied
 * @param leaseRemaining what remains of this node's lease (zero when not active)
 * @param members the members and what this node knows of them
 * @param promotion the promotion plan's progress on this node
 * @param health this node's health checks and what it knows of its peers' health
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
    PromotionStatus promotion,
    Health health) {

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

  /**
   * Health gating as this node sees it (see {@code BatonNode.Builder#healthChecks}).
   *
   * @param enabled whether this node runs health checks at all (false: the rest says healthy)
   * @param eligible every check is up: this node may become active
   * @param handOver a demoting check is down: as active, this node hands the role over
   * @param checks each check with its last answer
   * @param members each member's health as it last published it (a member that never published
   *     counts as eligible), by member id
   * @param note what health gating is doing about it now, empty when nothing: e.g. {@code "stays
   *     active: no healthy peer"}, {@code "not activating: unhealthy; handing leadership to n2"},
   *     or, while {@link Maintenance maintenance mode} holds an unhealthy active, {@code "stays
   *     active: unhealthy, but maintenance mode is on and suspends health moves (…)"}
   */
  public record Health(
      boolean enabled,
      boolean eligible,
      boolean handOver,
      List<Check> checks,
      java.util.Map<String, Boolean> members,
      String note) {}

  /**
   * One health check's state.
   *
   * @param name the check's name
   * @param demotes whether its failure makes an active hand over (else it gates eligibility only)
   * @param up whether it counts as up under the health policy
   * @param probed whether it has answered at least once
   * @param lastHealthy its last answer
   * @param lastReason why the last answer was unhealthy (empty when healthy)
   */
  public record Check(
      String name,
      boolean demotes,
      boolean up,
      boolean probed,
      boolean lastHealthy,
      String lastReason) {}
}
