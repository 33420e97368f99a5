package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.testing.cluster.TestCluster;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.impl.RatisMetricRegistryImpl;
import org.apache.ratis.thirdparty.com.codahale.metrics.Snapshot;
import org.apache.ratis.thirdparty.com.codahale.metrics.Timer;

/**
 * Where a put's time goes, and puts from many writers at once, Baton beside etcd (issue 40).
 *
 * <ol>
 *   <li>The disk's floor: a 128-byte append and {@code fdatasync} (FileChannel.force(false)) in the
 *       Baton cluster's directory, timed alone.
 *   <li>One writer: PUTS puts to Baton's active node, each timed by the caller, then Ratis's own
 *       timers of those puts per node (the server's time from request to reply, the log worker's
 *       write+fsync, the leader's AppendEntries round trip per follower, the apply); then PUTS puts
 *       to etcd, with the deltas of etcd's own histograms (WAL fsync, backend commit) over them.
 *   <li>Concurrent writers: for each thread count, Baton and etcd take turns (the first rotating)
 *       for ROUNDS blocks of SECONDS each; every put is timed; throughput is puts per second of the
 *       blocks.
 * </ol>
 *
 * <p>Three Baton nodes in this JVM (default timing, fsync on), three etcd members started by
 * benchmarks/peers/etcd/run-kv.sh (client URLs in {@code baton.bench.etcd}); loopback, 64-byte
 * values. With {@code WAIT_US,...} the concurrent writers also run on one more Baton cluster per
 * appender gap ({@code raft.server.log.appender.wait-time.min} in µs, system property {@code
 * baton.raft.appenderWaitMicros} while it starts), in the same turns. Run: {@code scripts/bench
 * kv-phases [PUTS] [THREADS,...] [SECONDS] [ROUNDS] [WAIT_US,...]} (defaults 2000, 1,8,32, 5, 3,
 * none).
 */
public final class KvPhases {
  private KvPhases() {}

