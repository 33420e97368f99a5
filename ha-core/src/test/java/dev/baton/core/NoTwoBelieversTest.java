package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Invariant I2 under crashes, restarts and planned switchovers. Crashed node objects stay in the
 * sample with their frozen belief: a new active must not appear before the crashed one's lease has
 * run out.
 */
class NoTwoBelieversTest {

  @Test
  void neverTwoActivesThroughCrashesRestartsAndSwitchovers() throws Exception {
    Random random = new Random(42);
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      long lastToken = 0;
      int failovers = 0;
      for (int round = 0; round < 6; round++) {
        TestCluster.ActiveSeen seen = cluster.awaitActiveSeen(Duration.ofSeconds(30));
        BatonNode active = seen.node();
        assertThat(seen.token()).as("tokens only grow").isGreaterThan(lastToken);
        lastToken = seen.token();
        if (round % 3 == 2) {
          String target =
              cluster.running().stream()
                  .filter(n -> n != active)
                  .toList()
                  .get(random.nextInt(2))
                  .id();
          long token = active.cluster().switchActive(target, Duration.ofSeconds(20));
          assertThat(token).isGreaterThan(lastToken);
        } else {
          cluster.crash(active.id());
          failovers++;
          cluster.awaitActive(Duration.ofSeconds(30));
          cluster.start(active.id());
        }
      }
      sampler.close();
      assertThat(sampler.violations()).as("overlapping actives").isEmpty();
      assertThat(sampler.activeReads()).as("the sampler saw actives").isPositive();
      assertThat(failovers).isEqualTo(4);
      System.out.printf(
          "NoTwoBelievers: %d sample rounds, %d active reads, 0 overlaps%n",
          sampler.rounds(), sampler.activeReads());
    }
  }
}
