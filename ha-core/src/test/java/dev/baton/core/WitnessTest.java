package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.testing.BelieverSampler;
import dev.baton.core.testing.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Two data voters and a witness: the witness decides elections but never becomes active. */
class WitnessTest {

  @Test
  void witnessNeverActiveAndEitherDataVoterTakesOver() throws Exception {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      long lastToken = 0;
      for (int round = 0; round < 4; round++) {
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
        assertThat(active.id()).startsWith("n");
        assertThat(active.token()).isGreaterThan(lastToken);
        lastToken = active.token();
        assertThat(cluster.node("w1").isActive()).isFalse();
        assertThat(cluster.node("w1").role()).isEqualTo(Role.WITNESS);
        // Lose the active data voter: the other data voter and the witness are a majority.
        cluster.crash(active.id());
        BatonNode next = cluster.awaitActive(Duration.ofSeconds(30));
        assertThat(next.id()).isNotEqualTo(active.id()).startsWith("n");
        cluster.start(active.id());
      }
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
      assertThat(sampler.seenActive()).doesNotContain("w1").isNotEmpty();
    }
  }
}
