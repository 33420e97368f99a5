package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * KV put and linearizable get under two or more Raft settings side by side (issue 40): one
 * three-node cluster per setting, all in this JVM and running at once, and the settings take turns
 * in short blocks (the order rotating each round), so every setting sees the same machine load and
 * the same disk. Each operation is timed alone; the figures are percentiles over all of a setting's
 * operations. One caller thread, 64-byte values, on the active node, as {@code KvBenchmark}.
 *
 * <p>A setting is {@code LABEL=LOG_METADATA/APPENDER_WAIT_MICROS[/reask]}: Ratis's {@code
 * raft.server.log.log-metadata.enabled} and {@code raft.server.log.appender.wait-time.min}, and
 * with {@code /reask} a read that asks for a heartbeat again on every acknowledgement that does not
 * settle it (the behaviour before issue 40's read change) instead of every 2 ms; passed to the
 * nodes through the system properties {@code baton.raft.logMetadata}, {@code
 * baton.raft.appenderWaitMicros} and {@code baton.read.reaskOnAck} while that setting's cluster
 * starts.
 *
 * <p>Run: {@code scripts/bench kv-interleaved [ROUNDS] [BLOCK] [LABEL=true|false/MICROS[/reask]
 * ...]} (defaults 20, 200, {@code before=true/1000/reask now=false/100}).
 */
public final class KvInterleaved {
  private KvInterleaved() {}

  private record Setting(String label, boolean logMetadata, long waitMicros, boolean reask) {
    static Setting parse(String spec) {
      int eq = spec.indexOf('=');
      int slash = spec.indexOf('/');
      if (eq < 1 || slash < eq) {
        throw new IllegalArgumentException(
            "a setting is LABEL=true|false/MICROS[/reask] (log metadata, appender wait), not '"
                + spec
                + "'");
      }
      String meta = spec.substring(eq + 1, slash);
      if (!meta.equals("true") && !meta.equals("false")) {
        throw new IllegalArgumentException(
            "log metadata must be true or false in '" + spec + "', not '" + meta + "'");
      }
      String rest = spec.substring(slash + 1);
      boolean reask = rest.endsWith("/reask");
      rest = rest.replace("/reask", "");
      return new Setting(
          spec.substring(0, eq), Boolean.parseBoolean(meta), Long.parseLong(rest), reask);
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    List<Setting> settings = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      settings.add(Setting.parse(args[i]));
    }
    if (settings.isEmpty()) {
      settings.add(Setting.parse("before=true/1000/reask"));
      settings.add(Setting.parse("now=false/100"));
    }
    if (rounds < 1 || block < 1) {
      throw new IllegalArgumentException("usage: [ROUNDS>=1] [BLOCK>=1] [LABEL=true|false/MICROS]");
    }
    int n = settings.size();
    List<TestCluster> clusters = new ArrayList<>();
    KeyValueStore[] kv = new KeyValueStore[n];
    byte[] value = new byte[64];
    try {
      for (int i = 0; i < n; i++) {
        Setting s = settings.get(i);
        // Read by each node's RaftSettings when its Raft server starts.
        System.setProperty("baton.raft.logMetadata", Boolean.toString(s.logMetadata()));
        System.setProperty("baton.raft.appenderWaitMicros", Long.toString(s.waitMicros()));
        System.setProperty("baton.read.reaskOnAck", Boolean.toString(s.reask()));
        TestCluster c = TestCluster.create(3, 0).startAll();
        clusters.add(c);
        BatonNode active = c.awaitActive(Duration.ofSeconds(60));
        kv[i] = active.kv();
        kv[i].put("bench/get", value);
      }
      System.clearProperty("baton.raft.logMetadata");
      System.clearProperty("baton.raft.appenderWaitMicros");
      System.clearProperty("baton.read.reaskOnAck");
      for (int i = 0; i < n; i++) { // warm-up
        for (int w = 0; w < 5; w++) {
          puts(kv[i], value, block, new double[block], 0);
          gets(kv[i], block, new double[block], 0);
        }
      }
      System.out.println("start: " + Results.loadAverage());
      double[][] put = new double[n][rounds * block];
      double[][] get = new double[n][rounds * block];
      for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < n; k++) {
          int i = (r + k) % n; // rotate which goes first
          puts(kv[i], value, block, put[i], r * block);
          gets(kv[i], block, get[i], r * block);
        }
      }
      System.out.println("end: " + Results.loadAverage());
      System.out.printf(
          Locale.ROOT,
          "%d rounds of %d puts then %d gets per setting, in turn%n",
          rounds,
          block,
          block);
      for (int i = 0; i < n; i++) {
        Setting s = settings.get(i);
        String name =
            s.label()
                + " (log-metadata "
                + s.logMetadata()
                + ", appender wait-time.min "
                + s.waitMicros()
                + " us, "
                + (s.reask() ? "re-ask on each ack" : "re-ask every 2 ms")
                + ")";
        System.out.println(line(name + " put", put[i]));
        System.out.println(line(name + " get", get[i]));
      }
    } finally {
      for (TestCluster c : clusters) {
        c.close();
      }
    }
  }

  private static void puts(KeyValueStore kv, byte[] value, int block, double[] out, int at) {
    for (int j = 0; j < block; j++) {
      long t0 = System.nanoTime();
      kv.put("bench/put-" + (j % 1000), value);
      out[at + j] = (System.nanoTime() - t0) / 1e6;
    }
  }

  private static void gets(KeyValueStore kv, int block, double[] out, int at) {
    for (int j = 0; j < block; j++) {
      long t0 = System.nanoTime();
      kv.get("bench/get");
      out[at + j] = (System.nanoTime() - t0) / 1e6;
    }
  }

  private static String line(String name, double[] ms) {
    return Results.latencyLine(name, ms, 70, 2);
  }
}
