package dev.baton.benchmarks.jmh;

import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of Baton's KV through Raft: three real nodes in this JVM on loopback (default timing,
 * data directories on disk), one caller thread on the active node. {@code put} commits an entry
 * (leader append, a majority's acknowledgement, apply); {@code linearizableGet} is a read-index
 * read with a fresh heartbeat round (RaftNode#read), no log entry. Compare with {@link
 * EtcdKvBenchmark} in the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class KvBenchmark {
  private TestCluster cluster;
  private KeyValueStore kv;
  private final byte[] value = new byte[64];
  private long n;

  @Setup(Level.Trial)
  public void setUp() {
    cluster = TestCluster.create(3, 0).startAll();
    BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
    kv = active.kv();
    kv.put("bench/get", value);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    cluster.close();
  }

  @Benchmark
  public Object put() {
    return kv.put("bench/put-" + (n++ % 1000), value);
  }

  @Benchmark
  public Object linearizableGet() {
    return kv.get("bench/get");
  }
}
