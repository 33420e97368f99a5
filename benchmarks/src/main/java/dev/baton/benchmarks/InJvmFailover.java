package dev.baton.benchmarks;

import dev.baton.core.BatonNode;
import dev.baton.core.Timing;
import dev.baton.testing.cluster.NodeFaults;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

/**
 * Unplanned failover with the default timing, three nodes in one JVM on loopback: crash the active
 * (stop its Raft server without giving anything up) and time how long until another node is active.
 * Also times planned switch-active (request to the target being active).
 *
 * <p>Run: {@code ./mvnw -q -pl benchmarks -am package -DskipTests && java -cp "$(cat
 * benchmarks/target/classpath.txt):benchmarks/target/classes" dev.baton.benchmarks.InJvmFailover 20
 * [MIN_MS MAX_MS]}; {@code scripts/detection} runs it side by side with another build.
 */
public final class InJvmFailover {

  /** Exits 1 when the run fails ({@link InJvmCluster#runMain}). */
  public static void main(String[] args) {
    // Optional: another election timeout range, MIN_MS MAX_MS (the rest scaled to MIN_MS).
    InJvmCluster.runMain("failover", args, InJvmFailover::run);
  }

  private static void run(InJvmCluster cluster, String[] args) throws Exception {
    int trials = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    Timing timing = cluster.timing;
    Map<String, BatonNode> nodes = cluster.nodes;
    double[] unplanned = new double[trials];
    double[] planned = new double[trials];
    for (int i = 0; i < trials; i++) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      long token = active.token();
      long t0 = System.nanoTime();
      NodeFaults.crash(active);
      nodes.remove(active.id());
      BatonNode next = cluster.awaitActive(Duration.ofSeconds(30));
      unplanned[i] = (System.nanoTime() - t0) / 1e6;
      long nextToken = next.token();
      if (nextToken <= token) {
        throw new IllegalStateException("token did not grow: " + token + " -> " + nextToken);
      }
      BatonNode restarted = cluster.build(active.id());
      restarted.start();
      nodes.put(active.id(), restarted);

      String target = nodes.keySet().stream().filter(id -> !id.equals(next.id())).findFirst().get();
      long s0 = System.nanoTime();
      next.cluster().switchActive(target, Duration.ofSeconds(30));
      InJvmCluster.awaitNode(nodes.get(target), Duration.ofSeconds(30));
      planned[i] = (System.nanoTime() - s0) / 1e6;
      System.out.printf(
          "trial %2d: unplanned failover %7.1f ms (token %d -> %d), planned switch %6.1f ms%n",
          i + 1, unplanned[i], token, nextToken, planned[i]);
    }
    System.out.printf(
        "timing: election timeout %d-%d ms, lease %d ms, documented bound %d ms%n",
        timing.electionTimeoutMin().toMillis(),
        timing.electionTimeoutMax().toMillis(),
        timing.lease().toMillis(),
        timing.failoverBound().toMillis());
    report("unplanned failover (crash -> new active)", unplanned);
    report("planned switch-active (request -> target active)", planned);
  }

  static void report(String what, double[] ms) {
    double[] s = ms.clone();
    Arrays.sort(s);
    System.out.printf(
        "%s, n=%d: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms%n",
        what, s.length, pct(s, 50), pct(s, 95), pct(s, 99), s[s.length - 1]);
  }

  static double pct(double[] sorted, double p) {
    int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
  }
}
