package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Invariant I4 (a majority up makes an active) when one founding member has never received an
 * entry: a new cluster's third member is cut off from the start, the first active is elected by the
 * other two, and then that active dies. The two live members are a majority; one of them holds no
 * entry.
 */
class EmptyLogVoterTest {

  @Test
  void aMajorityWithAFounderThatNeverReceivedAnEntryStillMakesAnActive() throws Exception {
    try (NetworkPartition partition = NetworkPartition.create();
        TestCluster cluster = TestCluster.create(3, 0);
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      partition.isolate("n3", List.of("n1", "n2"));
      cluster.startAll();
      BatonNode first = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(first.id()).isNotEqualTo("n3");
      long firstToken = first.token();

      cluster.crash(first.id());
      partition.heal();

      BatonNode next = cluster.awaitActive(first.timing().failoverBound().multipliedBy(6));
      assertThat(next.token()).isGreaterThan(firstToken);
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
    }
  }
}
