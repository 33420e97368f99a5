package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import dev.baton.testing.tls.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 28, item 5: a {@code bootstrap: true} left in a config shared by every pod must not let a
 * voter whose disk was wiped come back as a fresh voter (no memory of its vote: two leaders in one
 * term become possible). Before it claims an empty directory under {@code bootstrap}, the node asks
 * its peers over its own Raft transport, with its own identity, whether they already hold this
 * cluster's log; one that does makes it refuse, naming the peer, its index and the way back.
 *
 * <p>Before the fix, the wiped n-node started (bootstrap made the empty directory acceptable) and
 * this test failed at its {@code assertThatThrownBy}. Run in all three Raft port modes: the query
 * passes the port guard only as a member's read-only group-info call (cluster secret, PKI), and
 * over an insecure transport the check is made all the same.
 */
class BootstrapLeftoverTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"secret", "pki", "insecure"})
  void aWipedVoterWithBootstrapStillSetRefusesToStartAndTheClusterKeepsItsActive(String mode) {
    TestCertificates ca =
        mode.equals("pki") ? TestCertificates.authority(dir.resolve("ca"), "baton-ca") : null;
    TestCluster.Customizer customizer =
        switch (mode) {
          case "pki" -> (id, b) -> b.tls(ca.issue(id));
          case "insecure" -> (id, b) -> b.insecureTransport();
          default -> (id, b) -> b;
        };
    try (TestCluster cluster = TestCluster.create(3, 0, TestCluster.TIMING, customizer).startAll();
        LogCapture log = LogCapture.baton()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      for (int i = 0; i < 5; i++) {
        active.kv().put("k/" + i, Integer.toString(i).getBytes(StandardCharsets.UTF_8));
      }
      String victim =
          cluster.running().stream()
              .map(BatonNode::id)
              .filter(id -> !id.equals(active.id()))
              .findFirst()
              .orElseThrow();
      // Every running member has applied the writes before the victim goes away.
      long index = active.status().highestToken();
      await("every member has applied the activation")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> cluster.running().stream().allMatch(n -> n.status().highestToken() >= index));
      long token = active.token();
      cluster.crash(victim);
      Path victimDir = cluster.dataDir(victim);
      TestCluster.emptyDirectory(victimDir);

      // The shared config still says bootstrap: true.
      BatonNode wiped = cluster.builderFor(victim).bootstrap(true).build();
      try {
        assertThatThrownBy(wiped::start)
            .isInstanceOf(BatonException.class)
            .hasMessageContaining("bootstrap")
            .hasMessageContaining("data directory " + victimDir)
            .hasMessageContaining("Raft group")
            .hasMessageContaining("log index")
            .hasMessageContaining("nothing was changed")
            .hasMessageContaining("baton members remove " + victim)
            .hasMessageContaining("joining: true")
            .hasMessageContaining("members add --id " + victim)
            .satisfies(
                e ->
                    assertThat(e.getMessage())
                        .as("names a peer that holds the log")
                        .containsAnyOf(
                            cluster.running().stream()
                                .map(n -> "peer " + n.id())
                                .toArray(String[]::new)));
      } finally {
        wiped.close();
      }
      assertThat(victimDir).as("nothing was changed").isEmptyDirectory();

      // The cluster keeps its active: no other node takes the role (on a loaded machine the
      // active may lose a lease round and win the role back, in its own term, with a new token),
      // and it still takes writes.
      await("no other node is active")
          .during(active.timing().electionTimeoutMax().multipliedBy(2))
          .atMost(Duration.ofSeconds(20))
          .until(() -> cluster.running().stream().noneMatch(n -> n != active && n.isActive()));
      assertThat(cluster.awaitActive(Duration.ofSeconds(60))).isSameAs(active);
      assertThat(active.token()).isGreaterThanOrEqualTo(token);
      assertThat(active.kv().put("after", "yes".getBytes(StandardCharsets.UTF_8)).revision())
          .isPositive();
      if (!mode.equals("insecure")) {
        assertThat(log.warnings())
            .as("the members' group-info query passed the Raft port guard")
            .noneMatch(w -> w.contains("REFUSED") && w.contains("GroupInfo"));
      }
    }
  }

  /**
   * The other side of the check: a founder that no member has ever heard from (started after the
   * others elected a leader, as a slow pod would) has nothing to forget, so it is not refused; it
   * starts with its empty log and receives the cluster's log.
   */
  @org.junit.jupiter.api.Test
  void aFounderStartedAfterTheOthersFormedTheClusterStartsAndCatchesUp() {
    try (TestCluster cluster = TestCluster.create(3, 0)) {
      cluster.start("n1");
      cluster.start("n2");
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      active.kv().put("before-n3", "yes".getBytes(StandardCharsets.UTF_8));
      long token = active.status().highestToken();
      BatonNode late = cluster.start("n3");
      await("the late founder receives the log")
          .atMost(Duration.ofSeconds(30))
          .until(() -> late.status().highestToken() >= token);
      assertThat(late.kv().get("before-n3")).isPresent();
    }
  }
}
