package dev.baton.benchmarks;

import dev.baton.core.BatonNode;
import dev.baton.core.LocalPorts;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Three voters in this JVM on loopback, the cluster {@link InJvmFailover} and {@link IdleElections}
 * measure: each node's data directory under one temporary directory, one Raft port secret for all,
 * the nodes started at once (one thread each, so that none waits for another's start).
 */
final class InJvmCluster {
  /** The Raft port's secret, shared by the nodes of this JVM (the deployment configuration). */
  private static final byte[] SECRET = randomSecret();

  final Timing timing;
  final List<Member> members;

  /** The running nodes by id, in member order; a benchmark removes a node it crashed. */
  final Map<String, BatonNode> nodes = new LinkedHashMap<>();

  private final String clusterId;
  private final Path root;

  private InJvmCluster(String name, Timing timing) throws IOException {
    this.timing = timing;
    this.root = Files.createTempDirectory("baton-" + name + "-");
    this.clusterId = name + "-" + System.nanoTime();
    List<Member> m = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      m.add(Member.voter("n" + i, "127.0.0.1:" + LocalPorts.next()));
    }
    this.members = List.copyOf(m);
  }

  /** A benchmark's body: its started cluster and its {@code main}'s arguments in. */
  @FunctionalInterface
  interface Body {
    void run(InJvmCluster cluster, String[] args) throws Exception;
  }

  /**
   * A benchmark's {@code main}: starts the cluster {@code name} with the timing {@code args} ask
   * for from {@code args[1]} on ({@link #timingFrom}), runs {@code body} on it and closes it. Exits
   * 1 when anything fails (no active node in time, say), with the stack trace on stderr: the nodes'
   * threads would otherwise keep the JVM, and scripts/detection waiting on it, alive for good.
   */
  static void runMain(String name, String[] args, Body body) {
    try {
      InJvmCluster cluster = start(name, timingFrom(args, 1));
      body.run(cluster, args);
      cluster.close();
    } catch (Exception | Error e) {
      e.printStackTrace();
      System.exit(1);
    }
  }

  /**
   * The timing a benchmark's arguments ask for: {@code args[first]} and {@code args[first + 1]} as
   * another election timeout range, MIN_MS MAX_MS (the rest scaled to MIN_MS), when both are given;
   * otherwise {@link Timing#DEFAULTS}.
   */
  static Timing timingFrom(String[] args, int first) {
    return args.length > first + 1
        ? Timing.scaledTo(
            Duration.ofMillis(Long.parseLong(args[first])),
            Duration.ofMillis(Long.parseLong(args[first + 1])))
        : Timing.DEFAULTS;
  }

  /**
   * Builds the three nodes with {@code timing} and starts them, each on a thread of its own, and
   * returns once every start has returned. {@code name} names the temporary directory and the
   * cluster.
   */
  static InJvmCluster start(String name, Timing timing) throws IOException, InterruptedException {
    InJvmCluster c = new InJvmCluster(name, timing);
    List<Thread> starters = new ArrayList<>();
    for (Member m : c.members) {
      BatonNode n = c.build(m.id());
      c.nodes.put(m.id(), n);
      Thread t = new Thread(n::start);
      t.start();
      starters.add(t);
    }
    for (Thread t : starters) {
      t.join();
    }
    return c;
  }

  /** A new node {@code id} of this cluster, not started (a restart reuses its data directory). */
  BatonNode build(String id) {
    return BatonNode.builder()
        .clusterId(clusterId)
        .nodeId(id)
        .members(members)
        .dataDir(root.resolve(id))
        .timing(timing)
        .clusterSecret(SECRET)
        // The benchmark creates each directory on the node's first start and never wipes one.
        .bootstrap(!Files.exists(root.resolve(id)))
        .build();
  }

  /** The first of the running nodes seen active, polled every 2 ms. */
  BatonNode awaitActive(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (BatonNode n : nodes.values()) {
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

  /** Closes the running nodes and deletes the temporary directory. */
  void close() throws IOException {
    nodes.values().forEach(BatonNode::close);
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static byte[] randomSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return b;
  }
}
