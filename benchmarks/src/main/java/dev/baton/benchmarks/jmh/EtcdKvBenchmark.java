package dev.baton.benchmarks.jmh;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import java.nio.charset.StandardCharsets;
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
 * The peer of {@link KvBenchmark}: put and linearizable get on a three-member etcd cluster through
 * jetcd (gRPC), one caller thread, same value size. The cluster is started outside JMH by
 * benchmarks/peers/etcd/run-kv.sh, which passes its client URLs in the system property {@code
 * baton.bench.etcd} (comma-separated).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class EtcdKvBenchmark {
  private Client client;
  private KV kv;
  private final ByteSequence value = ByteSequence.from(new byte[64]);
  private final ByteSequence getKey = key("bench/get");
  private final ByteSequence[] putKeys = new ByteSequence[1000];
  private long n;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    String endpoints = System.getProperty("baton.bench.etcd");
    if (endpoints == null || endpoints.isBlank()) {
      throw new IllegalStateException(
          "EtcdKvBenchmark needs -Dbaton.bench.etcd=http://127.0.0.1:PORT,... (the client URLs of"
              + " a running etcd cluster); benchmarks/peers/etcd/run-kv.sh starts one and sets it");
    }
    client = Client.builder().endpoints(endpoints.split(",")).build();
    kv = client.getKVClient();
    for (int i = 0; i < putKeys.length; i++) {
      putKeys[i] = key("bench/put-" + i);
    }
    kv.put(getKey, value).get(10, TimeUnit.SECONDS);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    client.close();
  }

  @Benchmark
  public Object put() throws Exception {
    return kv.put(putKeys[(int) (n++ % putKeys.length)], value).get(10, TimeUnit.SECONDS);
  }

  @Benchmark
  public Object linearizableGet() throws Exception {
    // jetcd's default GetOption is linearizable (not serializable).
    return kv.get(getKey).get(10, TimeUnit.SECONDS);
  }

  private static ByteSequence key(String k) {
    return ByteSequence.from(k, StandardCharsets.UTF_8);
  }
}
