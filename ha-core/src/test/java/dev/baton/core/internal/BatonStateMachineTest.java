package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.testing.logs.LogCapture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.raftlog.LogProtoUtils;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

/**
 * The state machine never fails on an entry it cannot use: on the leader it refuses it before it is
 * appended; a committed one (from a log written before that check, or by a rogue leader over an
 * insecure transport) is skipped and counted, and the entries after it still apply.
 */
class BatonStateMachineTest {
  private final ClientId local = ClientId.randomId();
  private final List<String> rejected = new ArrayList<>();

  private BatonStateMachine machine() {
    BatonStateMachine sm = new BatonStateMachine();
    sm.trustLocalClient(local);
    sm.onRejected((stage, reason) -> rejected.add(stage + ":" + reason));
    return sm;
  }

  @Test
  void anUnreadableCommittedEntryIsSkippedCountedAndLoggedAndTheNextOneStillApplies()
      throws Exception {
    BatonStateMachine sm = machine();
    try (LogCapture log = LogCapture.baton()) {
      CommandResult garbage = apply(sm, 1, "\u00ff\u00fe not protobuf".getBytes());
      assertThat(garbage.getApplied()).isFalse();
      assertThat(garbage.getRefusal()).contains("entry 1 is not a Baton command");
      CommandResult empty = apply(sm, 2, new byte[0]);
      assertThat(empty.getApplied()).isFalse();
      CommandResult put =
          apply(
              sm,
              3,
              Command.newBuilder()
                  .setFormatVersion(1)
                  .setKvPut(
                      KvPut.newBuilder()
                          .setKey("k")
                          .setValue(com.google.protobuf.ByteString.copyFromUtf8("v")))
                  .build()
                  .toByteArray());
      assertThat(put.getApplied()).isTrue();
      assertThat(rejected).containsExactly("apply:unreadable", "apply:unknown-kind");
      assertThat(sm.getLastAppliedTermIndex().getIndex()).isEqualTo(3);
      assertThat(log.warnings()).anyMatch(w -> w.contains("skipped committed entry"));
    }
  }

  /**
   * COMPATIBILITY.md: a member that meets a committed entry in a newer format stops rather than
   * skip it. Before, it skipped the entry and applied the next ones, so its state (the activation,
   * the KV) no longer matched its peers'. Now nothing from that entry on is applied, the node is
   * told to stop once, with both versions named, and lastApplied stays before the entry, so that an
   * upgraded node replays from it: nothing is lost.
   */
  @Test
  void aCommittedEntryInANewerFormatStopsTheStateMachineInsteadOfBeingSkipped() throws Exception {
    BatonStateMachine sm = machine();
    List<String> stops = new java.util.concurrent.CopyOnWriteArrayList<>();
    sm.onUnreadableLog(stops::add);
    assertThat(apply(sm, 1, put("a", "1", 1)).getApplied()).isTrue();
    CommandResult newer = apply(sm, 2, put("b", "2", BatonStateMachine.FORMAT_VERSION + 1));
    assertThat(newer.getApplied()).isFalse();
    CommandResult after = apply(sm, 3, put("c", "3", 1));
    assertThat(after.getApplied()).as("an entry after the unreadable one").isFalse();
    assertThat(sm.getLastAppliedTermIndex().getIndex()).isEqualTo(1);
    await().atMost(java.time.Duration.ofSeconds(5)).until(() -> !stops.isEmpty());
    assertThat(stops)
        .singleElement()
        .asString()
        .contains("committed entry 2 has format version " + (BatonStateMachine.FORMAT_VERSION + 1))
        .contains("reads up to version " + BatonStateMachine.FORMAT_VERSION)
        .contains("upgrade this node");
    assertThat(sm.stoppedAt()).isPresent();
    assertThat(rejected).containsExactly("apply:format");
  }

  private static byte[] put(String key, String value, int format) {
    return Command.newBuilder()
        .setFormatVersion(format)
        .setKvPut(
            KvPut.newBuilder()
                .setKey(key)
                .setValue(com.google.protobuf.ByteString.copyFromUtf8(value)))
        .build()
        .toByteArray();
  }

  /**
   * A watch "after revision N" opened on a node that has not applied N yet (a follower behind the
   * leader that took the client's write N) gets no event at or below N: not from the replay, which
   * has nothing yet, and not from the entries it applies next. Before, the live events had no lower
   * bound, and this watch also got N-1 and N (seen in ControlServerTest under load: a watch after
   * revision 7 on a follower delivered the PUT at 7).
   */
  @Test
  void aWatchAfterARevisionNotAppliedYetGetsNothingAtOrBelowIt() throws Exception {
    BatonStateMachine sm = machine();
    apply(sm, 1, put("k/a", "1", 1));
    List<Long> seen = new CopyOnWriteArrayList<>();
    try (AutoCloseable watch = sm.watch("k/", 3, Runnable::run, e -> seen.add(e.revision()))) {
      apply(sm, 2, put("k/b", "2", 1));
      apply(sm, 3, put("k/c", "3", 1));
      apply(sm, 4, put("k/d", "4", 1));
      await().until(() -> seen.contains(4L));
      assertThat(seen).containsExactly(4L);
    }
  }

  @Test
  void theLeaderRefusesUnreadableUnknownAndForeignRoleEntriesBeforeAppendingThem()
      throws Exception {
    BatonStateMachine sm = machine();
    ClientId outsider = ClientId.randomId();
    byte[] activate =
        Command.newBuilder()
            .setFormatVersion(1)
            .setActivate(Activate.newBuilder().setNodeId("n2").setTerm(3))
            .build()
            .toByteArray();
    assertThat(start(sm, outsider, "garbage".getBytes()).getException())
        .hasMessageContaining("unreadable");
    assertThat(start(sm, outsider, new byte[0]).getException())
        .hasMessageContaining("no known kind");
    assertThat(start(sm, outsider, activate).getException())
        .hasMessageContaining("only the leader's own process may propose");
    assertThat(
            start(sm, outsider, Command.newBuilder().setFormatVersion(9).build().toByteArray())
                .getException())
        .hasMessageContaining("format version 9");
    // The same activation from the node's own process is admitted.
    assertThat(start(sm, local, activate).getException()).isNull();
    assertThat(rejected)
        .containsExactly(
            "admission:unreadable",
            "admission:unknown-kind",
            "admission:not-local",
            "admission:format");
  }

  private static TransactionContext start(BatonStateMachine sm, ClientId client, byte[] bytes)
      throws Exception {
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(client)
            .setServerId(RaftPeerId.valueOf("n1"))
            .setGroupId(RaftGroupId.randomId())
            .setCallId(1)
            .setMessage(Message.valueOf(ByteString.copyFrom(bytes)))
            .setType(RaftClientRequest.writeRequestType())
            .build();
    return sm.startTransaction(request);
  }

  private CommandResult apply(BatonStateMachine sm, long index, byte[] bytes) throws Exception {
    StateMachineLogEntryProto smEntry =
        LogProtoUtils.toStateMachineLogEntryProto(
            local, index, StateMachineLogEntryProto.Type.WRITE, ByteString.copyFrom(bytes), null);
    LogEntryProto entry = LogProtoUtils.toLogEntryProto(smEntry, 1, index);
    TransactionContext trx =
        TransactionContext.newBuilder().setStateMachine(sm).setLogEntry(entry).build();
    Message reply = sm.applyTransaction(trx).get();
    return CommandResult.parseFrom(reply.getContent().toByteArray());
  }
}
