package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * The activation history ({@link Cluster#history()}, issue 37) on one in-JVM cluster of real nodes
 * that goes through every kind of move: its start, a crash of the active (failover), a planned
 * switch, a health move and a full restart, then a member that joins by installing a snapshot. Each
 * activation is there once, in token order, with its reason and its promotion step; every member
 * holds the same records. One cluster for all of it keeps the test short. {@code
 * ActivationHistoryTest} covers how the state machine derives each field.
 */
class HistoryTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** The one promotion step: does nothing, so the history shows its outcome and duration. */
  private static final PromotionAction MARK =
      new PromotionAction() {
        @Override
        public String name() {
          return "mark";
        }

        @Override
        public void promote(StepContext context) {}
      };

  @Test
  void aFailoverASwitchAHealthMoveAndAFullRestartAreRecordedInTokenOrderWithTheirSteps() {
    Map<String, HealthGatingTest.Switchable> checks = new ConcurrentHashMap<>();
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) ->
                    b.snapshotThreshold(100)
                        .promotionPlan(PromotionPlan.builder().action(MARK).build())
                        .healthChecks(
                            List.of(
                                checks.computeIfAbsent(
                                    id,
                                    k -> new HealthGatingTest.Switchable(Duration.ofMillis(100)))))
                        .healthPolicy(new HealthPolicy(2, 2, Duration.ofSeconds(1))))
            .startAll()) {
      Instant started = Instant.now();
      BatonNode first = cluster.awaitActive(WAIT);
      long startToken = first.token();
      // A node is ACTIVE as soon as its plan completes; the entry that records the completed
      // promotion commits a moment later. The crash below must come after it, or the history
      // rightly says the first activation never completed.
      await("the first activation recorded as promoted")
          .atMost(WAIT)
          .until(
              () ->
                  first.cluster().history().stream()
                      .anyMatch(h -> h.token() == startToken && h.promoted()));

      // A crash: the next active's record is a failover from the crashed one.
      cluster.crash(first.id());
      BatonNode second = cluster.awaitActive(WAIT);
      long failoverToken = second.token();
      cluster.start(first.id());

      // A planned switch, asked of a standby's API: the record names it as the requester.
      BatonNode asked =
          cluster.running().stream().filter(n -> n != second).findFirst().orElseThrow();
      String target =
          cluster.running().stream()
              .filter(n -> n != second && n != asked)
              .findFirst()
              .orElseThrow()
              .id();
      long switchToken = asked.cluster().switchActive(target, WAIT);

      // A health move: the active's check goes down and it hands the role over.
      BatonNode third = cluster.node(target);
      checks.get(target).healthy.set(false);
      BatonNode fourth =
          await("the role moves off the unhealthy active")
              .atMost(WAIT)
              .until(
                  () -> cluster.active().filter(n -> n != third).orElse(null),
                  n -> n != null && n.status().role() == Role.ACTIVE);
      long healthToken = fourth.token();
      checks.get(target).healthy.set(true);

      List<Activation> before = awaitHistoryUpTo(cluster, fourth, healthToken);
      assertThat(before).extracting(Activation::token).isSorted().doesNotHaveDuplicates();
      assertThat(record(before, startToken).reason()).isEqualTo(Activation.Reason.START);
      assertThat(record(before, startToken).nodeId()).isEqualTo(first.id());
      Activation failover = record(before, failoverToken);
      assertThat(failover.reason()).isEqualTo(Activation.Reason.FAILOVER);
      assertThat(failover.nodeId()).isEqualTo(second.id());
      Activation switched = record(before, switchToken);
      assertThat(switched.reason()).isEqualTo(Activation.Reason.SWITCH_ACTIVE);
      assertThat(switched.nodeId()).isEqualTo(target);
      assertThat(switched.requester()).contains(asked.id());
      Activation health = record(before, healthToken);
      assertThat(health.reason()).isEqualTo(Activation.Reason.HEALTH);
      assertThat(health.previousNodeId()).contains(target);
      assertThat(record(before, switchToken).resigned()).contains("UNHEALTHY");
      for (long token : List.of(startToken, failoverToken, switchToken, healthToken)) {
        Activation a = record(before, token);
        assertThat(a.promoted()).as("token %d promoted", token).isTrue();
        assertThat(a.steps())
            .as("token %d's steps", token)
            .singleElement()
            .satisfies(
                s -> {
                  assertThat(s.name()).isEqualTo("mark");
                  assertThat(s.outcome()).isEqualTo(JournalEntry.Outcome.COMPLETED);
                  assertThat(s.duration()).isPresent();
                });
        assertThat(a.proposedAt())
            .as("token %d's wall clock, from its proposer", token)
            .hasValueSatisfying(t -> assertThat(t).isAfter(started.minusSeconds(60)));
      }

      // Enough writes for every member to take a snapshot, then a full restart.
      for (int i = 0; i < 150; i++) {
        fourth.kv().put("k" + (i % 10), ("v" + i).getBytes());
      }
      await("every member has taken a snapshot")
          .atMost(WAIT)
          .until(
              () -> cluster.running().stream().allMatch(n -> hasSnapshot(cluster.dataDir(n.id()))));
      for (BatonNode n : cluster.running()) {
        cluster.stop(n.id());
      }
      cluster.startAll();
      BatonNode again = cluster.awaitActive(WAIT);
      long restartToken = again.token();
      List<Activation> after = awaitHistoryUpTo(cluster, again, restartToken);
      assertThat(after).extracting(Activation::token).isSorted().doesNotHaveDuplicates();
      assertThat(after)
          .as("every record from before the restart is still there, with its reason and steps")
          .extracting(Activation::token, Activation::reason, Activation::steps)
          .containsSubsequence(
              before.stream()
                  .map(a -> org.assertj.core.groups.Tuple.tuple(a.token(), a.reason(), a.steps()))
                  .toList());
      assertThat(record(after, restartToken).previousToken()).isPositive();
      assertThat(record(after, restartToken).reason()).isEqualTo(Activation.Reason.FAILOVER);

      // A member that joins after the others purged their logs installs a snapshot: it sees the
      // same history.
      for (int i = 0; i < 150; i++) {
        again.kv().put("after/" + (i % 10), ("v" + i).getBytes());
      }
      Member n4 = cluster.newMember("n4", false);
      BatonNode joiner = cluster.builderFor("n4").joining(true).build();
      joiner.start();
      try {
        again.cluster().addMember(n4);
        await("n4 has applied the cluster's history")
            .atMost(WAIT)
            .untilAsserted(
                () ->
                    assertThat(joiner.cluster().history())
                        .extracting(Activation::token)
                        .isEqualTo(
                            again.cluster().history().stream().map(Activation::token).toList()));
        assertThat(hasSnapshot(cluster.dataDir("n4")))
            .as("n4 caught up through the leader's snapshot")
            .isTrue();
        assertThat(joiner.cluster().history()).isEqualTo(again.cluster().history());
        assertThat(record(joiner.cluster().history(), switchToken).requester())
            .contains(asked.id());
      } finally {
        joiner.close();
      }
    }
  }

  /**
   * Waits until every running member holds the same history, with {@code token} promoted in it;
   * returns {@code n}'s. (On a loaded machine the role may move again on its own afterwards: the
   * test then sees more records, never fewer.)
   */
  private static List<Activation> awaitHistoryUpTo(TestCluster cluster, BatonNode n, long token) {
    await("every member holds the same history, with token " + token + " promoted")
        .atMost(WAIT)
        .until(
            () ->
                cluster.running().stream()
                    .allMatch(
                        m -> {
                          List<Activation> h = m.cluster().history();
                          return h.stream().anyMatch(a -> a.token() == token && a.promoted())
                              && h.equals(n.cluster().history());
                        }));
    return n.cluster().history();
  }

  private static Activation record(List<Activation> history, long token) {
    Optional<Activation> a = history.stream().filter(r -> r.token() == token).findFirst();
    assertThat(a).as("a record for token %d in %s", token, history).isPresent();
    return a.get();
  }

  private static boolean hasSnapshot(Path dataDir) {
    return dev.baton.testing.cluster.SnapshotFiles.newestTaken(dataDir).isPresent();
  }
}
