package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.ClusterRecovery;
import dev.baton.testing.cluster.TestCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Recovery from a lost majority (docs/operations/disaster-recovery.md): from a copy of one member's
 * data directory, {@link ClusterRecovery} seeds a new cluster that keeps the KV and the journal and
 * whose first token is above every token of the old cluster and above what the fences hold (I1
 * across the recovery). It refuses while an old member answers, a source of a newer format, and a
 * non-empty target.
 */
class LostMajorityRecoveryTest {

  @Test
  void aNewClusterFromOneSurvivorsCopyKeepsTheStateAndIssuesTokensAboveEveryOldOne()
      throws Exception {
    Path work = Files.createTempDirectory("baton-recover-");
    long oldToken;
    long lastRevision;
    Path copy = work.resolve("n1-copy");
    try (TestCluster old =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))
            .startAll()) {
      BatonNode active = old.awaitActive(Duration.ofSeconds(30));
      // Past the snapshot threshold: the copy holds a snapshot and log entries after it.
      for (int i = 0; i < 150; i++) {
        active.kv().put("k" + (i % 10), ("v" + i).getBytes(StandardCharsets.UTF_8));
      }
      lastRevision =
          active.kv().put("app/config", "kept".getBytes(StandardCharsets.UTF_8)).revision();
      oldToken = active.status().highestToken();
      assertThat(oldToken).isPositive();
      for (BatonNode n : old.running()) {
        old.stop(n.id());
      }
      copyTree(old.dataDir("n1"), copy);

      // An old member that answers (n2, started again on its own): refused, nothing written.
      old.start("n2");
      Path refusedTarget = work.resolve("refused");
      assertThatThrownBy(() -> recover(copy, refusedTarget, "recovered", "r1", oldToken))
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("old member 'n2' still answers")
          .hasMessageContaining("nothing was written");
      assertThat(refusedTarget).doesNotExist();
      old.stop("n2");
    }

    // A copy written by a newer release: refused, naming both versions.
    Path newer = work.resolve("newer-copy");
    copyTree(copy, newer);
    Path identity = newer.resolve("baton-node.properties");
    Files.writeString(
        identity,
        Files.readString(identity)
            .replace(
                "format.version=" + BatonStateMachine.FORMAT_VERSION,
                "format.version=" + (BatonStateMachine.FORMAT_VERSION + 1)));
    assertThatThrownBy(() -> recover(newer, work.resolve("t-newer"), "recovered", "r1", oldToken))
        .isInstanceOf(BatonException.class)
        .hasMessageContaining("format version " + (BatonStateMachine.FORMAT_VERSION + 1))
        .hasMessageContaining("reads up to version " + BatonStateMachine.FORMAT_VERSION);
    assertThat(work.resolve("t-newer")).doesNotExist();

    // The fences hold a token the copy never saw (the lost majority went on without n1).
    long fenceToken = lastRevision + 500;
    try (TestCluster recovered =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))) {
      ClusterRecovery.Result result = null;
      for (Member m : recovered.members()) {
        result =
            ClusterRecovery.recover(
                new RecoveryRequest(
                    copy,
                    recovered.dataDir(m.id()),
                    recovered.clusterId(),
                    m.id(),
                    recovered.members(),
                    fenceToken,
                    1000,
                    Duration.ofMillis(500)));
      }
      assertThat(result.highestToken()).isGreaterThanOrEqualTo(oldToken);
      assertThat(result.floor()).isEqualTo(fenceToken + 1000);
      assertThat(result.keys()).isEqualTo(11);
      assertThat(result.oldMembers()).containsOnlyKeys("n1", "n2", "n3");
      assertThat(result.describe())
          .contains("token floor " + result.floor())
          .contains("kept 11 keys");

      // A target that is not empty: refused.
      assertThatThrownBy(
              () -> recover(copy, recovered.dataDir("n1"), recovered.clusterId(), "n1", 0))
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("is not empty");

      recovered.startAll();
      BatonNode active = recovered.awaitActive(Duration.ofSeconds(60));
      assertThat(active.token())
          .isGreaterThan(result.floor())
          .isGreaterThan(fenceToken)
          .isGreaterThan(oldToken);
      assertThat(active.kv().get("app/config"))
          .get()
          .extracting(KvEntry::valueAsString)
          .isEqualTo("kept");
      assertThat(active.kv().get("k9")).get().extracting(KvEntry::valueAsString).isEqualTo("v149");
      KvEntry written = active.kv().put("after", "recovery".getBytes(StandardCharsets.UTF_8));
      assertThat(written.revision()).isGreaterThan(active.token());
    }
  }

  private static ClusterRecovery.Result recover(
      Path from, Path to, String cluster, String node, long fenceToken) {
    return ClusterRecovery.recover(
        new RecoveryRequest(
            from,
            to,
            cluster,
            node,
            java.util.List.of(Member.voter(node, "127.0.0.1:1")),
            fenceToken,
            0,
            Duration.ofMillis(500)));
  }

  static void copyTree(Path from, Path to) {
    try (Stream<Path> s = Files.walk(from)) {
      s.forEach(
          p -> {
            try {
              Path t = to.resolve(from.relativize(p).toString());
              if (Files.isDirectory(p)) {
                Files.createDirectories(t);
              } else if (!p.getFileName().toString().equals("in_use.lock")) {
                Files.copy(p, t);
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
