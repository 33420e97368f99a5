package dev.baton.benchmarks.jmh;

import dev.baton.core.testing.StateMachineApply;
import java.util.concurrent.TimeUnit;
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
 * How many committed KV puts per second the state machine applies on one thread: the apply path
 * alone (parse the protobuf command, update the store, record the applied index), with no Raft,
 * network or disk in front of it. Keys cycle over {@code keys} distinct names, values are 64 bytes.
 * The state machine is driven through ha-core's test fixture {@link StateMachineApply}, which owns
 * the internal types: the one class the benchmarks take from ha-core's test-jar (README, "Depends
 * on"); every other fixture comes from baton-testing.
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

  private StateMachineApply apply;

  @Setup(Level.Trial)
  public void setUp() {
    apply = new StateMachineApply(keys, 64);
  }

  @Benchmark
  public Object applyKvPut() throws Exception {
    return apply.applyNextPut();
  }
}
