package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.testing.NewerSnapshot;
import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * COMPATIBILITY.md: a data directory written by a newer release (its identity file's {@code
 * format.version} above what this release reads) is refused at start, naming both versions, and
 * nothing in it changes. Before, the version was written but never read.
 */
class DataDirectoryFormatTest {

  @Test
  void aDataDirectoryInANewerFormatIsRefusedNamingBothVersionsAndLosesNothing() throws Exception {
    try (TestCluster cluster = TestCluster.create(1, 0)) {
      BatonNode n1 = cluster.start("n1");
      cluster.awaitActive(Duration.ofSeconds(30));
      n1.kv().put("kept", "yes".getBytes(StandardCharsets.UTF_8));
      cluster.stop("n1");

      Path identity = cluster.dataDir("n1").resolve("baton-node.properties");
      String written = Files.readString(identity);
      int newer = BatonStateMachine.FORMAT_VERSION + 1;
      String fromNewerRelease =
          written.replace(
              "format.version=" + BatonStateMachine.FORMAT_VERSION, "format.version=" + newer);
      assertThat(fromNewerRelease).isNotEqualTo(written);
      Files.writeString(identity, fromNewerRelease);

      assertThatThrownBy(() -> cluster.start("n1"))
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("format version " + newer)
          .hasMessageContaining("reads up to version " + BatonStateMachine.FORMAT_VERSION)
          .hasMessageContaining("nothing was changed");
      assertThat(Files.readString(identity)).isEqualTo(fromNewerRelease);

      Files.writeString(identity, written);
      BatonNode again = cluster.start("n1");
      cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(again.kv().get("kept")).isPresent();
    }
  }

  /**
   * COMPATIBILITY.md: a snapshot written in a newer format (by a newer release on this data
   * directory, or installed from a newer leader) is refused, naming both versions, and nothing in
   * it changes; the snapshot written by this release, put back, starts the node with its data.
   */
  @Test
  void aSnapshotInANewerFormatIsRefusedNamingBothVersionsAndLosesNothing() throws Exception {
    try (TestCluster cluster =
        TestCluster.create(1, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))) {
      BatonNode n1 = cluster.start("n1");
      cluster.awaitActive(Duration.ofSeconds(30));
      Path raft = cluster.dataDir("n1").resolve("raft");
      NewerSnapshot.putUntilSnapshot(n1.kv(), raft);
      cluster.stop("n1");

      NewerSnapshot snapshot = NewerSnapshot.rewrite(raft);
      Path file = snapshot.file();
      int newer = snapshot.version();
      byte[] fromNewerRelease = Files.readAllBytes(file);

      // Both versions in the message itself, not only somewhere in Ratis's chain of causes.
      assertThatThrownBy(() -> cluster.start("n1"))
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("has format version " + newer)
          .hasMessageContaining("reads up to version " + BatonStateMachine.FORMAT_VERSION);
      assertThat(Files.readAllBytes(file)).isEqualTo(fromNewerRelease);

      // The refused start left nothing locked in this JVM: with this release's snapshot put back,
      // the same data directory starts again here, with its data.
      snapshot.restore();
      BatonNode again = cluster.start("n1");
      await("the node active again").atMost(Duration.ofSeconds(30)).until(again::isActive);
      assertThat(again.kv().get("k0")).isPresent();
    }
  }
}
