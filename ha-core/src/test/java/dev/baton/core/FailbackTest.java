package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Failback by priority (issue 37, {@link FailbackPolicy}) on one in-JVM cluster of three real nodes
 * with health checks the test switches ({@link HealthGatingTest.Switchable}): n1 has priority 2, n2
 * and n3 priority 1, and failback is on with a hold-down of {@link #HOLD}. While n1 is unhealthy
 * the role never moves between n2 and n3 (equal priorities); while n1 flaps (it falls sick again
 * within every window) it does not pull the role; once it stays healthy it takes the role back
 * after the hold-down and no sooner (history: {@code FAILBACK}); while maintenance mode is on it
 * does not, and once it is off it does, again after a whole hold-down. One cluster for all of it
 * keeps CI short; a sampler checks throughout that no two nodes believe at once.
 */
class FailbackTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /**
   * The hold-down. The test waits out about six of them; each phase of n1's flapping (every node's
   * record says healthy, then unhealthy again) must stay well within one: a few hundred ms, about a
   * second at load 25.
   */
  private static final Duration HOLD = Duration.ofSeconds(3);

  /** What a node's listener heard: "active" with its token, or "standby REASON". */
  record Event(String node, String what, long token, long nanos) {}

  @Test
  void theHigherPriorityNodeTakesTheRoleBackAfterTheHoldDownUnlessEqualFlappingOrInMaintenance()
      throws Exception {
    Map<String, HealthGatingTest.Switchable> checks = new ConcurrentHashMap<>();
    List<Event> events = new CopyOnWriteArrayList<>();
    AtomicReference<TestCluster> holder = new AtomicReference<>();
    HealthGatingTest.Switchable n1Check = new HealthGatingTest.Switchable(Duration.ofMillis(100));
    n1Check.healthy.set(false);
    checks.put("n1", n1Check);
    Map<String, SimpleMeterRegistry> registries = new ConcurrentHashMap<>();
    try (TestCluster cluster =
        TestCluster.create(
            3,
            0,
            TestCluster.TIMING,
            (id, b) ->
                b.members(prioritized(holder.get().members()))
                    .healthChecks(
                        List.of(
                            checks.computeIfAbsent(
                                id, k -> new HealthGatingTest.Switchable(Duration.ofMillis(100)))))
                    .healthPolicy(new HealthPolicy(2, 2, Duration.ofSeconds(1)))
                    .failback(FailbackPolicy.after(HOLD))
                    .meterRegistry(registries.computeIfAbsent(id, k -> new SimpleMeterRegistry()))
                    .listener(recorder(id, events), Runnable::run))) {
      holder.set(cluster);
      cluster.startAll();
      BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
      try {
        // n1 is unhealthy from the start: n2 or n3 holds the role.
        BatonNode low =
            HealthGatingTest.steadyActive(cluster, "n2 or n3", n -> !n.id().equals("n1"));
        awaitEveryRecordSays(cluster, "n1", false);

        // Equal priorities never move: n2 and n3 are both priority 1, both healthy and up.
        long equalSince = System.nanoTime();
        await("the role stays with " + low.id() + " (no failback between equal priorities)")
            .during(HOLD.multipliedBy(3).dividedBy(2))
            .atMost(HOLD.multipliedBy(3).dividedBy(2).plus(WAIT))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> noFailbackSince(events, equalSince));

        // n1 flaps: healthy, then sick again well within every hold-down, for two hold-downs.
        long flapSince = System.nanoTime();
        int flaps = 0;
        while (System.nanoTime() - flapSince < HOLD.multipliedBy(2).toNanos()) {
          n1Check.healthy.set(true);
          awaitEveryRecordSays(cluster, "n1", true);
          n1Check.healthy.set(false);
          awaitEveryRecordSays(cluster, "n1", false);
          flaps++;
        }
        assertThat(flaps).as("times n1 came back and fell sick again").isGreaterThanOrEqualTo(2);
        assertThat(noFailbackSince(events, flapSince))
            .as("a flapping n1 did not pull the role: " + events)
            .isTrue();

        // n1 stays healthy: after the hold-down, and not before, it takes the role back.
        BatonNode n1 = cluster.node("n1");
        long healthySince = System.nanoTime();
        n1Check.healthy.set(true);
        Event back = awaitFailbackTo(events, "n1", healthySince);
        Event gaveUp = failbackStandbySince(events, healthySince);
        assertThat(Duration.ofNanos(gaveUp.nanos() - healthySince))
            .as("the active gave the role up for n1 only after the hold-down")
            .isGreaterThanOrEqualTo(HOLD);
        assertThat(gaveUp.node()).as("the active that failed back").isIn("n2", "n3");
        Counter counted = registries.get(gaveUp.node()).find("baton.failbacks").counter();
        assertThat(counted == null ? 0 : counted.count())
            .as("baton_failbacks_total on %s", gaveUp.node())
            .isGreaterThanOrEqualTo(1);
        Activation record = awaitRecord(n1, back.token(), Activation.Reason.FAILBACK);
        assertThat(record.nodeId()).isEqualTo("n1");
        // Its previous active is the one that gave the role up, or the other priority-1 node when
        // that transfer failed under load and the node elected meanwhile failed back in its turn
        // (seen at load 20-25): either way the activation is a failback.
        assertThat(record.previousNodeId()).hasValueSatisfying(p -> assertThat(p).isIn("n2", "n3"));

        // Maintenance on: a planned switch to n2 works, and n1, healthy and higher, does not take
        // the role back however long it waits.
        BatonNode asked = cluster.node("n3");
        // Setting the flag is idempotent: under load a write may time out, so it is retried.
        Maintenance on =
            await("maintenance on through " + asked.id())
                .atMost(WAIT)
                .ignoreExceptions()
                .until(() -> asked.cluster().maintenance(true, "failback test"), m -> m.on());
        await("every node has maintenance on")
            .atMost(WAIT)
            .until(
                () ->
                    cluster.running().stream().allMatch(n -> n.cluster().maintenance().equals(on)));
        long switched = asked.cluster().switchActive("n2", WAIT);
        long heldSince = System.nanoTime();
        await("n2 keeps the role while maintenance is on")
            .during(HOLD.plusSeconds(2))
            .atMost(HOLD.plusSeconds(2).plus(WAIT))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> noFailbackSince(events, heldSince));
        assertThat(switched).isPositive();

        // Off: n1 takes the role back, after a whole hold-down counted from then.
        long offSince = System.nanoTime();
        await("maintenance off through " + asked.id())
            .atMost(WAIT)
            .ignoreExceptions()
            .until(() -> !asked.cluster().maintenance(false, "").on());
        Event again = awaitFailbackTo(events, "n1", offSince);
        Event offGaveUp = failbackStandbySince(events, offSince);
        assertThat(offGaveUp.node()).isEqualTo("n2");
        assertThat(Duration.ofNanos(offGaveUp.nanos() - offSince))
            .as("the hold-down started again when maintenance was turned off")
            .isGreaterThanOrEqualTo(HOLD);
        // As above: n2, or n3 when n2's transfer failed under load.
        Activation afterOff = awaitRecord(n1, again.token(), Activation.Reason.FAILBACK);
        assertThat(afterOff.previousNodeId())
            .hasValueSatisfying(p -> assertThat(p).isIn("n2", "n3"));
      } finally {
        sampler.close();
        assertThat(sampler.violations()).as("two nodes believed at once").isEmpty();
      }
    }
  }

  /** n1 with priority 2, every other member as it is (priority 1). */
  private static List<Member> prioritized(List<Member> members) {
    return members.stream().map(m -> m.id().equals("n1") ? m.withPriority(2) : m).toList();
  }

  /**
   * Every running node has applied n1's (or {@code id}'s) health record saying {@code eligible}.
   */
  private static void awaitEveryRecordSays(TestCluster cluster, String id, boolean eligible) {
    await("every node's record says " + id + (eligible ? " is healthy" : " is unhealthy"))
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                cluster.running().stream()
                    .allMatch(
                        n -> n.status().health().members().getOrDefault(id, true) == eligible));
  }

  /** {@code id}'s first activation after an active gave the role up for failback since then. */
  private static Event awaitFailbackTo(List<Event> events, String id, long since) {
    return await(id + " takes the role back")
        .atMost(HOLD.plus(WAIT))
        .pollInterval(Duration.ofMillis(10))
        .until(
            () -> {
              Event gaveUp = failbackStandbyOrNull(events, since);
              if (gaveUp == null) {
                return null;
              }
              return events.stream()
                  .filter(
                      e ->
                          e.node().equals(id)
                              && e.what().equals("active")
                              && e.nanos() >= gaveUp.nanos())
                  .findFirst()
                  .orElse(null);
            },
            e -> e != null);
  }

  private static Activation awaitRecord(BatonNode node, long token, Activation.Reason reason) {
    return await("the history has token " + token + " as " + reason)
        .atMost(WAIT)
        .until(
            () ->
                node.cluster().history().stream()
                    .filter(a -> a.token() == token)
                    .findFirst()
                    .orElse(null),
            a -> a != null && a.reason() == reason);
  }

  private static boolean noFailbackSince(List<Event> events, long since) {
    return failbackStandbyOrNull(events, since) == null;
  }

  private static Event failbackStandbySince(List<Event> events, long since) {
    Event e = failbackStandbyOrNull(events, since);
    assertThat(e).as("an active gave the role up for failback since then: " + events).isNotNull();
    return e;
  }

  private static Event failbackStandbyOrNull(List<Event> events, long since) {
    return events.stream()
        .filter(e -> e.nanos() >= since && e.what().equals("standby " + StandbyReason.FAILBACK))
        .findFirst()
        .orElse(null);
  }

  private static RoleListener recorder(String id, List<Event> events) {
    return new RoleListener() {
      @Override
      public void onActive(ActiveContext context) {
        events.add(new Event(id, "active", context.token(), System.nanoTime()));
      }

      @Override
      public void onStandby(StandbyReason reason) {
        events.add(new Event(id, "standby " + reason, 0, System.nanoTime()));
      }
    };
  }
}
