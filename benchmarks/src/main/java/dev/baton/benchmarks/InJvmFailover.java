package dev.baton.benchmarks;

import dev.baton.core.BatonNode;
import dev.baton.core.LocalPorts;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import dev.baton.testing.cluster.NodeFaults;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

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

  public static void main(String[] args) throws Exception {
    int trials = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    // Optional: another election timeout range, MIN_MS MAX_MS (the rest scaled to MIN_MS).
    Timing timing =
        args.length > 2
            ? Timing.scaledTo(
                Duration.ofMillis(Long.parseLong(args[1])),
                Duration.ofMillis(Long.parseLong(args[2])))
            : Timing.DEFAULTS;
    Path root = Files.createTempDirectory("baton-failover-");
    List<Member> members = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      members.add(Member.voter("n" + i, "127.0.0.1:" + freePort()));
    }
    String cluster = "bench-" + System.nanoTime();
    Map<String, BatonNode> nodes = new LinkedHashMap<>();
    List<Thread> starters = new ArrayList<>();
    for (Member m : members) {
      BatonNode n = build(cluster, m.id(), members, root, timing);
      nodes.put(m.id(), n);
      Thread t = new Thread(n::start);
      t.start();
      starters.add(t);
    }
    for (Thread t : starters) {
      t.join();
    }
    double[] unplanned = new double[trials];
    double[] planned = new double[trials];
    for (int i = 0; i < trials; i++) {
      BatonNode active = awaitActive(nodes.values(), Duration.ofSeconds(30));
      long token = active.token();
      long t0 = System.nanoTime();
      NodeFaults.crash(active);
      nodes.remove(active.id());
      BatonNode next = awaitActive(nodes.values(), Duration.ofSeconds(30));
      unplanned[i] = (System.nanoTime() - t0) / 1e6;
      long nextToken = next.token();
      if (nextToken <= token) {
        throw new IllegalStateException("token did not grow: " + token + " -> " + nextToken);
      }
      BatonNode restarted = build(cluster, active.id(), members, root, timing);
      restarted.start();
      nodes.put(active.id(), restarted);

      String target = nodes.keySet().stream().filter(id -> !id.equals(next.id())).findFirst().get();
      long s0 = System.nanoTime();
      next.cluster().switchActive(target, Duration.ofSeconds(30));
      awaitNode(nodes.get(target), Duration.ofSeconds(30));
      planned[i] = (System.nanoTime() - s0) / 1e6;
      System.out.printf(
          "trial %2d: unplanned failover %7.1f ms (token %d -> %d), planned switch %6.1f ms%n",
          i + 1, unplanned[i], token, nextToken, planned[i]);
    }
    nodes.values().forEach(BatonNode::close);
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
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

  /** The Raft port's secret, shared by the nodes of this JVM (the deployment configuration). */
  private static final byte[] SECRET = randomSecret();

  private static byte[] randomSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return b;
  }

  static BatonNode build(
      String cluster, String id, List<Member> members, Path root, Timing timing) {
    return BatonNode.builder()
        .clusterId(cluster)
        .nodeId(id)
        .members(members)
        .dataDir(root.resolve(id))
        .timing(timing)
        .clusterSecret(SECRET)
        // The benchmark creates each directory on the node's first start and never wipes one.
        .bootstrap(!java.nio.file.Files.exists(root.resolve(id)))
        .build();
  }

  static BatonNode awaitActive(Iterable<BatonNode> nodes, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (BatonNode n : nodes) {
        if (n.isActive()) {
          return n;
        }
      }
      TimeUnit.MILLISECONDS.sleep(2);
    }
    throw new IllegalStateException("no active node within " + timeout);
  }

  static void awaitNode(BatonNode node, Duration timeout) throws InterruptedException {
    Optional<?> ctx = node.awaitActive(timeout);
    if (ctx.isEmpty()) {
      throw new IllegalStateException(node.id() + " not active within " + timeout);
    }
  }

  static int freePort() throws IOException {
    return LocalPorts.next();
  }
}