  private interface Put {
    void put(int thread, long n) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    int puts = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int[] threads =
        Arrays.stream((args.length > 1 ? args[1] : "1,8,32").split(","))
            .mapToInt(Integer::parseInt)
            .toArray();
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    long[] waits =
        args.length > 4
            ? Arrays.stream(args[4].split(",")).mapToLong(Long::parseLong).toArray()
            : new long[0];
    String endpoints = System.getProperty("baton.bench.etcd");
    if (endpoints == null || endpoints.isBlank()) {
      throw new IllegalStateException(
          "KvPhases needs -Dbaton.bench.etcd=http://127.0.0.1:PORT,... (the client URLs of a"
              + " running etcd cluster); scripts/bench kv-phases starts one and sets it");
    }
    byte[] value = new byte[64];
    ByteSequence etcdValue = ByteSequence.from(value);
    ByteSequence[] etcdKeys = new ByteSequence[1000];
    for (int i = 0; i < etcdKeys.length; i++) {
      etcdKeys[i] = ByteSequence.from("bench/put-" + i, StandardCharsets.UTF_8);
    }
    String[] keys = new String[1000];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = "bench/put-" + i;
    }
    TestCluster cluster = TestCluster.create(3, 0).startAll();
    List<TestCluster> others = new ArrayList<>();
    List<String> names = new ArrayList<>(List.of("baton", "etcd"));
    List<Put> systems = new ArrayList<>();
    try (Client client = Client.builder().endpoints(endpoints.split(",")).build()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      KeyValueStore kv = active.kv();
      KV etcd = client.getKVClient();
      Put baton = (t, n) -> kv.put(keys[(int) ((t * 7919L + n) % keys.length)], value);
      Put etcdPut =
          (t, n) ->
              etcd.put(etcdKeys[(int) ((t * 7919L + n) % etcdKeys.length)], etcdValue)
                  .get(10, TimeUnit.SECONDS);
      systems.add(baton);
      systems.add(etcdPut);
      System.out.println("start: " + Results.loadAverage());
      for (int i = 0; i < puts; i++) { // warm-up
        baton.put(0, i);
        etcdPut.put(0, i);
      }

      System.out.println();
      System.out.println("== the disk: 128-byte append + fdatasync, in " + cluster.dataDir("n1"));
      System.out.println(line("fdatasync", fsyncs(cluster.dataDir("n1").getParent(), 1000)));

      System.out.println();
      System.out.println("== one writer, " + puts + " puts, Baton (active " + active.id() + ")");
      Map<String, long[]> before = ratisTimers();
      System.out.println(line("baton put, caller's time", timed(baton, puts)));
      printRatisTimers(before, ratisTimers(), puts);

      System.out.println();
      System.out.println("== one writer, " + puts + " puts, etcd");
      String[] urls = endpoints.split(",");
      Map<String, double[]> etcdBefore = etcdHistograms(urls);
      System.out.println(line("etcd put, caller's time", timed(etcdPut, puts)));
      printEtcdHistograms(etcdBefore, etcdHistograms(urls));

      for (long w : waits) {
        System.setProperty("baton.raft.appenderWaitMicros", Long.toString(w));
        TestCluster c = TestCluster.create(3, 0).startAll();
        others.add(c);
        KeyValueStore okv = c.awaitActive(Duration.ofSeconds(60)).kv();
        System.clearProperty("baton.raft.appenderWaitMicros");
        names.add("baton, appender gap " + w + " us");
        Put p = (t, n) -> okv.put(keys[(int) ((t * 7919L + n) % keys.length)], value);
        for (int i = 0; i < puts; i++) { // warm-up
          p.put(0, i);
        }
        systems.add(p);
      }
      System.out.println();
      System.out.printf(
          Locale.ROOT,
          "== concurrent writers: %d rounds of %d s per system and thread count, in turn%n",
          rounds,
          seconds);
      int m = systems.size();
      for (int t : threads) {
        List<List<double[]>> times = new ArrayList<>();
        for (int i = 0; i < m; i++) {
          times.add(new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
          for (int k = 0; k < m; k++) {
            int which = (r + k) % m; // rotate which goes first
            times.get(which).add(writers(systems.get(which), t, seconds));
          }
        }
        double window = (double) rounds * seconds;
        for (int i = 0; i < m; i++) {
          double[] all = concat(times.get(i));
          System.out.println(concurrent(names.get(i), t, all, all.length / window));
        }
      }
      System.out.println("end: " + Results.loadAverage());
    } finally {
      cluster.close();
      for (TestCluster c : others) {
        c.close();
      }
    }
  }

  private static double[] timed(Put put, int n) throws Exception {
    double[] ms = new double[n];
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      put.put(0, i);
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    return ms;
  }

