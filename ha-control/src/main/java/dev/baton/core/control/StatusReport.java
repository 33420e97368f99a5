package dev.baton.core.control;

import dev.baton.core.Maintenance;
import dev.baton.core.NodeStatus;
import dev.baton.core.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One node's status as the control API reports it ({@link BatonClient#statusReport()}): the node's
 * own view ({@link NodeStatus}, as {@code BatonNode.status()} gives it in process), and what the
 * serving node adds to it: its members' control addresses and probe results, the promotion steps
 * that keep working beside the role, and the cluster's maintenance mode.
 *
 * @param node the node's own view
 * @param peers for each member of {@code node.members()}, by member id: what the serving node's
 *     probes know of it
 * @param steps the promotion steps that work beside the role, each as it reports itself (a
 *     sidecar's dns step in mode converge, a postgres step's former-primary guard); empty when the
 *     node runs none
 * @param maintenance the cluster's maintenance mode as the node has applied it; empty from a server
 *     that does not report it
 */
public record StatusReport(
    NodeStatus node,
    Map<String, Peer> peers,
    List<StepState> steps,
    Optional<Maintenance> maintenance) {

  public StatusReport {
    Objects.requireNonNull(node, "node");
    peers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(peers));
    steps = List.copyOf(steps);
    Objects.requireNonNull(maintenance, "maintenance");
  }

  /** Whether the serving node reaches a member's control API. */
  public enum Reachability {
    /** The member is the node answering. */
    SELF,
    /** It answered the serving node's status probe recently. */
    REACHABLE,
    /** It did not answer the serving node's recent status probes. */
    UNREACHABLE,
    /**
     * The serving node does not know its control address, so it cannot probe it (also a value this
     * client does not know).
     */
    UNKNOWN
  }

  /**
   * A member as the serving node's probes see it.
   *
   * @param controlAddress the member's control API, {@code host:port}, when the serving node knows
   *     it
   * @param reachability whether the serving node reaches it
   * @param reportedRole the role it reported in the last probe it answered, if it ever did
   * @param reportedToken the token it reported then
   * @param lastSeen how long ago it last answered a probe; empty when it never did
   * @param probeError the last probe's error when {@link Reachability#UNREACHABLE}, else empty
   */
  public record Peer(
      Optional<String> controlAddress,
      Reachability reachability,
      Optional<Role> reportedRole,
      long reportedToken,
      Optional<Duration> lastSeen,
      String probeError) {}

  /**
   * One promotion step that works beside the role, as it reports itself.
   *
   * @param step the step's name, as in the plan
   * @param type {@code dns}, or {@code postgres-guard} for a postgres step's former-primary guard
   * @param state the step's own word for where it stands (for dns: IDLE, PENDING, CONVERGED,
   *     STOPPED; for postgres-guard, its last check's outcome)
   * @param done whether what the step moves points at this node for this activation
   * @param token the activation the state is for; 0 when IDLE
   * @param since the serving node's wall clock when the state began, for display; empty when IDLE
   * @param lasted how long the state has lasted, on the serving node's monotonic clock
   * @param attempts tries in this activation
   * @param lastError the last failed try's reason in this activation, if any
   * @param lastErrorAt when it failed (the serving node's wall clock), if known
   * @param targets what the step moves, and where to
   */
  public record StepState(
      String step,
      String type,
      String state,
      boolean done,
      long token,
      Optional<Instant> since,
      Duration lasted,
      int attempts,
      Optional<String> lastError,
      Optional<Instant> lastErrorAt,
      List<Target> targets) {
    public StepState {
      targets = List.copyOf(targets);
    }
  }

  /**
   * What a step moves.
   *
   * @param name e.g. a DNS name, absolute: {@code api.mgmt.example.com.}
   * @param pointsTo what it points to once moved to this node, e.g. {@code A 10.0.1.5}
   */
  public record Target(String name, List<String> pointsTo) {
    public Target {
      pointsTo = List.copyOf(pointsTo);
    }
  }
}
