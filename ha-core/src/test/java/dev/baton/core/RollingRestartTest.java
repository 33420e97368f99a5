package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Planned maintenance: every member of a two-region cluster with a witness is restarted, one at a
 * time, on its data directory, the way docs/operations/planned-maintenance.md tells an operator to
 * do it: standby and witness first, then a switch-active away from the active, then the former
 * active. Throughout: never two actives, tokens only grow, the KV keeps what was written, and an
 * active exists after every step.
 */
class RollingRestartTest {

  private static final Duration LIVENESS = Duration.ofSeconds(60);

  @Test
  void restartingEveryNodeOneByOneKeepsOneActiveAndTokensGrowing() throws Exception {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      TestCluster.ActiveSeen firstSeen = cluster.awaitActiveSeen(LIVENESS);
      BatonNode first = firstSeen.node();
      List<Long> tokens = new ArrayList<>(List.of(firstSeen.token()));
      first.kv().put("maintenance/marker", "before".getBytes());

      String standby = first.id().equals("n1") ? "n2" : "n1";
      // 1. The standby data node, 2. the witness: graceful stop, start on the same directory,
      // wait until it has caught up with the current activation before touching the next one.
      for (String id : List.of(standby, "w1")) {
        cluster.stop(id);
        BatonNode back = cluster.start(id);
        awaitCaughtUp(cluster, back);
        tokens.add(cluster.awaitActiveSeen(LIVENESS).token());
      }

      // 3. Move the role off the node that is still to be restarted, then restart it.
      BatonNode active = cluster.awaitActive(LIVENESS);
      String formerActive = active.id();
      String target = formerActive.equals("n1") ? "n2" : "n1";
      long switched = active.cluster().switchActive(target, LIVENESS);
      tokens.add(switched);
      cluster.stop(formerActive);
      BatonNode back = cluster.start(formerActive);
      awaitCaughtUp(cluster, back);
      TestCluster.ActiveSeen lastSeen = cluster.awaitActiveSeen(LIVENESS);
      BatonNode last = lastSeen.node();
      tokens.add(lastSeen.token());

      assertThat(tokens).as("tokens seen after each step only grow").isSorted();
      assertThat(lastSeen.token()).isGreaterThan(firstSeen.token());
      assertThat(last.kv().get("maintenance/marker"))
          .get()
          .extracting(KvEntry::valueAsString)
          .isEqualTo("before");
      assertThat(cluster.running()).hasSize(3);
      sampler.close();
      assertThat(sampler.violations()).as("overlapping actives").isEmpty();
      assertThat(sampler.seenActive()).doesNotContain("w1");
      System.out.printf("rolling restart: tokens %s%n", tokens);
    }
  }

  /** The restarted node has applied the log up to the newest activation and knows the active. */
  private static void awaitCaughtUp(TestCluster cluster, BatonNode restarted) {
    await(restarted.id() + " caught up after its restart")
        .atMost(LIVENESS)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              BatonNode active = cluster.active().orElse(null);
              return active != null
                  && restarted.status().highestToken() >= active.token()
                  && restarted.status().activeNodeId().filter(active.id()::equals).isPresent();
            });
  }
}
