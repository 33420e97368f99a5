package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Issue 33: three sidecars started together on a busy machine, and the first active gave its role
 * up 100–230 ms after winning it ({@code LEASE_EXPIRING}), or its promotion was abandoned at once
 * because its lease was already gone: the activation's commit had taken most of the lease, which
 * runs from the activation's send. Here the commit is made slow on purpose, not by CPU load: every
 * Raft message between the three nodes is handled {@link #LATE} late, from the start until two
 * seconds after the first activation commits. An AppendEntries sent at {@code s} is then
 * acknowledged no earlier than {@code s + LATE}, so at any moment while the links are slow what a
 * majority acknowledged leaves at most {@code lease − LATE} (242 ms at the default timing) of
 * lease: less than the demotion reserve (250 ms), whatever the machine's load.
 *
 * <p>Taking the role with that lease (the old code) gives it up again at the next step
 * (LEASE_EXPIRING, or PROMOTION_FAILED when the lease is gone before the plan starts), and the node
 * activates again with another token. The controller now takes the role only once a round a
 * majority acknowledged leaves at least half of the lease above the reserve (docs/lease.md, step
 * 1): no node takes the role while the links are slow, one takes it once they heal, and no node
 * gives a role up. A sampler checks throughout that no two nodes believe they are active.
 */
class StartLeaseMarginTest {
  private static final Duration LATE = Duration.ofMillis(450);
  private static final Duration SLOW_AFTER_COMMIT = Duration.ofSeconds(2);

  @Test
  void anActivationCommittedWithTooLittleLeaseIsTakenOnlyOnceARoundLeavesMargin() throws Exception {
    List<String> givenUp = new CopyOnWriteArrayList<>();
    try (NetworkPartition partition = NetworkPartition.create();
        TestCluster cluster =
            TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) -> b.listener(recorder(id, givenUp), Runnable::run))) {
      List<String> ids = cluster.members().stream().map(Member::id).toList();
      for (String from : ids) {
        for (String to : ids) {
          if (!from.equals(to)) {
            partition.slow(from, to, LATE);
          }
        }
      }
      cluster.startAll();
      try (BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
        Activation first;
        try {
          first =
              await()
                  .atMost(Duration.ofSeconds(60))
                  .pollInterval(Duration.ofMillis(10))
                  .until(() -> firstActivation(cluster), Optional::isPresent)
                  .get();
        } catch (ConditionTimeoutException e) {
          throw new AssertionError(e.getMessage() + "\n" + cluster.diagnosis(), e);
        }
        // The links stay slow for a second after the commit (the fault's length, not a wait for
        // a state): long enough for a thin lease to run down to the reserve.
        long healAt = System.nanoTime() + SLOW_AFTER_COMMIT.toNanos();
        await()
            .atMost(SLOW_AFTER_COMMIT.plusSeconds(10))
            .pollInterval(Duration.ofMillis(20))
            .until(() -> System.nanoTime() - healAt >= 0);
        partition.heal();

        BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(30)).until(() -> active.role() == Role.ACTIVE);
        assertThat(givenUp)
            .as("roles given up (node: reason) since the first activation, token %d", first.token())
            .isEmpty();
        assertThat(sampler.violations()).isEmpty();
      }
    }
  }

  /** The oldest activation any running node has applied, if any. */
  private static Optional<Activation> firstActivation(TestCluster cluster) {
    return cluster.running().stream()
        .flatMap(n -> n.cluster().history().stream())
        .min((a, b) -> Long.compare(a.token(), b.token()));
  }

  private static RoleListener recorder(String id, List<String> givenUp) {
    return new RoleListener() {
      @Override
      public void onActive(ActiveContext context) {}

      @Override
      public void onStandby(StandbyReason reason) {
        if (reason != StandbyReason.STARTING) {
          givenUp.add(id + ": " + reason);
        }
      }
    };
  }
}
