package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.Genesis;
import dev.baton.core.internal.RaftNode;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.core.testing.RaftOutsider;
import dev.baton.testing.cluster.SnapshotsOnDisk;
import dev.baton.testing.cluster.TestCluster;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mixed-version cluster (issue 36, COMPATIBILITY.md): a newer release's member leads and commits
 * an entry in a format this release does not know. Every member on this release stops at that
 * entry, naming both versions, and loses nothing: the entry stays in its log at the same index, so
 * a restart on the same data directory stops at it again (an upgraded release would apply it from
 * there). {@code BatonStateMachineTest} covers one state machine and {@code SidecarSelfStopTest} a
 * single node whose log was edited while it was down; this is the case between running members.
 *
 * <p>The newer release is a plain Ratis server in member n3's place whose state machine applies
 * whatever it is given (no release writes format {@code FORMAT_VERSION + 1} yet); n1 and n2 are
 * real Baton nodes of this release. The Raft port is plaintext, as the plain server cannot
 * authenticate.
 */
class MixedVersionClusterTest {
  private static final int NEWER = BatonStateMachine.FORMAT_VERSION + 1;
  private static final Pattern STOPPED_AT = Pattern.compile("committed entry (\\d+) has format");

  @TempDir Path newerDir;

  @Test
  void membersOfThisReleaseStopAtACommittedEntryInANewerFormatAndLoseNothing() throws Exception {
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.insecureTransport())) {
      List<Member> members = cluster.members();
      List<RaftPeer> peers =
          members.stream()
              .map(m -> RaftPeer.newBuilder().setId(m.id()).setAddress(m.address()).setPriority(1))
              .map(RaftPeer.Builder::build)
              .toList();
      RaftGroup group = RaftGroup.valueOf(RaftNode.groupId(cluster.clusterId()), peers);
      // n1 and n2 together: each one's bootstrap probe waits for n3, which is not up yet.
      CompletableFuture<BatonNode> starting =
          CompletableFuture.supplyAsync(() -> cluster.start("n2"));
      BatonNode n1 = cluster.start("n1");
      BatonNode n2 = starting.get(60, TimeUnit.SECONDS);
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      active.kv().put("before", "kept".getBytes(StandardCharsets.UTF_8));

      try (RaftServer newer = newerRelease(group, members.get(2), newerDir, cluster.clusterId());
          RaftClient client =
              RaftClient.newBuilder()
                  .setRaftGroup(group)
                  .setProperties(new RaftProperties())
                  .build()) {
        newer.start();
        // Baton serves Raft admin calls to nobody over the network, so the newer member is handed
        // the lead with the server RPC a leader sends to hand over (its own port is unguarded).
        var n3 = newer.getDivision(group.getGroupId());
        await("the newer member leads")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(500))
            .until(
                () -> {
                  var info = n3.getInfo();
                  if (!info.isLeader()
                      && info.getLeaderId() != null
                      && n3.getRaftLog().getLastCommittedIndex() > 0) {
                    try (RaftOutsider handOver =
                        RaftOutsider.plaintext(cluster.clusterId(), members)) {
                      handOver.startLeaderElection(
                          "n3", info.getLeaderId().toString(), info.getCurrentTerm());
                    }
                  }
                  return n3.getInfo().isLeader();
                });

        Command entry =
            Command.newBuilder()
                .setFormatVersion(NEWER)
                .setKvPut(
                    KvPut.newBuilder()
                        .setKey("from-a-newer-release")
                        .setValue(com.google.protobuf.ByteString.copyFromUtf8("x")))
                .build();
        RaftClientReply reply =
            client.io().send(Message.valueOf(ByteString.copyFrom(entry.toByteArray())));
        assertThat(reply.isSuccess()).as("the newer leader commits its entry: %s", reply).isTrue();
        long index = reply.getLogIndex();

        for (BatonNode node : List.of(n1, n2)) {
          String reason = stopReason(node);
          assertThat(reason)
              .as("%s names the entry and both versions", node.id())
              .contains("committed entry " + index + " has format version " + NEWER)
              .contains("this node reads up to version " + BatonStateMachine.FORMAT_VERSION);
          assertThat(node.isActive()).isFalse();
        }

        // Nothing lost: n1, started again on its data directory beside the newer member, meets the
        // same entry at the same index and stops there again instead of skipping it.
        cluster.stop("n1");
        cluster.stop("n2");
        BatonNode again = cluster.start("n1");
        String reason = stopReason(again);
        Matcher m = STOPPED_AT.matcher(reason);
        assertThat(m.find()).as(reason).isTrue();
        assertThat(Long.parseLong(m.group(1))).isEqualTo(index);
        assertThat(reason).contains("format version " + NEWER);
      }
    }
  }

  private static String stopReason(BatonNode node) throws Exception {
    CompletableFuture<String> stopped = node.stoppedItself().toCompletableFuture();
    return stopped.get(30, TimeUnit.SECONDS);
  }

  /** Member n3 on a newer release: a Ratis server whose state machine takes any entry. */
  private static RaftServer newerRelease(RaftGroup group, Member self, Path dir, String clusterId)
      throws Exception {
    // As every founder of a release with the genesis starts (RaftSeed): a member whose log were
    // empty could not be elected over the others' logs, nor would its vote count.
    Genesis.write(dir, clusterId);
    RaftProperties properties = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(properties, List.of(new File(dir.toFile(), "raft")));
    String[] hostPort = self.address().split(":");
    GrpcConfigKeys.Server.setHost(properties, hostPort[0]);
    GrpcConfigKeys.Server.setPort(properties, Integer.parseInt(hostPort[1]));
    // Baton's election timing and pre-vote, so this member does not disrupt the others' leader.
    RaftServerConfigKeys.Rpc.setTimeoutMin(
        properties,
        TimeDuration.valueOf(
            TestCluster.TIMING.electionTimeoutMin().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(
        properties,
        TimeDuration.valueOf(
            TestCluster.TIMING.electionTimeoutMax().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.LeaderElection.setPreVote(properties, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, false);
    return RaftServer.newBuilder()
        .setServerId(RaftPeerId.valueOf(self.id()))
        .setGroup(group)
        .setProperties(properties)
        .setStateMachine(new SnapshotsOnDisk())
        .setOption(RaftStorage.StartupOption.RECOVER)
        .build();
  }
}
