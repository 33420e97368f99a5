package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Rotating the cluster secret with no downtime: three rolling restarts (keep A and accept B; take B
 * and accept A; drop A), one node at a time, with an active after every restart and tokens that
 * only grow. Afterwards a node that holds only the old secret is shut out: its handshakes are
 * refused both ways and it applies nothing, until it is given the new one.
 */
class SecretRotationTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final byte[] oldSecret = TestCluster.newClusterSecret();
  private final byte[] newSecret = TestCluster.newClusterSecret();
  private final Map<String, byte[]> own = new ConcurrentHashMap<>();
  private final Map<String, List<byte[]>> accepted = new ConcurrentHashMap<>();
  private final Map<String, MeterRegistry> meters = new ConcurrentHashMap<>();
  private final List<Long> tokens = new CopyOnWriteArrayList<>();

  @Test
  void aRollingRotationKeepsAnActiveThroughoutAndThenShutsOutTheOldSecret() {
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) -> {
                  b.clusterSecret(own.getOrDefault(id, oldSecret));
                  accepted.getOrDefault(id, List.of()).forEach(b::acceptClusterSecret);
                  MeterRegistry registry = new SimpleMeterRegistry();
                  meters.put(id, registry);
                  return b.meterRegistry(registry);
                })
            .startAll()) {
      recordActive(cluster);

      restartEach(cluster, oldSecret, List.of(newSecret));
      restartEach(cluster, newSecret, List.of(oldSecret));
      restartEach(cluster, newSecret, List.of());

      // A holder of the old secret alone is now refused, both ways, and applies nothing.
      BatonNode active = cluster.awaitActive(WAIT);
      String outsider =
          cluster.running().stream().filter(n -> n != active).findFirst().orElseThrow().id();
      own.put(outsider, oldSecret);
      accepted.put(outsider, List.of());
      cluster.stop(outsider);
      BatonNode stale = cluster.start(outsider);
      await("handshakes with the old secret refused on both sides")
          .atMost(WAIT)
          .until(
              () ->
                  refusedHandshakes(meters.get(active.id())) > 0
                      && refusedHandshakes(meters.get(outsider)) > 0);
      String key = "rotation/probe";
      cluster.awaitActive(WAIT).kv().put(key, "after".getBytes(StandardCharsets.UTF_8));
      List<KvEvent> seen = new CopyOnWriteArrayList<>();
      stale.kv().watch("rotation/", Runnable::run, seen::add);
      await("the node with the old secret applies nothing")
          .during(cluster.awaitActive(WAIT).timing().electionTimeoutMax().multipliedBy(3))
          .atMost(WAIT)
          .until(() -> seen.isEmpty() && !stale.isActive());
      recordActive(cluster);

      // Given the new secret, the same node rejoins and catches up.
      own.put(outsider, newSecret);
      cluster.stop(outsider);
      BatonNode rejoined = cluster.start(outsider);
      await("the node with the new secret catches up")
          .atMost(WAIT)
          .ignoreExceptions()
          .until(() -> rejoined.kv().get(key).isPresent());
      recordActive(cluster);
      assertThat(tokens).as("tokens seen after each step").isSorted();
    }
  }

  /** Restarts n1..n3 one at a time with {@code secret}, accepting {@code alsoAccepted}. */
  private void restartEach(TestCluster cluster, byte[] secret, List<byte[]> alsoAccepted) {
    for (String id : List.of("n1", "n2", "n3")) {
      own.put(id, secret);
      accepted.put(id, alsoAccepted);
      cluster.stop(id);
      BatonNode restarted = cluster.start(id);
      BatonNode active = recordActive(cluster);
      // The restarted node talks to the others again before the next one goes down: it applies a
      // write made through the active after its restart.
      String key = "rotation/" + id + "-" + System.nanoTime();
      active.kv().put(key, new byte[] {1});
      await(id + " rejoined after its restart")
          .atMost(WAIT)
          .ignoreExceptions()
          .until(() -> restarted.kv().get(key).isPresent());
    }
  }

  private BatonNode recordActive(TestCluster cluster) {
    TestCluster.ActiveSeen seen = cluster.awaitActiveSeen(WAIT);
    tokens.add(seen.token());
    return seen.node();
  }

  private static double refusedHandshakes(MeterRegistry registry) {
    Counter c = registry.find("baton.raft.refused").tag("kind", "handshake").counter();
    return c == null ? 0 : c.count();
  }
}
