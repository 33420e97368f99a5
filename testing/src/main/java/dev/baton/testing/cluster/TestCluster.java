package dev.baton.testing.cluster;

import static org.awaitility.Awaitility.await;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.LocalPorts;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * A Baton cluster of real nodes in this JVM: real Ratis servers on loopback ports, real data
 * directories on disk. Crashed node objects are kept (in {@link #allInstances()}) so tests can go
 * on asking them {@code isActive()}: a crash freezes a node's belief, which is the case the lease
 * argument is about.
 */
public final class TestCluster implements AutoCloseable {

  /** Adjusts the builder of node {@code id}. */
  @FunctionalInterface
  public interface Customizer {
    BatonNode.Builder apply(String id, BatonNode.Builder builder);
  }

  /**
   * Test timing: the production defaults (elections after 0.8–1.2 s, lease 692 ms). Shorter
   * timeouts make tests faster but turn CPU starvation on a loaded 2-core machine into lease churn;
   * safety would hold, the tests' liveness waits would not.
   */
  public static final Timing TIMING = Timing.DEFAULTS;

  private final String clusterId;
  private final Path root;
  private final Timing timing;
  private final List<Member> members;
  private final Map<String, BatonNode> running = new LinkedHashMap<>();
  private final List<BatonNode> instances = new CopyOnWriteArrayList<>();
  private final Customizer customizer;
  private final byte[] secret = newClusterSecret();
  // The first start of each founding member bootstraps the cluster; every later start of it, and
  // every member added later, must find its data directory or be joining.
  private final java.util.Set<String> founders = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.Set<String> started = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private TestCluster(
      String clusterId, Path root, Timing timing, List<Member> members, Customizer customizer) {
    this.clusterId = clusterId;
    this.root = root;
    this.timing = timing;
    this.members = new ArrayList<>(members);
    this.customizer = customizer;
    members.forEach(m -> founders.add(m.id()));
  }

  /** {@code voters} eligible voters n1..nV and {@code witnesses} witnesses w1..wW. */
  public static TestCluster create(int voters, int witnesses) {
    return create(voters, witnesses, TIMING, (id, b) -> b);
  }

  public static TestCluster create(
      int voters, int witnesses, Timing timing, Customizer customizer) {
    try {
      Path root = Files.createTempDirectory("baton-cluster-");
      List<Member> members = new ArrayList<>();
      for (int i = 1; i <= voters; i++) {
        members.add(Member.voter("n" + i, "127.0.0.1:" + freePort()));
      }
      for (int i = 1; i <= witnesses; i++) {
        members.add(Member.witness("w" + i, "127.0.0.1:" + freePort()));
      }
      return new TestCluster("test-" + System.nanoTime(), root, timing, members, customizer);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes everything inside {@code d} and leaves {@code d} itself, empty: a wiped disk. */
  public static void emptyDirectory(Path d) {
    try (java.util.stream.Stream<Path> s = Files.walk(d)) {
      s.sorted(java.util.Comparator.reverseOrder())
          .filter(p -> !p.equals(d))
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static int freePort() {
    return LocalPorts.next();
  }

  /** This cluster's secret, for a member started outside this JVM (base64). */
  public String secretBase64() {
    return java.util.Base64.getEncoder().encodeToString(secret);
  }

  /** 32 random bytes: a cluster secret for {@link BatonNode.Builder#clusterSecret(byte[])}. */
  public static byte[] newClusterSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return b;
  }

  /** Starts every member (in parallel: each waits out its quiet period). */
  public TestCluster startAll() {
    return startTogether(members.stream().map(Member::id).toArray(String[]::new));
  }

  /**
   * Starts the members {@code ids} in parallel, as {@link #startAll()} starts them all: each start
   * waits out its quiet period (and a founding member's bootstrap probe), so one after another
   * takes that long for each.
   */
  public TestCluster startTogether(String... ids) {
    List<Thread> threads = new ArrayList<>();
    List<RuntimeException> errors = new CopyOnWriteArrayList<>();
    for (String id : ids) {
      Thread t =
          new Thread(
              () -> {
                try {
                  start(id);
                } catch (RuntimeException e) {
                  errors.add(e);
                }
              });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    if (!errors.isEmpty()) {
      throw errors.get(0);
    }
    return this;
  }

  /**
   * The builder of member {@code id}: the Raft port is secured with the cluster's secret (as a
   * deployment without a PKI would), unless the customizer chooses otherwise. A founding member
   * whose data directory does not exist yet bootstraps (the first start of a new cluster); a test
   * that wipes a directory empties it, so the node must then be joining, as in production.
   */
  public BatonNode.Builder builderFor(String id) {
    return customizer.apply(
        id,
        BatonNode.builder()
            .clusterId(clusterId)
            .nodeId(id)
            .members(members)
            .dataDir(dataDir(id))
            .timing(timing)
            .bootstrap(founders.contains(id) && !started.contains(id) && !Files.exists(dataDir(id)))
            .clusterSecret(secret));
  }

  public Path dataDir(String id) {
    return root.resolve(id);
  }

  /** Starts (or restarts, on its existing data directory) the member {@code id}. */
  public BatonNode start(String id) {
    BatonNode node = builderFor(id).build();
    started.add(id);
    instances.add(node);
    node.start();
    synchronized (running) {
      running.put(id, node);
    }
    return node;
  }

  /** Adds a member to the list future nodes are built with (for membership changes). */
  public Member newMember(String id, boolean witness) {
    Member m =
        witness
            ? Member.witness(id, "127.0.0.1:" + freePort())
            : Member.voter(id, "127.0.0.1:" + freePort());
    members.add(m);
    return m;
  }

  public void forgetMember(String id) {
    members.removeIf(m -> m.id().equals(id));
  }

  public String clusterId() {
    return clusterId;
  }

  public List<Member> members() {
    return List.copyOf(members);
  }

  public BatonNode node(String id) {
    synchronized (running) {
      BatonNode n = running.get(id);
      if (n == null) {
        throw new IllegalArgumentException("node " + id + " is not running");
      }
      return n;
    }
  }

  public List<BatonNode> running() {
    synchronized (running) {
      return List.copyOf(running.values());
    }
  }

  /** Every node object ever started, crashed ones included. */
  public List<BatonNode> allInstances() {
    return List.copyOf(instances);
  }

  public void crash(String id) {
    BatonNode n;
    synchronized (running) {
      n = running.remove(id);
    }
    if (n != null) {
      NodeFaults.crash(n);
    }
  }

  public void stop(String id) {
    BatonNode n;
    synchronized (running) {
      n = running.remove(id);
    }
    if (n != null) {
      n.close();
    }
  }

  /** The running node that is active now, if any. */
  public Optional<BatonNode> active() {
    return running().stream().filter(BatonNode::isActive).findFirst();
  }

  /** Polls (bounded) until a running node is active, and returns it. */
  public BatonNode awaitActive(Duration timeout) {
    try {
      return await("an active node")
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(10))
          .until(this::active, Optional::isPresent)
          .get();
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "\n" + diagnosis(), e);
    }
  }

  /**
   * What each running node says of itself, and the stacks of the nodes' role and Raft threads: for
   * a wait that timed out (a CI run once had a node log ACTIVE and then answer isActive() false for
   * 30 s without giving the role up, with nothing else in the log).
   */
  public String diagnosis() {
    StringBuilder b = new StringBuilder("nodes:\n");
    for (BatonNode n : running()) {
      try {
        b.append("  ")
            .append(n.id())
            .append(": role ")
            .append(n.role())
            .append(", isActive ")
            .append(n.isActive())
            .append(", status ")
            .append(n.status())
            .append('\n');
      } catch (RuntimeException e) {
        b.append("  ").append(n.id()).append(": ").append(e).append('\n');
      }
    }
    b.append("threads:\n");
    for (java.lang.management.ThreadInfo t :
        java.lang.management.ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
      if (t.getThreadName().startsWith("baton-")
          || t.getThreadName().contains("StateMachineUpdater")) {
        b.append("  \"").append(t.getThreadName()).append("\" ").append(t.getThreadState());
        if (t.getLockName() != null) {
          b.append(" on ").append(t.getLockName()).append(" held by ").append(t.getLockOwnerName());
        }
        b.append('\n');
        for (StackTraceElement f : t.getStackTrace()) {
          b.append("      at ").append(f).append('\n');
        }
      }
    }
    return b.toString();
  }

  /** An active node and its token, read together from one {@code activeContext()}. */
  public record ActiveSeen(BatonNode node, long token) {}

  /**
   * Waits for an active node and returns it with its token, read from one {@code activeContext()}:
   * reading {@code awaitActive(..).token()} in two steps gives 0 when the node gives the role up in
   * between (a lease lapse on a loaded machine), which a "tokens only grow" list then shows as a
   * token going down.
   */
  public ActiveSeen awaitActiveSeen(Duration timeout) {
    return await("an active node and its token")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(10))
        .until(
            () -> {
              for (BatonNode n : running()) {
                Optional<ActiveContext> c = n.activeContext();
                if (c.isPresent()) {
                  return new ActiveSeen(n, c.get().token());
                }
              }
              return null;
            },
            java.util.Objects::nonNull);
  }

  /**
   * Watches the running nodes for {@code period} (polling every 20 ms) and returns the first one
   * seen active, with its token: a safety check over a whole interval, where a wait for a condition
   * would be satisfied by one passing moment.
   */
  public Optional<String> activeSeenDuring(Duration period) {
    AtomicReference<String> seen = new AtomicReference<>();
    long until = System.nanoTime() + period.toNanos();
    await("watching for an active node for " + period.toMillis() + " ms")
        .atMost(period.plusSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              for (BatonNode n : running()) {
                n.activeContext()
                    .ifPresent(
                        c -> seen.compareAndSet(null, n.id() + " (token " + c.token() + ")"));
              }
              return System.nanoTime() - until > 0;
            });
    return Optional.ofNullable(seen.get());
  }

  /**
   * Crashes every running node, all at once: stopping a Ratis server takes about 1 s even when idle
   * (its log worker polls its queue once a second before it sees the stop) and up to 3 s after
   * partitions (gRPC waits that long for a graceful channel shutdown), so one node after another
   * made each cluster's teardown several seconds of a test's time for nothing.
   */
  @Override
  public void close() {
    List<Thread> crashes = new ArrayList<>();
    for (BatonNode n : running()) {
      Thread t =
          new Thread(
              () -> {
                try {
                  NodeFaults.crash(n);
                } catch (RuntimeException e) {
                  // best effort
                }
              },
              "test-cluster-close-" + n.id());
      t.start();
      crashes.add(t);
    }
    boolean interrupted = false;
    for (Thread t : crashes) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    synchronized (running) {
      running.clear();
    }
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // temp files; best effort
    }
  }
}
