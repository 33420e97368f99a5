package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.testing.NewerSnapshot;
import dev.baton.testing.cluster.TestCluster;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A start that fails part-way leaves nothing behind in the JVM (issue 30): before, the parts
 * created before the failure stayed (threads, the Raft server's lock on its storage), so a process
 * that retries, or a test, could not start a node on the same data directory again ("directory is
 * already locked").
 */
class StartFailureTest {
  @TempDir Path dir;

  @Test
  void aStartRefusedOnATakenRaftPortNamesItLeavesNoThreadAndTheDirectoryStartsAgain()
      throws Exception {
    // A node id no other part of this JVM uses, so its threads can be told apart.
    String id = "startfail-" + Long.toHexString(System.nanoTime());
    int port = LocalPorts.next();
    Path data = dir.resolve(id);
    byte[] secret = TestCluster.newClusterSecret();
    BatonNode.Builder builder =
        BatonNode.builder()
            .clusterId("start-failure")
            .nodeId(id)
            .members(Member.voter(id, "127.0.0.1:" + port))
            .dataDir(data)
            .bootstrap(true)
            .clusterSecret(secret);

    BatonNode refused = builder.build();
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
      assertThatThrownBy(refused::start)
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("cannot start its Raft server on 127.0.0.1:" + port);
    }
    await("no thread of the refused node left")
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(threadsOf(id)).isEmpty());
    // A node whose start failed is closed: build a new one.
    assertThatThrownBy(refused::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("CLOSED");
    // A call that needs a started node says why it cannot run (it was a NullPointerException).
    assertThatThrownBy(refused::status)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("node " + id + " did not start");
    assertThatThrownBy(() -> refused.cluster().members())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("node " + id + " did not start");
    refused.close();

    try (BatonNode again = builder.build()) {
      again.start();
      await("the node started again on the same directory active")
          .atMost(Duration.ofSeconds(30))
          .until(again::isActive);
      assertThat(again.kv().put("after", "yes".getBytes(StandardCharsets.UTF_8)).revision())
          .isPositive();
    }
  }

  /**
   * The case another engineer met: a start refused because the Raft storage holds a snapshot in a
   * newer format. Ratis had locked the storage before it read the snapshot; the refused start must
   * free it, and say both versions in its own message.
   */
  @Test
  void aStartRefusedOnANewerSnapshotFreesTheStorageAndNamesBothVersions() throws Exception {
    String id = "snapfail-" + Long.toHexString(System.nanoTime());
    Path data = dir.resolve(id);
    BatonNode.Builder builder =
        BatonNode.builder()
            .clusterId("start-failure-snapshot")
            .nodeId(id)
            .members(Member.voter(id, "127.0.0.1:" + LocalPorts.next()))
            .dataDir(data)
            .bootstrap(true)
            .snapshotThreshold(100)
            .clusterSecret(TestCluster.newClusterSecret());
    Path raft = data.resolve("raft");
    try (BatonNode first = builder.build()) {
      first.start();
      await("active").atMost(Duration.ofSeconds(30)).until(first::isActive);
      NewerSnapshot.putUntilSnapshot(first.kv(), raft);
    }
    NewerSnapshot snapshot = NewerSnapshot.rewrite(raft);
    int newer = snapshot.version();

    BatonNode refused = builder.build();
    assertThatThrownBy(refused::start)
        .isInstanceOf(BatonException.class)
        .hasMessageContaining("has format version " + newer)
        .hasMessageContaining("reads up to version " + BatonStateMachine.FORMAT_VERSION);
    await("no thread of the refused node left")
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(threadsOf(id)).isEmpty());

    snapshot.restore();
    try (BatonNode again = builder.build()) {
      again.start();
      await("the node started again on the same directory active")
          .atMost(Duration.ofSeconds(30))
          .until(again::isActive);
      assertThat(again.kv().get("k0")).isPresent();
    }
  }

  private static List<String> threadsOf(String id) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.contains(id))
        .toList();
  }
}
