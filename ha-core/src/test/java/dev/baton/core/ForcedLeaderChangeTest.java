package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.testing.RaftOutsider;
import dev.baton.core.testing.RaftOutsider.Attempt;
import dev.baton.core.testing.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A leadership change Baton did not ask for (a forced election that skips pre-vote) ends the role
 * at once: {@code isActive()} is false from the moment the node no longer leads the term it
 * activated in, not only when its lease runs out or its controller next looks.
 */
class ForcedLeaderChangeTest {

  @Test
  void isActiveIsFalseFromTheMomentTheActiveNoLongerLeadsTheTermOfItsActivation() throws Exception {
    // Only an insecure transport lets anyone force an election; this test needs one to happen.
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.insecureTransport())
                .startAll();
        RaftOutsider outsider = RaftOutsider.plaintext(cluster.clusterId(), cluster.members())) {
      List<String> violations = new CopyOnWriteArrayList<>();
      for (int round = 0; round < 8; round++) {
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
        long term = active.status().term();
        String target =
            cluster.running().stream().filter(n -> n != active).findFirst().orElseThrow().id();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler =
            new Thread(
                () -> {
                  while (sampling.get()) {
                    // Read Raft's view first: if it already shows another term or leader, the node
                    // cannot be leading the term of its activation when isActive() is asked next.
                    NodeStatus s = active.status();
                    boolean believes = active.isActive();
                    if (believes
                        && (s.term() != term || !s.leaderId().equals(Optional.of(active.id())))) {
                      violations.add(
                          active.id()
                              + " answered isActive() = true after Raft showed term "
                              + s.term()
                              + " leader "
                              + s.leaderId().orElse("none")
                              + " (activated in term "
                              + term
                              + ")");
                    }
                  }
                },
                "leadership-sampler");
        sampler.start();
        try {
          Attempt forced = outsider.startLeaderElection(target, active.id(), term);
          assertThat(forced.succeeded()).as("%s", forced).isTrue();
          await()
              .atMost(Duration.ofSeconds(20))
              .until(() -> active.status().term() > term && !active.isActive());
        } finally {
          sampling.set(false);
          sampler.join();
        }
      }
      assertThat(violations).isEmpty();
    }
  }
}
