package dev.baton.core.testing;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.KvPut;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.server.raftlog.LogProtoUtils;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * One job: drives the state machine's apply path directly, with no Raft, network or disk in front
 * of it, for the benchmarks module's {@code StateMachineApplyBenchmark}: each call commits the next
 * KV put as if Raft had (parse the protobuf command, update the store, record the applied index).
 * It keeps {@code dev.baton.core.internal} out of the benchmarks module's code.
 */
public final class StateMachineApply {
  private final BatonStateMachine stateMachine = new BatonStateMachine();
  private final ByteString[] commands;
  private long index;

  /** Puts that cycle over {@code keys} distinct keys, each with a value of {@code valueBytes}. */
  public StateMachineApply(int keys, int valueBytes) {
    commands = new ByteString[keys];
    byte[] value = new byte[valueBytes];
    for (int i = 0; i < keys; i++) {
      commands[i] =
          ByteString.copyFrom(
              Command.newBuilder()
                  .setFormatVersion(BatonStateMachine.FORMAT_VERSION)
                  .setKvPut(
                      KvPut.newBuilder()
                          .setKey("bench/key-" + i)
                          .setValue(com.google.protobuf.ByteString.copyFrom(value)))
                  .build()
                  .toByteArray());
    }
  }

  /** Applies the next put as the committed entry after the last one; returns the reply. */
  public Object applyNextPut() throws Exception {
    long i = ++index;
    LogEntryProto entry =
        LogEntryProto.newBuilder()
            .setIndex(i)
            .setTerm(1)
            .setStateMachineLogEntry(
                StateMachineLogEntryProto.newBuilder()
                    .setLogData(commands[(int) (i % commands.length)]))
            .build();
    TransactionContext trx =
        TransactionContext.newBuilder()
            .setStateMachine(stateMachine)
            .setServerRole(RaftPeerRole.FOLLOWER)
            .setLogEntry(entry)
            .build();
    return stateMachine.applyTransaction(trx).get();
  }

  /**
   * Applies {@code command} to {@code sm} as the entry Raft committed at {@code index} in {@code
   * term}, asserts that the state machine applied it, and returns its result.
   */
  public static CommandResult committed(
      BatonStateMachine sm, long term, long index, Command command) throws Exception {
    StateMachineLogEntryProto smEntry =
        LogProtoUtils.toStateMachineLogEntryProto(
            ClientId.randomId(),
            index,
            StateMachineLogEntryProto.Type.WRITE,
            ByteString.copyFrom(command.toByteArray()),
            null);
    LogEntryProto entry = LogProtoUtils.toLogEntryProto(smEntry, term, index);
    TransactionContext trx =
        TransactionContext.newBuilder().setStateMachine(sm).setLogEntry(entry).build();
    CommandResult result =
        CommandResult.parseFrom(sm.applyTransaction(trx).get().getContent().toByteArray());
    // No AssertJ here: the benchmarks load this class without the test libraries.
    if (!result.getApplied()) {
      throw new AssertionError("entry " + index + " (" + result + ") was not applied");
    }
    return result;
  }
}
