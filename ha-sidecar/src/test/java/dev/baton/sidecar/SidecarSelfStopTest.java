package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.RaftNode;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.testing.cluster.SnapshotsOnDisk;
import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

/**
 * A sidecar whose node stops by itself exits non-zero and says why (issue 36): it does not serve on
 * with a dead node. The node stops on a committed entry in a format newer than this release reads
 * (COMPATIBILITY.md), put into the node's own Raft log while the sidecar is down, as a newer
 * release's leader would have replicated it. On the old code the sidecar kept running after "node
 * n1: STOPPING", and {@link #aNodeThatStopsByItselfTakesTheSidecarDownWithStatus3} timed out
 * waiting for the process to exit.
 *
 * <p>It uses ha-core's internals (the {@code Command} wire format, its format version, the Raft
 * group id of a cluster id), the only test outside ha-core allowed to (listed with the reason in
 * {@code layout.InternalPackagesTest}): forging an entry that this release cannot read is, by
 * design, nothing the API offers.
 */
class SidecarSelfStopTest {

  @Test
  void aNodeThatStopsByItselfTakesTheSidecarDownWithStatus3() throws Exception {
    try (SidecarProcesses procs = new SidecarProcesses(1)) {
      procs.startAll();
      procs.awaitSingleActive(Duration.ofSeconds(90));
      SidecarProcesses.Node n1 = procs.nodes.get("n1");
      n1.process.destroy(); // SIGTERM: a graceful stop
      assertThat(n1.process.waitFor(60, TimeUnit.SECONDS)).as(procs.logTails(30)).isTrue();

      appendEntryInNewerFormat(procs, n1);

      procs.start("n1");
      Process p = n1.process;
      await("the sidecar exits once its node stopped by itself")
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> !p.isAlive());
      assertThat(p.exitValue()).as(procs.log("n1")).isEqualTo(3);
      assertThat(procs.log("n1"))
          .contains("node n1: STOPPING")
          .contains("stopped by itself, exiting with status 3")
          .contains("format version " + (BatonStateMachine.FORMAT_VERSION + 1));
    }
  }

  /**
   * Opens n1's Raft storage with a plain Ratis server (no admission check, the sidecar is stopped)
   * and commits one Baton command in the next format version.
   */
  private static void appendEntryInNewerFormat(SidecarProcesses procs, SidecarProcesses.Node n1)
      throws Exception {
    RaftProperties properties = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(
        properties, List.of(new File(procs.dir.resolve("n1-data").toFile(), "raft")));
    GrpcConfigKeys.Server.setHost(properties, "127.0.0.1");
    GrpcConfigKeys.Server.setPort(properties, n1.raft);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, false);
    RaftPeer peer = RaftPeer.newBuilder().setId("n1").setAddress("127.0.0.1:" + n1.raft).build();
    RaftGroup group = RaftGroup.valueOf(RaftNode.groupId("sidecar-test"), peer);
    Command newer =
        Command.newBuilder()
            .setFormatVersion(BatonStateMachine.FORMAT_VERSION + 1)
            .setKvPut(
                KvPut.newBuilder()
                    .setKey("from-a-newer-release")
                    .setValue(com.google.protobuf.ByteString.copyFromUtf8("x")))
            .build();
    try (RaftServer server =
        RaftServer.newBuilder()
            .setServerId(peer.getId())
            .setGroup(group)
            .setProperties(properties)
            .setStateMachine(new SnapshotsOnDisk())
            .setOption(RaftStorage.StartupOption.RECOVER)
            .build()) {
      server.start();
      try (RaftClient client =
          RaftClient.newBuilder().setRaftGroup(group).setProperties(new RaftProperties()).build()) {
        RaftClientReply reply =
            client.io().send(Message.valueOf(ByteString.copyFrom(newer.toByteArray())));
        assertThat(reply.isSuccess()).as("%s", reply).isTrue();
      }
    }
  }
}
