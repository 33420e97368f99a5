package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailoverTest {

  @Test
  void threeVotersElectExactlyOneActiveAndFailOverToAHigherToken() {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode first = cluster.awaitActive(Duration.ofSeconds(30));
      long firstToken = first.token();
      assertThat(firstToken).isPositive();
      assertThat(cluster.running().stream().filter(BatonNode::isActive)).hasSize(1);

      cluster.crash(first.id());
      BatonNode second = cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(second.id()).isNotEqualTo(first.id());
      assertThat(second.token()).isGreaterThan(firstToken);

      // The crashed node restarts on its data directory and rejoins as a standby.
      BatonNode restarted = cluster.start(first.id());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> restarted.status().highestToken() >= second.token());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> restarted.role() == Role.STANDBY && cluster.active().isPresent());
      assertThat(cluster.running().stream().filter(BatonNode::isActive).count())
          .as("never more than one active")
          .isLessThanOrEqualTo(1);
    }
  }
}
