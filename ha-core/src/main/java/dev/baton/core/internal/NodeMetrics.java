package dev.baton.core.internal;

import dev.baton.core.BuildInfo;
import dev.baton.core.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** The node's Micrometer meters (names start with {@code baton.}). */
public final class NodeMetrics {
  private final AtomicLong term = new AtomicLong();
  private final AtomicLong lastToken = new AtomicLong();
  private final AtomicLong roleCode = new AtomicLong();
  private final Counter activations;
  private final Counter failovers;
  private final Counter demotions;
  private final MeterRegistry registry;
  private final Tags tags;
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();

  public NodeMetrics(
      MeterRegistry registry, String clusterId, String nodeId, Supplier<Double> leaseSeconds) {
    Tags tags = Tags.of("cluster", clusterId, "node", nodeId);
    this.registry = registry;
    this.tags = tags;
    Gauge.builder("baton.role.active", roleCode, v -> v.get() == 1 ? 1 : 0)
        .description("1 while this node is active, else 0")
        .tags(tags)
        .register(registry);
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
