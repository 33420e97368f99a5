package dev.baton.core.internal;

import dev.baton.core.LocalPorts;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import dev.baton.testing.cluster.TestCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Three real Ratis nodes (n1, n2, n3 on loopback, default timing, a shared cluster secret) with no
 * role controller, for the tests of what {@link RaftNode} does by itself: the heartbeat lease's
 * source and the read-index read. Every node's clock is {@code clock}.
 */
final class RaftTrio implements AutoCloseable {
  final Map<String, RaftNode> nodes = new LinkedHashMap<>();

  /** Starts the three nodes; {@code prefix} names the temporary directory and the cluster. */
  static RaftTrio start(String prefix, Duration operationTimeout, MonotonicClock clock)
      throws IOException {
    RaftTrio trio = new RaftTrio();
    Path root = Files.createTempDirectory("baton-" + prefix + "-");
    byte[] secret = TestCluster.newClusterSecret();
    List<Member> members = new ArrayList<>();
    for (String id : List.of("n1", "n2", "n3")) {
      members.add(Member.voter(id, "127.0.0.1:" + LocalPorts.next()));
    }
    String clusterId = prefix + "-" + System.nanoTime();
    for (Member m : members) {
      NodeConfig config =
          NodeConfig.validated(
              clusterId,
              m.id(),
              members,
              root.resolve(m.id()),
              null,
              0,
              Timing.DEFAULTS,
              operationTimeout,
              new RaftSecurity.SharedSecret(secret, "test"),
              false,
              true,
              Duration.ofSeconds(2),
              10_000,
              Duration.ZERO,
              ActivationHistory.DEFAULT_LIMIT);
      trio.nodes.put(m.id(), new RaftNode(config, new BatonStateMachine(), clock, kind -> {}));
    }
    for (RaftNode n : trio.nodes.values()) {
      n.start();
    }
    return trio;
  }

  /**
   * Closes the nodes all at once: a Raft server takes 1-3 s to stop (its log worker polls once a
   * second; gRPC waits for a graceful channel shutdown after partitions), so one after another made
   * the teardown about 9 s of a test's time for nothing.
   */
  @Override
  public void close() throws Exception {
    List<Thread> closing = new ArrayList<>();
    List<Exception> errors = new CopyOnWriteArrayList<>();
    for (RaftNode n : nodes.values()) {
      Thread t =
          new Thread(
              () -> {
                try {
                  n.close();
                } catch (Exception e) {
                  errors.add(e);
                }
              },
              "test-close-" + n.selfId());
      t.start();
      closing.add(t);
    }
    for (Thread t : closing) {
      t.join();
    }
    if (!errors.isEmpty()) {
      throw errors.get(0);
    }
  }
}
