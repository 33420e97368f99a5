package dev.baton.core.internal;

import dev.baton.core.BuildInfo;
import dev.baton.core.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The node's Micrometer meters (names start with {@code baton.}).
 *
 * <p>Every meter carries the labels {@code baton_cluster} and {@code baton_node}, which do not
 * collide with the target labels Prometheus sets at scrape time, and, deprecated since 0.3 and
 * removable from 0.4, the old {@code cluster} and {@code node} (see COMPATIBILITY.md).
 */
public final class NodeMetrics {
  /** The cluster label; unlike {@code cluster} it does not collide with target labels. */
  public static final String CLUSTER_LABEL = "baton_cluster";

  /** The node label; unlike {@code node} it does not collide with target labels. */
  public static final String NODE_LABEL = "baton_node";

  /**
   * The labels every node meter carries: {@link #CLUSTER_LABEL}, {@link #NODE_LABEL}, and the
   * deprecated {@code cluster}, {@code node} (exported beside the new ones until 0.4).
   */
  public static Tags nodeTags(String clusterId, String nodeId) {
    return Tags.of(CLUSTER_LABEL, clusterId, NODE_LABEL, nodeId, "cluster", clusterId)
        .and("node", nodeId);
  }

  private final AtomicLong term = new AtomicLong();
  private final AtomicLong lastToken = new AtomicLong();
  private final AtomicLong roleCode = new AtomicLong();
  private final Counter activations;
  private final Counter failovers;
  private final Counter demotions;
  private final Counter leaseLapses;
  private final MeterRegistry registry;
  private final Tags tags;
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();
  private final Map<String, Gauge> memberUp = new ConcurrentHashMap<>();

  /**
   * @param leaseSeconds seconds of lease left, for {@code baton_lease_remaining_seconds}
   * @param role the node's role now, for {@code baton_role{role}}
   */
  public NodeMetrics(
      MeterRegistry registry,
      String clusterId,
      String nodeId,
      Supplier<Double> leaseSeconds,
      Supplier<Role> role) {
    Tags tags = nodeTags(clusterId, nodeId);
    this.registry = registry;
    this.tags = tags;
    Gauge.builder("baton.role.active", roleCode, v -> v.get() == 1 ? 1 : 0)
        .description("1 while this node is active, else 0")
        .tags(tags)
        .register(registry);
    // An enum gauge: one series per role, 1 for the role the node is in now, 0 for the others.
    for (Role r : Role.values()) {
      Gauge.builder("baton.role", role, s -> s.get() == r ? 1 : 0)
          .strongReference(true)
          .description(
              "1 for the role this node is in now (standby, promoting, active, demoting, witness,"
                  + " stopped), 0 for the others")
          .tags(tags)
          .tag("role", r.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
    BuildInfo build = BuildInfo.current();
    Gauge.builder("baton.build.info", () -> 1)
        .description("always 1; the labels say which Baton this node runs")
        .tags(tags.and("version", build.version(), "commit", build.commit()))
        .register(registry);
    Gauge.builder("baton.token", lastToken, AtomicLong::get)
        .description("fencing token of this node's latest activation")
        .tags(tags)
        .register(registry);
    Gauge.builder("baton.raft.term", term, AtomicLong::get)
        .description("current Raft term as this node knows it")
        .tags(tags)
        .register(registry);
    // Micrometer holds a gauge's object weakly: keep the supplier strongly referenced or the
    // gauge reads NaN once the lambda is collected.
    Gauge.builder("baton.lease.remaining", leaseSeconds, Supplier::get)
        .strongReference(true)
        .description("seconds of lease left (0 when not active)")
        .baseUnit("seconds")
        .tags(tags)
        .register(registry);
    activations =
        Counter.builder("baton.activations")
            .description("times this node won the role")
            .tags(tags)
            .register(registry);
    failovers =
        Counter.builder("baton.failovers")
            .description("activations of this node that took over from another node")
            .tags(tags)
            .register(registry);
    demotions =
        Counter.builder("baton.demotions")
            .description("times this node gave the role up")
            .tags(tags)
            .register(registry);
    leaseLapses =
        Counter.builder("baton.lease.lapses")
            .description(
                "times this node, active or promoting, gave the role up because its lease could"
                    + " not be renewed in time (standby reason LEASE_EXPIRING)")
            .tags(tags)
            .register(registry);
  }

  /** {@code baton_lease_lapses_total}: this node's lease ran out before a renewal reached it. */
  void leaseLapsed() {
    leaseLapses.increment();
  }

  /**
   * An entry the state machine would not accept ({@code baton_raft_entries_rejected_total}):
   * refused on the leader before it was appended ({@code stage="admission"}), or (defence in depth)
   * skipped when a committed one was applied ({@code stage="apply"}).
   */
  public void entryRejected(String stage, String reason) {
    rejected
        .computeIfAbsent(
            stage + "|" + reason,
            k ->
                Counter.builder("baton.raft.entries.rejected")
                    .description(
                        "Raft entries refused by the state machine (unreadable, unknown, or a role"
                            + " entry from outside the leader's own process)")
                    .tags(tags)
                    .tag("stage", stage)
                    .tag("reason", reason)
                    .register(registry))
        .increment();
  }

  /** A call or TLS handshake the Raft port refused ({@code baton_raft_refused_total}). */
  public void raftRefused(String kind) {
    refused
        .computeIfAbsent(
            kind,
            k ->
                Counter.builder("baton.raft.refused")
                    .description(
                        "calls and TLS handshakes the Raft port refused (admin calls, non-members,"
                            + " impersonation)")
                    .tags(tags)
                    .tag("kind", k)
                    .register(registry))
        .increment();
  }

  /**
   * {@code baton_health_check_up{check=...}}: 1 while the check counts as up under the health
   * policy, else 0.
   */
  void healthCheck(String check, Supplier<Boolean> up) {
    Gauge.builder("baton.health.check.up", up, u -> u.get() ? 1 : 0)
        .strongReference(true)
        .description("1 while this health check counts as up, else 0")
        .tags(tags)
        .tag("check", check)
        .register(registry);
  }

  /**
   * Keeps one {@code baton_member_up{member}} gauge per member in {@code ids}: registers the new
   * ones, removes those of members no longer there. {@code up} answers 1 (up as this node sees it),
   * 0 (down) or NaN (this node cannot tell).
   */
  void members(Collection<String> ids, ToDoubleFunction<String> up) {
    for (String id : ids) {
      memberUp.computeIfAbsent(
          id,
          m ->
              Gauge.builder("baton.member.up", () -> up.applyAsDouble(m))
                  .description(
                      "1 when the member is up as this node sees it, 0 when it is not, NaN when"
                          + " this node cannot tell (a follower hears only from the leader)")
                  .tags(tags)
                  .tag("member", m)
                  .register(registry));
    }
    memberUp
        .keySet()
        .removeIf(
            id -> {
              if (ids.contains(id)) {
                return false;
              }
              registry.remove(memberUp.get(id));
              return true;
            });
  }

  /** {@code baton_health_moves_total}: role hand-overs this node made because of its health. */
  Counter healthMoves() {
    return Counter.builder("baton.health.moves")
        .description("times this node, active, handed the role over because of its health")
        .tags(tags)
        .register(registry);
  }

  void term(long t) {
    term.set(t);
  }

  void activated(long token, boolean tookOver) {
    lastToken.set(token);
    activations.increment();
    if (tookOver) {
      failovers.increment();
    }
  }

  void role(Role role) {
    roleCode.set(role == Role.ACTIVE ? 1 : 0);
    if (role == Role.DEMOTING) {
      demotions.increment();
    }
  }
}
