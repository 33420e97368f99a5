package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Invariant I1 across a full-cluster restart from the same data directories. */
class RestartTokenTest {

  @Test
  void fullClusterRestartIssuesAGreaterToken() {
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))
            .startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      // Enough writes to cross the snapshot threshold, so the restart goes through a snapshot.
      for (int i = 0; i < 150; i++) {
        active.kv().put("k" + (i % 10), ("v" + i).getBytes());
      }
      long before = active.status().highestToken();
      long lastIndex = active.kv().put("last", "x".getBytes()).revision();
      assertThat(lastIndex).isGreaterThan(before);

      for (BatonNode n : cluster.running()) {
        cluster.stop(n.id());
      }
      assertThat(cluster.running()).isEmpty();
      cluster.startAll();

      BatonNode again = cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(again.token()).isGreaterThan(before).isGreaterThan(lastIndex);
      assertThat(again.kv().get("k9")).get().extracting(KvEntry::valueAsString).isEqualTo("v149");
    }
  }
}
