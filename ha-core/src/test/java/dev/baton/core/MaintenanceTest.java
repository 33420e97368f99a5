package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.HealthGate;
import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Maintenance mode (issue 37, {@link Maintenance}) on one in-JVM cluster of three real nodes with
 * health checks the test switches ({@link HealthGatingTest.Switchable}): while it is on, an
 * unhealthy active is not moved for its health, and says so once in its log; a planned
 * switch-active still moves the role; the death of the active still frees the role, and another
 * node takes it; the flag survives a full restart of every node (after which an active is made
 * again, with the flag still on); and turning it off lets health gating move the unhealthy active.
 * One cluster for all of it keeps CI short; a sampler checks throughout that no two nodes believe
 * at once. {@code SnapshotCompatibilityTest} covers the flag in snapshots.
 */
class MaintenanceTest {
  private static final Duration START = Duration.ofSeconds(60);
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** How long an unhealthy active held by maintenance is watched: a move takes a few 100 ms. */
  private static final Duration HELD = Duration.ofSeconds(2);

  record Event(String node, String what, long nanos) {}

  @Test
  void whileOnAnUnhealthyActiveStaysASwitchStillWorksItSurvivesAFullRestartAndOffMovesTheRole()
      throws Exception {
    Map<String, HealthGatingTest.Switchable> checks = new ConcurrentHashMap<>();
    List<Event> events = new CopyOnWriteArrayList<>();
    try (LogCapture logs = LogCapture.baton();
        TestCluster cluster =
            TestCluster.create(
                    3,
                    0,
                    TestCluster.TIMING,
                    (id, b) ->
                        b.healthChecks(
                                List.of(
                                    checks.computeIfAbsent(
                                        id,
                                        k ->
                                            new HealthGatingTest.Switchable(
                                                Duration.ofMillis(100)))))
                            .healthPolicy(new HealthPolicy(2, 2, Duration.ofSeconds(1)))
                            .listener(recorder(id, events), Runnable::run))
                .startAll()) {
      BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
      try {
        BatonNode active = cluster.awaitActive(START);
        BatonNode asked = others(cluster, active).get(0);
        assertThat(asked.cluster().maintenance()).isEqualTo(Maintenance.NEVER_SET);

        // Bad input changes nothing and names what is wrong.
        assertThatThrownBy(() -> asked.cluster().maintenance(true, "x".repeat(501)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("501 characters")
            .hasMessageContaining("at most 500");
        assertThatThrownBy(() -> asked.cluster().maintenance(true, "two\nlines"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("control character (code 10) at position 3");

        // On, asked of a standby: every member applies the same flag.
        Instant before = Instant.now();
        Maintenance on = asked.cluster().maintenance(true, "database upgrade (ticket 4711)");
        assertThat(on.on()).isTrue();
        assertThat(on.reason()).isEqualTo("database upgrade (ticket 4711)");
        assertThat(on.setBy()).contains(asked.id());
        assertThat(on.setAt())
            .hasValueSatisfying(t -> assertThat(t).isAfter(before.minusSeconds(60)));
        assertThat(on.index()).isPositive();
        assertThat(asked.cluster().maintenance())
            .as("applied on the node asked when it returns")
            .isEqualTo(on);
        awaitEveryNodeHas(cluster, on);

        // The active falls sick: with maintenance on it stays, and says so once.
        BatonNode held = HealthGatingTest.steadyActive(cluster);
        long heldToken = held.status().activeToken();
        long sickSince = System.nanoTime();
        checks.get(held.id()).healthy.set(false);
        awaitUnhealthyByEveryRecord(cluster, held);
        await("the unhealthy active stays active for " + HELD.toMillis() + " ms")
            .during(HELD)
            .atMost(HELD.plusSeconds(10))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () ->
                    noHealthMoveSince(events, sickSince)
                        && held.status().activeNodeId().orElse("").equals(held.id())
                        && held.status().activeToken() == heldToken);
        assertThat(held.status().health().note()).startsWith(HealthGate.MAINTENANCE_HOLDS);
        assertThat(
                logs.warnings().stream()
                    .filter(
                        w ->
                            w.startsWith(
                                held.id() + ": health gating: " + HealthGate.MAINTENANCE_HOLDS))
                    .count())
            .as("WARN lines saying maintenance holds the unhealthy active")
            .isEqualTo(1);

        // A planned switch still works while it is on (here away from the unhealthy active).
        BatonNode target = others(cluster, held).get(0);
        long switched = asked.cluster().switchActive(target.id(), WAIT);
        assertThat(switched).isGreaterThan(heldToken);
        assertThat(record(target.cluster().history(), switched).reason())
            .isEqualTo(Activation.Reason.SWITCH_ACTIVE);
        assertThat(target.cluster().history())
            .as("turning maintenance on is not an activation")
            .noneMatch(a -> a.token() == on.index());
        checks.get(held.id()).healthy.set(true);

        // The active dies while it is on: the role is freed and another node takes it with a higher
        // token (maintenance narrows what moves a live active's role, never what replaces a lost
        // one), and the flag stays as it was set.
        cluster.crash(target.id());
        BatonNode replacement =
            await("another node takes the role after the active died, with maintenance on")
                .atMost(WAIT)
                .until(
                    () -> cluster.active().filter(n -> n != target).orElse(null),
                    n -> n != null && n.token() > switched);
        assertThat(replacement.cluster().maintenance()).isEqualTo(on);

        // A full restart: every node stops (the crashed one is down already), then all start on
        // their data directories. The role is freed and taken again, and the flag is still on.
        for (BatonNode n : cluster.running()) {
          cluster.stop(n.id());
        }
        cluster.startAll();
        cluster.awaitActive(START);
        awaitEveryNodeHas(cluster, on);

        // Still in force after the restart: the active falls sick and stays.
        BatonNode sick = HealthGatingTest.steadyActive(cluster);
        long sickToken = sick.status().activeToken();
        long sickAgainSince = System.nanoTime();
        checks.get(sick.id()).healthy.set(false);
        awaitUnhealthyByEveryRecord(cluster, sick);
        await("the unhealthy active stays active after the restart")
            .during(HELD)
            .atMost(HELD.plusSeconds(10))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () ->
                    noHealthMoveSince(events, sickAgainSince)
                        && sick.status().activeNodeId().orElse("").equals(sick.id())
                        && sick.status().activeToken() == sickToken);
        assertThat(sick.status().health().note()).startsWith(HealthGate.MAINTENANCE_HOLDS);

        // Off: health gating moves the unhealthy active to a healthy peer at once.
        BatonNode offAsker = others(cluster, sick).get(0);
        Maintenance off = offAsker.cluster().maintenance(false, "");
        assertThat(off.on()).isFalse();
        assertThat(off.index()).isGreaterThan(on.index());
        BatonNode moved =
            await("the role moves off the unhealthy active once maintenance is off")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(10))
                .until(
                    () -> cluster.active().filter(n -> n != sick).orElse(null),
                    n -> n != null && n.status().role() == Role.ACTIVE);
        assertThat(events)
            .as("the old active handed over for its health")
            .anyMatch(
                e ->
                    e.node().equals(sick.id())
                        && e.what().equals("standby UNHEALTHY")
                        && e.nanos() >= sickAgainSince);
        long movedToken = moved.token();
        await("the health move is in the history")
            .atMost(WAIT)
            .until(() -> moved.cluster().history().stream().anyMatch(a -> a.token() == movedToken));
        assertThat(record(moved.cluster().history(), movedToken).reason())
            .isEqualTo(Activation.Reason.HEALTH);
        checks.get(sick.id()).healthy.set(true);
      } finally {
        sampler.close();
        assertThat(sampler.violations()).as("two nodes believed at once").isEmpty();
      }
    }
  }

  /** Every running node has applied {@code expected}. */
  private static void awaitEveryNodeHas(TestCluster cluster, Maintenance expected) {
    await("every node has maintenance mode " + expected)
        .atMost(WAIT)
        .until(
            () ->
                cluster.running().size() == 3
                    && cluster.running().stream()
                        .allMatch(n -> n.cluster().maintenance().equals(expected)));
  }

  /**
   * Every node's health records say {@code active} is unhealthy and its demoting check is down:
   * without maintenance it would hand the role over within a few hundred ms from here.
   */
  private static void awaitUnhealthyByEveryRecord(TestCluster cluster, BatonNode active) {
    await(active.id() + " is unhealthy by every record")
        .atMost(WAIT)
        .until(
            () ->
                active.status().health().handOver()
                    && cluster.running().stream()
                        .allMatch(
                            n -> !n.status().health().members().getOrDefault(active.id(), true)));
  }

  private static boolean noHealthMoveSince(List<Event> events, long since) {
    return events.stream()
        .noneMatch(e -> e.nanos() >= since && e.what().equals("standby UNHEALTHY"));
  }

  private static List<BatonNode> others(TestCluster cluster, BatonNode n) {
    return cluster.running().stream().filter(x -> x != n).toList();
  }

  private static Activation record(List<Activation> history, long token) {
    return history.stream()
        .filter(a -> a.token() == token)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no record for token " + token + " in " + history));
  }

  private static RoleListener recorder(String id, List<Event> events) {
    return new RoleListener() {
      @Override
      public void onActive(ActiveContext context) {}

      @Override
      public void onStandby(StandbyReason reason) {
        events.add(new Event(id, "standby " + reason, System.nanoTime()));
      }
    };
  }
}
