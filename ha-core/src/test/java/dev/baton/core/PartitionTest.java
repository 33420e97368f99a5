package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Invariant I2 under network partitions between in-JVM nodes (Raft messages dropped). */
class PartitionTest {

  @Test
  void anIsolatedActiveStepsDownBeforeTheMajoritySideActivates() throws Exception {
    AtomicLong standbyAt = new AtomicLong();
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode old = cluster.awaitActive(Duration.ofSeconds(30));
      long oldToken = old.token();
      old.addListener(
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {}

            @Override
            public void onStandby(StandbyReason reason) {
              if (reason != StandbyReason.STARTING) {
                standbyAt.compareAndSet(0, System.nanoTime());
              }
            }
          },
          Runnable::run);
      List<String> ids = cluster.running().stream().map(BatonNode::id).toList();
      partition.isolate(old.id(), ids);
      long cutAt = System.nanoTime();

      BatonNode next;
      try {
        next =
            await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> cluster.active().filter(n -> n != old), java.util.Optional::isPresent)
                .get();
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        // Seen once in CI at load 15-30: no node of the majority side active for 30 s.
        throw new AssertionError(e.getMessage() + "\n" + cluster.diagnosis(), e);
      }
      long nextActiveAt = System.nanoTime();
      assertThat(next.token()).isGreaterThan(oldToken);
      assertThat(standbyAt.get()).as("the isolated active reported standby").isPositive();
      assertThat(standbyAt.get()).isLessThan(cutAt + old.timing().lease().toNanos());
      assertThat(standbyAt.get()).isLessThan(nextActiveAt);

      partition.heal();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> old.status().activeNodeId().filter(next.id()::equals).isPresent());
      assertThat(old.isActive()).isFalse();
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
    }
  }

  /**
   * One follower loses the active while the rest stay connected (the case step 2 of the lease
   * argument is about). Its pre-votes are refused by the follower that still hears the leader (and
   * by the leader itself). An idle active writes no log entries (the lease is renewed from
   * heartbeats), so its log need not fall behind: pre-vote alone keeps it from deposing the active.
   * Under a loaded machine the active may still lose its lease for lack of CPU; what must hold
   * regardless is safety (never two actives) and progress (an active and a working KV).
   */
  @Test
  void aFollowerCutOffFromTheActiveAloneNeverCausesTwoActives() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      long token = active.token();
      BatonNode cutOff = cluster.running().stream().filter(n -> n != active).findFirst().get();
      partition.cut(active.id(), cutOff.id());

      // Several election timeouts pass while the cut-off follower campaigns.
      long end = System.nanoTime() + active.timing().electionTimeoutMax().multipliedBy(5).toNanos();
      await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() > end);
      BatonNode now = cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(now.kv().put("still-serving", "yes".getBytes()).revision()).isGreaterThan(token);
      System.out.printf(
          "asymmetric partition: active before %s (token %d), after %s (token %d); seen active: %s%n",
          active.id(), token, now.id(), now.token(), sampler.seenActive());
      partition.heal();
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
    }
  }

  /**
   * Two regions and a witness (n1, n2, w1); the link between the regions is cut while both still
   * reach the witness. Whichever region holds the active keeps a majority with the witness, and the
   * other cannot win pre-votes while the witness hears the leader: there is still exactly one
   * active, and the KV keeps committing.
   */
  @Test
  void aCutBetweenTheRegionsWithTheWitnessReachableKeepsOneActive() throws Exception {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode before = cluster.awaitActive(Duration.ofSeconds(60));
      partition.cut("n1", "n2");

      long end = System.nanoTime() + before.timing().electionTimeoutMax().multipliedBy(5).toNanos();
      await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() > end);
      BatonNode now = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(now.id()).startsWith("n");
      assertThat(now.kv().put("regions-cut", "yes".getBytes()).revision())
          .isGreaterThan(before.token());
      System.out.printf(
          "regions cut, witness reachable: active before %s (token %d), after %s (token %d)%n",
          before.id(), before.token(), now.id(), now.token());
      partition.heal();
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
      assertThat(sampler.seenActive()).doesNotContain("w1");
    }
  }

  /**
   * Two regions and a witness; the regions are cut from each other and the witness is cut from
   * both. No side has a majority: the active reports standby before its lease could have ended,
   * nobody is active while the cut lasts, and an active is back, with a higher token, once the
   * network heals.
   */
  @Test
  void aCutBetweenTheRegionsWithTheWitnessUnreachableLeavesNoActiveUntilHealed() throws Exception {
    AtomicLong standbyAt = new AtomicLong();
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances);
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode old = cluster.awaitActive(Duration.ofSeconds(60));
      long oldToken = old.token();
      old.addListener(
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {}

            @Override
            public void onStandby(StandbyReason reason) {
              if (reason != StandbyReason.STARTING) {
                standbyAt.compareAndSet(0, System.nanoTime());
              }
            }
          },
          Runnable::run);
      partition.cut("n1", "n2").cut("n1", "w1").cut("n2", "w1");
      long cutAt = System.nanoTime();

      await().atMost(Duration.ofSeconds(10)).until(() -> standbyAt.get() != 0);
      assertThat(standbyAt.get())
          .as("the active reported standby before its lease could have ended")
          .isLessThan(cutAt + old.timing().lease().toNanos());
      Duration quiet = old.timing().failoverBound().multipliedBy(3);
      assertThat(cluster.activeSeenDuring(quiet))
          .as("no node may be active while no side has a majority")
          .isEmpty();

      partition.heal();
      BatonNode next = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(next.id()).startsWith("n");
      assertThat(next.token()).isGreaterThan(oldToken);
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
    }
  }
}
