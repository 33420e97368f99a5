package dev.baton.core.internal;

import dev.baton.core.BuildInfo;
import dev.baton.core.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * The node's Micrometer meters (names start with {@code baton.}).
 *
 * <p>Every meter carries the labels {@code baton_cluster} and {@code baton_node}, which do not
 * collide with the target labels Prometheus sets at scrape time, and, deprecated since 0.3 and
 * removable from 0.4, the old {@code cluster} and {@code node} (see COMPATIBILITY.md).
 *
 * <p>Every meter of the node is registered through this class (the plan's step meters too, {@link
 * StepOutcomes}), and {@link #close()} removes them all from the registry: Micrometer hands a meter
 * that is already registered to whoever registers the same name and labels again, so a node built
 * again with the same ids in a shared registry would otherwise report the closed node's gauges.
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
  private final Timer failoverTime;
  private final MeterRegistry registry;
  private final Tags tags;
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();
  private final Map<String, Gauge> memberUp = new ConcurrentHashMap<>();
  // Every meter registered for this node, by id; guarded by this. Emptied, for good, by close().
  private final Map<Meter.Id, Meter> registered = new LinkedHashMap<>();
  private boolean closed;

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
    keep(
        Gauge.builder("baton.role.active", roleCode, v -> v.get() == 1 ? 1 : 0)
            .description("1 while this node is active, else 0")
            .tags(tags)
            .register(registry));
    // An enum gauge: one series per role, 1 for the role the node is in now, 0 for the others.
    for (Role r : Role.values()) {
      keep(
          Gauge.builder("baton.role", role, s -> s.get() == r ? 1 : 0)
              .strongReference(true)
              .description(
                  "1 for the role this node is in now (standby, promoting, active, demoting,"
                      + " witness, stopped), 0 for the others")
              .tags(tags)
              .tag("role", r.name().toLowerCase(Locale.ROOT))
              .register(registry));
    }
    BuildInfo build = BuildInfo.current();
    keep(
        Gauge.builder("baton.build.info", () -> 1)
            .description("always 1; the labels say which Baton this node runs")
            .tags(tags.and("version", build.version(), "commit", build.commit()))
            .register(registry));
    keep(
        Gauge.builder("baton.token", lastToken, AtomicLong::get)
            .description("fencing token of this node's latest activation")
            .tags(tags)
            .register(registry));
    keep(
        Gauge.builder("baton.raft.term", term, AtomicLong::get)
            .description("current Raft term as this node knows it")
            .tags(tags)
            .register(registry));
    // Micrometer holds a gauge's object weakly: keep the supplier strongly referenced or the
    // gauge reads NaN once the lambda is collected.
    keep(
        Gauge.builder("baton.lease.remaining", leaseSeconds, Supplier::get)
            .strongReference(true)
            .description("seconds of lease left (0 when not active)")
            .baseUnit("seconds")
            .tags(tags)
            .register(registry));
    activations =
        keep(
            Counter.builder("baton.activations")
                .description("times this node won the role")
                .tags(tags)
                .register(registry));
    failovers =
        keep(
            Counter.builder("baton.failovers")
                .description("activations of this node that took over from another node")
                .tags(tags)
                .register(registry));
    demotions =
        keep(
            Counter.builder("baton.demotions")
                .description("times this node gave the role up")
                .tags(tags)
                .register(registry));
    leaseLapses =
        keep(
            Counter.builder("baton.lease.lapses")
                .description(
                    "times this node, active or promoting, gave the role up because its lease could"
                        + " not be renewed in time (standby reason LEASE_EXPIRING)")
                .tags(tags)
                .register(registry));
    // Registered at once, empty, so that a dashboard's query finds the series before a failover.
    failoverTime =
        keep(
            Timer.builder("baton.failover.duration")
                .description(
                    "failovers to this node (history reason FAILOVER), from the previous active's"
                        + " lease end (the last heartbeat this node received from it, plus the"
                        + " lease) to this node turning active")
                .tags(tags)
                .serviceLevelObjectives(FAILOVER_BUCKETS)
                .register(registry));
  }

  /**
   * The buckets of {@code baton_failover_duration_seconds}: a failover takes at least the follower
   * time-out less the lease (about 0.1 s at the defaults) and, with a slow plan, seconds.
   */
  static final Duration[] FAILOVER_BUCKETS = {
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofMillis(750),
    Duration.ofSeconds(1),
    Duration.ofMillis(1500),
    Duration.ofSeconds(2),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60)
  };

  /**
   * {@code baton_failover_duration_seconds}: a failover to this node took {@code nanos}, from the
   * previous active's lease end as this node placed it to this node turning ACTIVE ({@link
   * FailoverTime}).
   */
  void failover(long nanos) {
    failoverTime.record(nanos, TimeUnit.NANOSECONDS);
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
    increment(
        rejected.computeIfAbsent(
            stage + "|" + reason,
            k ->
                register(
                    r ->
                        Counter.builder("baton.raft.entries.rejected")
                            .description(
                                "Raft entries refused by the state machine (unreadable, unknown,"
                                    + " or a role entry from outside the leader's own process)")
                            .tags(tags)
                            .tag("stage", stage)
                            .tag("reason", reason)
                            .register(r))));
  }

  /** A call or TLS handshake the Raft port refused ({@code baton_raft_refused_total}). */
  public void raftRefused(String kind) {
    increment(
        refused.computeIfAbsent(
            kind,
            k ->
                register(
                    r ->
                        Counter.builder("baton.raft.refused")
                            .description(
                                "calls and TLS handshakes the Raft port refused (admin calls,"
                                    + " non-members, impersonation)")
                            .tags(tags)
                            .tag("kind", k)
                            .register(r))));
  }

  /**
   * {@code baton_health_check_up{check=...}}: 1 while the check counts as up under the health
   * policy, else 0.
   */
  void healthCheck(String check, Supplier<Boolean> up) {
    register(
        r ->
            Gauge.builder("baton.health.check.up", up, u -> u.get() ? 1 : 0)
                .strongReference(true)
                .description("1 while this health check counts as up, else 0")
                .tags(tags)
                .tag("check", check)
                .register(r));
  }

  /**
   * {@code baton_maintenance}: 1 while the cluster's maintenance mode is on as this node has
   * applied it, else 0. Called while the node's parts are built.
   */
  void maintenance(Supplier<Boolean> on) {
    register(
        r ->
            Gauge.builder("baton.maintenance", on, o -> o.get() ? 1 : 0)
                .strongReference(true)
                .description(
                    "1 while the cluster's maintenance mode is on (as this node has applied it):"
                        + " no role move for health reasons; else 0")
                .tags(tags)
                .register(r));
  }

  /**
   * Keeps one {@code baton_member_up{member}} gauge per member in {@code ids}: registers the new
   * ones, removes those of members no longer there. {@code up} answers 1 (up as this node sees it),
   * 0 (down) or NaN (this node cannot tell). Does nothing once closed.
   */
  synchronized void members(Collection<String> ids, ToDoubleFunction<String> up) {
    if (closed) {
      return;
    }
    for (String id : ids) {
      memberUp.computeIfAbsent(
          id,
          m ->
              keep(
                  Gauge.builder("baton.member.up", () -> up.applyAsDouble(m))
                      .description(
                          "1 when the member is up as this node sees it, 0 when it is not, NaN"
                              + " when this node cannot tell (a follower hears only from the"
                              + " leader)")
                      .tags(tags)
                      .tag("member", m)
                      .register(registry)));
    }
    memberUp
        .entrySet()
        .removeIf(
            e -> {
              if (ids.contains(e.getKey())) {
                return false;
              }
              Gauge gone = e.getValue();
              registered.remove(gone.getId());
              registry.remove(gone);
              return true;
            });
  }

  /**
   * {@code baton_health_moves_total}: role hand-overs this node made because of its health. Called
   * while the node's parts are built, before anything can close this.
   */
  synchronized Counter healthMoves() {
    return keep(
        Counter.builder("baton.health.moves")
            .description("times this node, active, handed the role over because of its health")
            .tags(tags)
            .register(registry));
  }

  /**
   * {@code baton_failbacks_total}: role hand-overs this node, active, made to a member with a
   * higher priority (failback by priority). Called while the node's parts are built.
   */
  synchronized Counter failbacks() {
    return keep(
        Counter.builder("baton.failbacks")
            .description("times this node, active, handed the role to a member of higher priority")
            .tags(tags)
            .register(registry));
  }

  /**
   * Registers a meter of this node with {@code how}, unless the node's meters were removed ({@link
   * #close()}): then nothing is registered and the answer is null. The plan's step meters come
   * through here too ({@link StepOutcomes}).
   */
  synchronized <M extends Meter> @Nullable M register(Function<MeterRegistry, M> how) {
    return closed ? null : keep(how.apply(registry));
  }

  /**
   * Removes every meter of this node from the registry, once the node is closed or its start
   * failed, so that a node built again with the same cluster and node id in the same registry
   * reports its own values. Later registrations do nothing.
   */
  public synchronized void close() {
    closed = true;
    registered.values().forEach(registry::remove);
    registered.clear();
    memberUp.clear();
  }

  private synchronized <M extends Meter> M keep(M meter) {
    registered.put(meter.getId(), meter);
    return meter;
  }

  private static void increment(@Nullable Counter counter) {
    if (counter != null) {
      counter.increment();
    }
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
