package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.HealthGate;
import dev.baton.core.testing.RaftOutsider;
import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Health gating on in-JVM clusters: each node has a {@link HealthCheck} (the product's SPI) whose
 * answer the test sets through an {@link AtomicBoolean}. An unhealthy active hands over and the
 * role does not come back on recovery; an unhealthy node that Raft elects never activates; with
 * every node sick the active stays and says so; a flapping check moves the role at most once per
 * minMoveInterval. A sampler checks in each that no two nodes believe at once.
 */
class HealthGatingTest {
  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** A check answering what the test sets; optionally alternating on every probe (flapping). */
  static final class Switchable implements HealthCheck {
    final AtomicBoolean healthy = new AtomicBoolean(true);
    final AtomicBoolean flapping = new AtomicBoolean(false);
    private final AtomicInteger probes = new AtomicInteger();
    private final Settings settings;

    Switchable(Duration interval) {
      this.settings = Settings.of("plane", interval, interval.minusMillis(10));
    }

    @Override
    public Settings settings() {
      return settings;
    }

    @Override
    public HealthResult check() {
      if (flapping.get()) {
        return probes.incrementAndGet() % 2 == 0
            ? HealthResult.ok()
            : HealthResult.unhealthy("flapping");
      }
      return healthy.get() ? HealthResult.ok() : HealthResult.unhealthy("plane is down (test)");
    }
  }

  record Event(String node, String what, long nanos) {}

  /** A cluster of three, each node with its own check, registry and event recorder. */
  private static final class Fixture implements AutoCloseable {
    final Map<String, Switchable> checks = new ConcurrentHashMap<>();
    final Map<String, SimpleMeterRegistry> registries = new ConcurrentHashMap<>();
    final List<Event> events = new CopyOnWriteArrayList<>();
    final TestCluster cluster;
    final BelieverSampler sampler;

    Fixture(Duration interval, HealthPolicy policy, boolean insecure) {
      cluster =
          TestCluster.create(
                  3,
                  0,
                  TestCluster.TIMING,
                  (id, b) -> {
                    Switchable c = checks.computeIfAbsent(id, k -> new Switchable(interval));
                    SimpleMeterRegistry r =
                        registries.computeIfAbsent(id, k -> new SimpleMeterRegistry());
                    b.healthChecks(List.of(c))
                        .healthPolicy(policy)
                        .meterRegistry(r)
                        .listener(recorder(id), Runnable::run);
                    return insecure ? b.insecureTransport() : b;
                  })
              .startAll();
      sampler = new BelieverSampler(cluster::allInstances);
    }

    private RoleListener recorder(String id) {
      return new RoleListener() {
        @Override
        public void onActive(ActiveContext context) {
          events.add(new Event(id, "active", System.nanoTime()));
        }

        @Override
        public void onStandby(StandbyReason reason) {
          events.add(new Event(id, "standby " + reason, System.nanoTime()));
        }
      };
    }

    void setHealthy(String id, boolean healthy) {
      checks.get(id).healthy.set(healthy);
    }

    double moves(String id) {
      Counter c = registries.get(id).find("baton.health.moves").counter();
      return c == null ? 0 : c.count();
    }

    double checkUp(String id) {
      Gauge g = registries.get(id).find("baton.health.check.up").tag("check", "plane").gauge();
      return g == null ? Double.NaN : g.value();
    }

    long activations(String id) {
      Counter c = registries.get(id).find("baton.activations").counter();
      return c == null ? 0 : (long) c.count();
    }

    List<BatonNode> others(BatonNode n) {
      return cluster.running().stream().filter(x -> x != n).toList();
    }

    @Override
    public void close() throws Exception {
      try {
        sampler.close();
        assertThat(sampler.violations()).as("two nodes believed at once").isEmpty();
      } finally {
        cluster.close();
      }
    }
  }

  /**
   * An active that has held the role for a second. On a loaded machine a fresh active can lose its
   * first lease round (LEASE_EXPIRING) and the role moves for that reason; a test of a health move
   * starts from an active that holds, so that the move it sees is the one it caused.
   */
  static BatonNode steadyActive(TestCluster cluster) {
    return steadyActive(cluster, "an active", n -> true);
  }

  /** As {@link #steadyActive(TestCluster)}, for an active that {@code which} accepts. */
  static BatonNode steadyActive(
      TestCluster cluster, String what, java.util.function.Predicate<BatonNode> which) {
    java.util.concurrent.atomic.AtomicReference<BatonNode> seen =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicLong since = new java.util.concurrent.atomic.AtomicLong();
    return await(what + " that holds the role for 1 s")
        .atMost(START)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              BatonNode a = cluster.active().filter(which).orElse(null);
              if (a == null || a != seen.get()) {
                seen.set(a);
                since.set(System.nanoTime());
                return null;
              }
              return System.nanoTime() - since.get() >= 1_000_000_000L ? a : null;
            },
            java.util.Objects::nonNull);
  }

  @Test
  void anUnhealthyActiveHandsOverToAHealthyPeerAndTheRoleDoesNotComeBackOnRecovery()
      throws Exception {
    try (Fixture f =
        new Fixture(Duration.ofMillis(100), new HealthPolicy(2, 2, Duration.ofSeconds(2)), false)) {
      BatonNode old = steadyActive(f.cluster);
      long oldToken = old.token();
      assertThat(old.status().health().enabled()).isTrue();

      f.setHealthy(old.id(), false);
      BatonNode now =
          await("the role moves off the unhealthy active")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(10))
              .until(
                  () -> f.cluster.active().filter(n -> n != old).orElse(null),
                  n -> n != null && n.status().role() == Role.ACTIVE);
      assertThat(now.token()).isGreaterThan(oldToken);
      assertThat(old.isActive()).isFalse();
      assertThat(f.events)
          .as("the old active gave the role up through the planned path, for its health")
          .anyMatch(e -> e.node().equals(old.id()) && e.what().equals("standby UNHEALTHY"));
      assertThat(f.moves(old.id())).isEqualTo(1.0);
      assertThat(f.checkUp(old.id())).isEqualTo(0.0);
      // Every node knows the old active's health from its record.
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                for (BatonNode n : f.cluster.running()) {
                  assertThat(n.status().health().members()).containsEntry(old.id(), false);
                }
              });
      String record =
          new String(
              now.kv().get(HealthGate.PREFIX + old.id()).orElseThrow().value(),
              java.nio.charset.StandardCharsets.UTF_8);
      assertThat(record).contains("eligible=false").contains("check.plane=down: plane is down");
      // A switch back to it is refused at once, naming the check, instead of timing out.
      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThatThrownBy(
                          () -> now.cluster().switchActive(old.id(), Duration.ofSeconds(5)))
                      .isInstanceOf(IllegalArgumentException.class)
                      .hasMessageContaining("'" + old.id() + "' is unhealthy")
                      .hasMessageContaining("plane=down: plane is down"));
      assertThat(now.isActive()).isTrue();

      f.setHealthy(old.id(), true);
      await()
          .atMost(WAIT)
          .until(() -> old.status().health().eligible() && f.checkUp(old.id()) == 1.0);
      await()
          .atMost(WAIT)
          .until(() -> now.status().health().members().getOrDefault(old.id(), false));
      // Recovered, it is a candidate again, but nothing moves the role back to it.
      await("the role stays on " + now.id() + " after " + old.id() + " recovered")
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> !old.isActive() && f.moves(now.id()) == 0.0);
      assertThat(f.moves(old.id())).isEqualTo(1.0);
    }
  }

  @Test
  void anUnhealthyNodeThatRaftElectsNeverActivatesAndHandsLeadershipToAHealthyPeer()
      throws Exception {
    try (LogCapture logs = LogCapture.baton();
        Fixture f =
            new Fixture(
                Duration.ofMillis(100), new HealthPolicy(2, 2, Duration.ofSeconds(2)), true);
        RaftOutsider outsider =
            RaftOutsider.plaintext(f.cluster.clusterId(), f.cluster.members())) {
      BatonNode active = f.cluster.awaitActive(START);
      BatonNode sick = f.others(active).get(0);
      f.setHealthy(sick.id(), false);
      await("the leader knows " + sick.id() + " is unhealthy")
          .atMost(WAIT)
          .until(
              () ->
                  !sick.status().health().eligible()
                      && !active.status().health().members().get(sick.id()));
      long before = f.activations(sick.id());

      // Raft elects the sick node: a forced election (it skips pre-vote), the strongest way to
      // make it leader. It can lose that election when its log is an entry behind (a lease round
      // in flight), so it is forced again, from the current leader's term, until it has won.
      long term = active.status().term();
      java.util.function.Supplier<Boolean> declined =
          () ->
              logs.warnings().stream()
                  .anyMatch(
                      w -> w.startsWith(sick.id() + ": health gating: not activating: unhealthy"));
      // Done when it has won and declined (what the gate logs), or won and activated (the failure
      // asserted below).
      // The first election is forced at once (no poll delay), a later one 3 s after the one before
      // it; the outcome is polled every 50 ms in between (with one poll every 3 s, a sick node
      // that had won and declined within a second waited out the rest of the interval).
      long forceEvery = Duration.ofSeconds(3).toNanos();
      java.util.concurrent.atomic.AtomicLong forcedAt =
          new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - forceEvery);
      await("the sick node won leadership")
          .atMost(Duration.ofSeconds(60))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> {
                if (declined.get() || f.activations(sick.id()) > before) {
                  return true;
                }
                long now = System.nanoTime();
                if (now - forcedAt.get() >= forceEvery) {
                  forcedAt.set(now);
                  NodeStatus s = sick.status();
                  String leader = s.leaderId().orElse(active.id());
                  outsider.startLeaderElection(sick.id(), leader, s.term());
                }
                return false;
              });
      assertThat(f.activations(sick.id()))
          .as("activations of the sick node after Raft elected it")
          .isEqualTo(before);
      BatonNode next =
          await("a healthy node becomes active")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(10))
              .until(() -> f.cluster.active().orElse(null), n -> n != null && n != sick);
      assertThat(next.status().term()).isGreaterThan(term);
      await("leadership stays off the sick node")
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(() -> !sick.isActive() && !sick.status().leaderId().orElse("").equals(sick.id()));
      assertThat(f.activations(sick.id())).as("activations of the sick node").isEqualTo(before);
      assertThat(f.events).noneMatch(e -> e.node().equals(sick.id()) && e.what().equals("active"));
    }
  }

  @Test
  void withEveryNodeUnhealthyTheActiveStaysAndSaysWhy() throws Exception {
    try (Fixture f =
        new Fixture(Duration.ofMillis(100), new HealthPolicy(2, 2, Duration.ofSeconds(2)), false)) {
      BatonNode active = f.cluster.awaitActive(START);
      // The peers first, so that the active has no healthy peer to hand over to when it turns
      // unhealthy itself.
      for (BatonNode n : f.others(active)) {
        f.setHealthy(n.id(), false);
      }
      await("the active knows its peers are unhealthy")
          .atMost(WAIT)
          .until(
              () ->
                  f.others(active).stream()
                      .noneMatch(n -> active.status().health().members().get(n.id())));
      f.setHealthy(active.id(), false);
      await("the active knows every node is unhealthy and says so")
          .atMost(WAIT)
          .until(
              () -> {
                NodeStatus.Health h = active.status().health();
                return h.handOver()
                    && h.note().equals(HealthGate.NO_HEALTHY_PEER)
                    && !h.members().containsValue(true);
              });
      NodeStatus.Health h = active.status().health();
      assertThat(h.eligible()).isFalse();
      assertThat(h.checks())
          .singleElement()
          .satisfies(
              c -> {
                assertThat(c.up()).isFalse();
                assertThat(c.lastReason()).isEqualTo("plane is down (test)");
              });
      assertThat(f.checkUp(active.id())).isEqualTo(0.0);
      await("the active stays active")
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(active::isActive);
      assertThat(f.moves(active.id())).isEqualTo(0.0);

      // Never no active because everyone is sick: with the active gone, a sick node takes over.
      f.cluster.crash(active.id());
      BatonNode next = f.cluster.awaitActive(WAIT);
      assertThat(next).isNotSameAs(active);
      await()
          .atMost(WAIT)
          .until(() -> next.status().health().note().equals(HealthGate.NO_HEALTHY_PEER));
    }
  }

  @Test
  void aFlappingCheckMovesTheRoleAtMostOncePerMinMoveInterval() throws Exception {
    // A move takes a few hundred ms (a second at load 25), so the checks, which flip on every
    // probe, would move the role several times per interval without the rule.
    Duration minMove = Duration.ofSeconds(2);
    Duration window = Duration.ofSeconds(6);
    try (Fixture f = new Fixture(Duration.ofMillis(200), new HealthPolicy(1, 1, minMove), false)) {
      f.cluster.awaitActive(START);
      long start = System.nanoTime();
      f.checks.values().forEach(c -> c.flapping.set(true));
      await("flapping for " + window.toMillis() + " ms")
          .atMost(window.plusSeconds(30))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> System.nanoTime() - start >= window.toNanos());
      f.checks.values().forEach(c -> c.flapping.set(false));
      long end = System.nanoTime();

      List<Long> moves = new ArrayList<>();
      for (Event e : f.events) {
        if (e.what().equals("standby UNHEALTHY") && e.nanos() >= start && e.nanos() <= end) {
          moves.add(e.nanos());
        }
      }
      double counted = 0;
      for (String id : f.registries.keySet()) {
        counted += f.moves(id);
      }
      assertThat(moves).as("health moves while flapping").isNotEmpty();
      assertThat(counted).as("baton_health_moves_total").isGreaterThanOrEqualTo(moves.size());
      assertThat(moves.size())
          .as("moves in %d ms at one per %d ms", window.toMillis(), minMove.toMillis())
          .isLessThanOrEqualTo((int) (window.toMillis() / minMove.toMillis()) + 1);
      moves.sort(Long::compare);
      for (int i = 1; i < moves.size(); i++) {
        assertThat(moves.get(i) - moves.get(i - 1))
            .as("time between health moves %d and %d", i, i + 1)
            .isGreaterThanOrEqualTo(minMove.toNanos());
      }
      // The checks are steady again: the cluster has an active.
      f.cluster.awaitActive(WAIT);
    }
  }

  /**
   * Health records can lag behind the checks (a record is written through Raft, and writes fail
   * while leadership moves). Here the sick peers' records are overwritten with stale "eligible"
   * ones, the way a lag looks to the leader, and then the active falls sick too: without a bound,
   * the sick peers hand leadership to each other, each believing the other healthy, and no node is
   * ever active. A leader to which leadership comes back with no activation in between activates
   * although unhealthy.
   */
  @Test
  void whenHealthRecordsLagLeadershipThatComesBackUntakenIsUsedToActivate() throws Exception {
    try (Fixture f =
            new Fixture(
                Duration.ofMillis(100), new HealthPolicy(2, 2, Duration.ofSeconds(2)), true);
        RaftOutsider outsider =
            RaftOutsider.plaintext(f.cluster.clusterId(), f.cluster.members())) {
      BatonNode active = activeWithSickPeersOnStaleRecords(f, outsider);
      List<BatonNode> peers = f.others(active);
      long before = peers.stream().mapToLong(n -> f.activations(n.id())).sum();

      f.setHealthy(active.id(), false);
      BatonNode next =
          await("a node active again after the active fell sick")
              .atMost(Duration.ofSeconds(45))
              .pollInterval(Duration.ofMillis(20))
              .until(() -> f.cluster.active().orElse(null), n -> n != null && n != active);
      assertThat(peers).contains(next);
      assertThat(peers.stream().mapToLong(n -> f.activations(n.id())).sum())
          .as("activations of the sick peers")
          .isGreaterThan(before);
    }
  }

  /**
   * A steady active whose two peers are sick, with lagging health records: each peer's record is
   * overwritten with what it published before it fell sick ("eligible"), and the test waits until
   * every node reads them so. (An insecure transport lets an outsider write reserved keys;
   * deployment.md says so.) A peer's publisher writes again only when its own checks change, so the
   * stale record stays.
   */
  private static BatonNode activeWithSickPeersOnStaleRecords(Fixture f, RaftOutsider outsider) {
    BatonNode active = steadyActive(f.cluster);
    List<BatonNode> peers = f.others(active);
    for (BatonNode n : peers) {
      f.setHealthy(n.id(), false);
    }
    await("the active knows its peers are unhealthy")
        .atMost(WAIT)
        .until(() -> peers.stream().noneMatch(n -> active.status().health().members().get(n.id())));
    for (BatonNode n : peers) {
      var write =
          outsider.rawWrite(
              dev.baton.core.internal.proto.Command.newBuilder()
                  .setFormatVersion(1)
                  .setKvPut(
                      dev.baton.core.internal.proto.KvPut.newBuilder()
                          .setKey(HealthGate.PREFIX + n.id())
                          .setValue(
                              com.google.protobuf.ByteString.copyFromUtf8(
                                  "eligible=true\nhandOver=false\ncheck.plane=up\n")))
                  .build()
                  .toByteArray());
      assertThat(write.succeeded()).as("stale record of %s: %s", n.id(), write).isTrue();
    }
    for (BatonNode reader : f.cluster.running()) {
      await(reader.id() + " reads the sick peers as healthy from the stale records")
          .atMost(WAIT)
          .until(
              () -> peers.stream().allMatch(n -> reader.status().health().members().get(n.id())));
    }
    return active;
  }

  /** What a test does once a sick survivor has activated although unhealthy (a fallback). */
  @FunctionalInterface
  private interface AfterFallback {
    void run(Fixture f, BatonNode fallback, BatonNode other) throws Exception;
  }

  /**
   * The lag of the test above, reached without any health move: on a cluster with health policy (2,
   * 2, {@code minMove}) over an insecure transport, both peers of a steady active are sick, their
   * records stale ("eligible"), and the active crashes. The sick survivors pass leadership to each
   * other until it comes back to one untaken, which activates although unhealthy. Then runs {@code
   * test} with that node and the other survivor, and checks the sampler as the fixture closes.
   */
  private static void afterAFallback(Duration minMove, AfterFallback test) throws Exception {
    try (LogCapture logs = LogCapture.baton();
        Fixture f = new Fixture(Duration.ofMillis(100), new HealthPolicy(2, 2, minMove), true);
        RaftOutsider outsider =
            RaftOutsider.plaintext(f.cluster.clusterId(), f.cluster.members())) {
      List<BatonNode> survivors = fallbackAfterTheActiveCrashed(f, outsider, logs);
      test.run(f, survivors.get(0), survivors.get(1));
    }
  }

  private static List<BatonNode> fallbackAfterTheActiveCrashed(
      Fixture f, RaftOutsider outsider, LogCapture logs) {
    BatonNode active = activeWithSickPeersOnStaleRecords(f, outsider);
    List<BatonNode> peers = f.others(active);
    long crashed = System.nanoTime();
    f.cluster.crash(active.id());
    BatonNode fallback =
        await("a sick survivor activates although unhealthy")
            .atMost(Duration.ofSeconds(45))
            .pollInterval(Duration.ofMillis(5))
            .until(() -> f.cluster.active().orElse(null), java.util.Objects::nonNull);
    assertThat(logs.warnings())
        .as("why %s activated", fallback.id())
        .anyMatch(
            w ->
                w.startsWith(
                    fallback.id()
                        + ": health gating: activating although unhealthy: leadership came back"));
    assertThat(f.events)
        .as("no health move before the fallback: the crash moved the role")
        .noneMatch(e -> e.what().equals("standby UNHEALTHY") && e.nanos() < crashed);
    BatonNode other = peers.stream().filter(n -> n != fallback).findFirst().orElseThrow();
    return List.of(fallback, other);
  }

  /**
   * A node that activated although unhealthy because leadership came back untaken has just proved
   * its peers' records wrong: it must not hand the role straight back to a peer on those records
   * (it did, within milliseconds, and the peer did the same, for 45 s with no lasting active). It
   * stays active, and hands over once the peer publishes a record newer than its activation.
   */
  @Test
  void aNodeThatActivatedBecauseRecordsLaggedDoesNotHandTheRoleBackOnTheRecordsItProvedStale()
      throws Exception {
    Duration minMove = Duration.ofSeconds(1);
    afterAFallback(
        minMove,
        (f, fallback, other) -> {
          // Longer than minMoveInterval: the hold after a fallback is not what keeps it here.
          await(
                  fallback.id()
                      + " stays active, not handing over on "
                      + other.id()
                      + "'s stale record")
              .during(minMove.plusSeconds(1))
              .atMost(minMove.plusSeconds(10))
              .pollInterval(Duration.ofMillis(5))
              .until(() -> fallback.isActive() && f.moves(fallback.id()) == 0.0);
          assertThat(fallback.status().health().note()).isEqualTo(HealthGate.NO_FRESH_HEALTHY_PEER);

          // The peer recovers and publishes a fresh record: now the role moves to it, for health.
          f.setHealthy(other.id(), true);
          await("the role moves to " + other.id() + " once its record is newer than the fallback")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(10))
              .until(() -> other.isActive());
          assertThat(f.moves(fallback.id())).isEqualTo(1.0);
          assertThat(f.events)
              .anyMatch(
                  e -> e.node().equals(fallback.id()) && e.what().equals("standby UNHEALTHY"));
        });
  }

  /**
   * A fallback activation is a role move caused by health, so it starts minMoveInterval like a
   * hand-over: even a peer with a fresh healthy record does not get the role before the interval
   * has passed since the fallback (without any earlier move, the node handed over at once).
   */
  @Test
  void aFallbackActivationHoldsTheRoleForMinMoveInterval() throws Exception {
    Duration minMove = Duration.ofSeconds(3);
    afterAFallback(
        minMove,
        (f, fallback, other) -> {
          // At once: the peer's fresh record lands a few hundred ms later, well inside the
          // interval.
          f.setHealthy(other.id(), true);
          await(fallback.id() + " holds the role for minMoveInterval after its fallback activation")
              .during(minMove.minusMillis(1500))
              .atMost(minMove.plusSeconds(10))
              .pollInterval(Duration.ofMillis(5))
              .until(() -> fallback.isActive() && f.moves(fallback.id()) == 0.0);
          await("the role moves to " + other.id() + " after the interval")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(10))
              .until(() -> other.isActive());
          assertThat(f.moves(fallback.id())).isEqualTo(1.0);
        });
  }
}
