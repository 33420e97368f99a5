package dev.baton.benchmarks.jmh;

import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.KvPut;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How many committed KV puts per second {@link BatonStateMachine} applies on one thread: the apply
 * path alone (parse the protobuf command, update the store, record the applied index), with no
 * Raft, network or disk in front of it. Keys cycle over {@code keys} distinct names, values are 64
 * bytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class StateMachineApplyBenchmark {
  @Param({"1000"})
  public int keys;

  private BatonStateMachine stateMachine;
  private ByteString[] commands;
  private long index;

  @Setup(Level.Trial)
  public void setUp() {
    stateMachine = new BatonStateMachine();
    commands = new ByteString[keys];
    byte[] value = new byte[64];
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

  @Benchmark
  public Object applyKvPut() throws Exception {
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
}