  /** {@code t} threads putting for {@code seconds}; every put's time in ms. */
  private static double[] writers(Put put, int t, int seconds) throws InterruptedException {
    List<double[]> per = new ArrayList<>();
    int[] counts = new int[t];
    AtomicLong failures = new AtomicLong();
    CountDownLatch done = new CountDownLatch(t);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (int i = 0; i < t; i++) {
      double[] ms = new double[200_000];
      per.add(ms);
      int id = i;
      Thread th =
          new Thread(
              () -> {
                try {
                  long n = 0;
                  while (System.nanoTime() < end && counts[id] < ms.length) {
                    long t0 = System.nanoTime();
                    put.put(id, n++);
                    ms[counts[id]++] = (System.nanoTime() - t0) / 1e6;
                  }
                } catch (Exception e) {
                  failures.incrementAndGet();
                  e.printStackTrace();
                } finally {
                  done.countDown();
                }
              },
              "writer-" + i);
      th.start();
    }
    done.await();
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " writer(s) failed; see above");
    }
    List<double[]> trimmed = new ArrayList<>();
    for (int i = 0; i < t; i++) {
      trimmed.add(Arrays.copyOf(per.get(i), counts[i]));
    }
    return concat(trimmed);
  }

  private static double[] concat(List<double[]> parts) {
    return parts.stream().flatMapToDouble(Arrays::stream).toArray();
  }

  private static double[] fsyncs(Path dir, int n) throws IOException {
    Path f = Files.createTempFile(dir, "fsync-probe", ".bin");
    double[] ms = new double[n];
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(128);
      for (int i = 0; i < n; i++) {
        b.clear();
        long t0 = System.nanoTime();
        ch.write(b);
        ch.force(false);
        ms[i] = (System.nanoTime() - t0) / 1e6;
      }
    } finally {
      Files.deleteIfExists(f);
    }
    return ms;
  }

  /** Every Ratis timer in this JVM: registry prefix + name -> {count, snapshot as below}. */
  private static Map<String, long[]> ratisTimers() {
    Map<String, long[]> out = new TreeMap<>();
    for (RatisMetricRegistry r : MetricRegistries.global().getMetricRegistries()) {
      String prefix = r.getMetricRegistryInfo().getPrefix();
      RatisMetricRegistryImpl impl = (RatisMetricRegistryImpl) r;
      impl.getDropWizardMetricRegistry()
          .getTimers()
          .forEach((name, timer) -> out.put(prefix + " " + name, new long[] {timer.getCount()}));
      impl.getDropWizardMetricRegistry()
          .getTimers()
          .forEach((name, timer) -> TIMERS.put(prefix + " " + name, timer));
    }
    return out;
  }

  private static final Map<String, Timer> TIMERS = new TreeMap<>();

  /**
   * The timers that counted at least half as many events as puts over the run, with their recent
   * median, p99 and mean (Dropwizard's decaying reservoir: mostly the latest events).
   */
  private static void printRatisTimers(
      Map<String, long[]> before, Map<String, long[]> after, int n) {
    System.out.println("Ratis timers that ran at least n/2 times during those puts (ms):");
    after.forEach(
        (name, c) -> {
          long was = before.containsKey(name) ? before.get(name)[0] : 0;
          long count = c[0] - was;
          if (count < n / 2) {
            return;
          }
          Snapshot s = TIMERS.get(name).getSnapshot();
          System.out.printf(
              Locale.ROOT,
              "  %-90s n=%6d  p50 %7.3f  p99 %7.3f  mean %7.3f%n",
              name,
              count,
              s.getMedian() / 1e6,
              s.get99thPercentile() / 1e6,
              s.getMean() / 1e6);
        });
  }

  private static final String[] ETCD_HISTOGRAMS = {
    "etcd_disk_wal_fsync_duration_seconds",
    "etcd_disk_backend_commit_duration_seconds",
    "etcd_network_peer_round_trip_time_seconds",
  };

  /** Per member URL and histogram: {sum, count}. */
  private static Map<String, double[]> etcdHistograms(String[] urls) throws IOException {
    Map<String, double[]> out = new TreeMap<>();
    for (String url : urls) {
      String text;
      try (InputStream in = URI.create(url + "/metrics").toURL().openStream()) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      for (String line : text.split("\n")) {
        for (String h : ETCD_HISTOGRAMS) {
          if (line.startsWith(h + "_sum") || line.startsWith(h + "_count")) {
            String key = url + " " + h;
            double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            double[] sc = out.computeIfAbsent(key, k -> new double[2]);
            sc[line.startsWith(h + "_sum") ? 0 : 1] += v;
          }
        }
      }
    }
    return out;
  }

  private static void printEtcdHistograms(
      Map<String, double[]> before, Map<String, double[]> after) {
    System.out.println("etcd's histograms over those puts, per member (mean, ms):");
    after.forEach(
        (key, sc) -> {
          double[] b = before.getOrDefault(key, new double[2]);
          double count = sc[1] - b[1];
          if (count > 0) {
            System.out.printf(
                Locale.ROOT,
                "  %-90s n=%6.0f  mean %7.3f%n",
                key,
                count,
                (sc[0] - b[0]) / count * 1e3);
          }
        });
  }

  private static String line(String name, double[] ms) {
    return Results.latencyLine(name, ms, 40, 3);
  }

  private static String concurrent(String system, int threads, double[] ms, double perSecond) {
    return String.format(
        Locale.ROOT,
        "%-30s %3d writers: %8.0f puts/s  p50 %.2f ms  p99 %.2f ms  max %.1f ms  (n=%d)",
        system,
        threads,
        perSecond,
        Results.percentile(ms, 50),
        Results.percentile(ms, 99),
        Results.percentile(ms, 100),
        ms.length);
  }
}
