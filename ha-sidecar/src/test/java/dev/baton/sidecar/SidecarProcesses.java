package dev.baton.sidecar;

import static org.awaitility.Awaitility.await;

import dev.baton.core.LocalPorts;
import dev.baton.testing.process.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;

/**
 * Real sidecar processes for tests: {@code java -cp <test classpath> dev.baton.sidecar.Main sidecar
 * --config nX.yaml}, each with its own ports, data directory and log file, each a {@link ChildJvm}
 * (its own process group, killed whole on {@link #close()}).
 */
final class SidecarProcesses implements AutoCloseable {

  /** One sidecar. */
  static final class Node {
    final String id;
    final int raft = freePort();
    final int control = freePort();
    final int http = freePort();

    /** Where Raft and the control API listen when behind a port mapping (0: on raft, control). */
    int raftListen;

    int controlListen;
    Path config;
    boolean joining;
    ChildJvm jvm;
    Process process;

    /** The address its Raft, control and HTTP ports listen on, and others dial. */
    String host = "127.0.0.1";

    /** Goes before its {@code java} command (e.g. {@code ip netns exec NAME}). */
    List<String> launchPrefix = List.of();

    Node(String id) {
      this.id = id;
    }

    String controlAddress() {
      return host + ":" + control;
    }
  }

  /**
   * Where a node runs: the address it listens on and is dialled at, and the prefix of its launch
   * command. A node inside a {@link NetworkNamespace} listens on the namespace's address and
   * launches with {@link NetworkNamespace#command}; the others listen on the namespace link's host
   * end, the only address of this machine that a process inside reaches.
   */
  record Placement(String host, List<String> launchPrefix) {}

  final Path dir;
  final Path hooks;
  final Map<String, Node> nodes = new LinkedHashMap<>();

  /** Variables added to each sidecar's environment (beside the test JVM's own) at its start. */
  final Map<String, String> environment = new LinkedHashMap<>();

  private final HttpClient httpClient =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofMillis(500))
          .build();

  private final Set<String> witnesses;
  private final BiFunction<Path, Node, String> promotion;
  private final Map<String, Integer> priorities = new LinkedHashMap<>();

  SidecarProcesses(int count) throws IOException {
    this(
        java.util.stream.IntStream.rangeClosed(1, count).mapToObj(i -> "n" + i).toList(),
        Set.of(),
        null,
        false);
  }

  /**
   * Sidecars behind port mappings: each node advertises {@code raft} and {@code control} (what the
   * others dial) but listens on other ports ({@code raft.listen}, {@code control.listen}), and a
   * {@link PortForwarder} per port maps the one to the other, as a per-pod load balancer would.
   */
  static SidecarProcesses behindPortMappings(int count) throws IOException {
    return new SidecarProcesses(
        java.util.stream.IntStream.rangeClosed(1, count).mapToObj(i -> "n" + i).toList(),
        Set.of(),
        null,
        true);
  }

  private final List<PortForwarder> forwarders = new ArrayList<>();

  /**
   * Sidecars {@code ids}, of which {@code witnesses} are witnesses; {@code promotion} gives each
   * node's {@code promotion:} section from the cluster's directory and the node (null: one exec
   * step that records the token in {@link #hooks}). Configs are written before this returns: {@link
   * #dir} exists for the caller's files.
   */
  SidecarProcesses(
      List<String> ids, Set<String> witnesses, BiFunction<Path, Node, String> promotion)
      throws IOException {
    this(ids, witnesses, promotion, false, Map.of());
  }

  /** As above, with each node of {@code placements} placed there (the rest on 127.0.0.1). */
  SidecarProcesses(
      List<String> ids,
      Set<String> witnesses,
      BiFunction<Path, Node, String> promotion,
      Map<String, Placement> placements)
      throws IOException {
    this(ids, witnesses, promotion, false, placements);
  }

  private SidecarProcesses(
      List<String> ids,
      Set<String> witnesses,
      BiFunction<Path, Node, String> promotion,
      boolean mapped)
      throws IOException {
    this(ids, witnesses, promotion, mapped, Map.of());
  }

  private SidecarProcesses(
      List<String> ids,
      Set<String> witnesses,
      BiFunction<Path, Node, String> promotion,
      boolean mapped,
      Map<String, Placement> placements)
      throws IOException {
    this.witnesses = Set.copyOf(witnesses);
    this.promotion = promotion;
    dir = Files.createTempDirectory("baton-sidecar-test-");
    hooks = dir.resolve("hooks.log");
    // The Raft port is secured with a cluster secret, as the sidecar requires by default.
    Files.writeString(dir.resolve("cluster.secret"), randomSecret());
    for (String id : ids) {
      Node n = new Node(id);
      nodes.put(id, n);
      Placement placed = placements.get(id);
      if (placed != null) {
        n.host = placed.host();
        n.launchPrefix = List.copyOf(placed.launchPrefix());
      }
      if (mapped) {
        n.raftListen = freePort();
        n.controlListen = freePort();
        forwarders.add(new PortForwarder(n.raft, n.raftListen));
        forwarders.add(new PortForwarder(n.control, n.controlListen));
      }
    }
    for (Node n : nodes.values()) {
      n.config = dir.resolve(n.id + ".yaml");
      // The founding members' first start bootstraps the cluster; start() drops it afterwards.
      Files.writeString(n.config, config(n) + "bootstrap: true\n");
    }
  }

  static String randomSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return java.util.Base64.getEncoder().encodeToString(b) + "\n";
  }

  private String config(Node n) {
    StringBuilder y = new StringBuilder();
    y.append("cluster: sidecar-test\n");
    y.append("clusterSecretFile: cluster.secret\n");
    y.append("node: ").append(n.id).append('\n');
    y.append("dataDir: ").append(n.id).append("-data\n"); // relative to the config's directory
    y.append("members:\n");
    for (Node m : nodes.values()) {
      y.append("  - id: ").append(m.id).append('\n');
      y.append("    raft: ").append(m.host).append(':').append(m.raft).append('\n');
      y.append("    control: ").append(m.host).append(':').append(m.control).append('\n');
      if (witnesses.contains(m.id)) {
        y.append("    witness: true\n");
      }
      if (priorities.containsKey(m.id)) {
        y.append("    priority: ").append(priorities.get(m.id)).append('\n');
      }
    }
    // On a non-loopback address the sidecar listens on loopback too, for the local /token.
    y.append("http:\n  listen: ").append(n.host).append(':').append(n.http).append('\n');
    if (n.raftListen != 0) {
      y.append("raft:\n  listen: 127.0.0.1:").append(n.raftListen).append('\n');
      y.append("control:\n  listen: 127.0.0.1:").append(n.controlListen).append('\n');
    }
    if (promotion != null) {
      y.append(promotion.apply(dir, n));
      return y.toString();
    }
    // The watchdog (on by default) halts a node whose demotion outlives its lease, which a test
    // machine starved of CPU can cause right after an election; the demo test runs with it on and
    // restarts such nodes, these tests keep the cluster's membership steady instead.
    y.append(recordingPromotion(dir));
    return y.toString();
  }

  /**
   * The default {@code promotion:} section, for a test that adds sections after it (health,
   * failback): the watchdog off and one exec step, {@code record}, that appends "NODE token=TOKEN"
   * to {@code dir}'s {@code hooks.log} ({@link #hooks}).
   */
  static String recordingPromotion(Path dir) {
    return "promotion:\n  watchdog: false\n  steps:\n"
        + "    - name: record\n      type: exec\n"
        + "      command: 'echo \"$BATON_NODE token=$BATON_TOKEN\" >> "
        + dir.resolve("hooks.log")
        + "'\n      timeout: 5s\n";
  }

  /**
   * Gives members {@code byId} these priorities ({@code members[].priority}) in every node's
   * config; the others keep the default. Before the first start (the configs still bootstrap).
   */
  SidecarProcesses priorities(Map<String, Integer> byId) throws IOException {
    priorities.putAll(byId);
    for (Node n : nodes.values()) {
      Files.writeString(n.config, config(n) + "bootstrap: true\n");
    }
    return this;
  }

  /**
   * A new node for the running cluster: its config lists every node, itself included, and says
   * {@code joining: true}. The other nodes' configs are left as they are (as on real machines).
   */
  Node addJoining(String id) throws IOException {
    Node n = new Node(id);
    nodes.put(id, n);
    n.config = dir.resolve(id + ".yaml");
    Files.writeString(n.config, config(n) + "joining: true\n");
    n.joining = true;
    return n;
  }

  /**
   * The CLI's arguments that prove it holds the cluster secret: the control API asks for it like
   * the Raft port does.
   */
  List<String> secretArgs() {
    return List.of(
        "--cluster-secret-file",
        dir.resolve("cluster.secret").toString(),
        "--cluster",
        "sidecar-test");
  }

  List<String> endpoints() {
    return nodes.values().stream().map(Node::controlAddress).toList();
  }

  void startAll() throws IOException {
    for (Node n : nodes.values()) {
      start(n.id);
    }
  }

  void start(String id) throws IOException {
    Node n = nodes.get(id);
    if (Files.exists(dir.resolve(id + "-data")) && !n.joining) {
      // As an operator would once the node has started: bootstrap is for the first start only.
      Files.writeString(n.config, config(n));
    }
    n.jvm =
        launchJvm(
            dir.resolve(id + ".log"),
            environment,
            n.launchPrefix,
            "sidecar",
            "--config",
            n.config.toString());
    n.process = n.jvm.process();
  }

  /**
   * Freezes node {@code id} (SIGSTOP), as a hung machine or a long stop-the-world pause: its
   * sockets stay open, nothing answers. Waits until the kernel reports every thread stopped.
   */
  void pause(String id) {
    Process p = nodes.get(id).process;
    signal(p, "STOP");
    await(id + " stopped (every thread in state T)")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> allThreadsStopped(p.pid()));
  }

  /** Lets node {@code id} run again (SIGCONT). */
  void resume(String id) {
    signal(nodes.get(id).process, "CONT");
  }

  private static void signal(Process p, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + p.pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run kill -" + signal, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static boolean allThreadsStopped(long pid) throws IOException {
    try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path t : tasks.toList()) {
        String stat = Files.readString(t.resolve("stat"));
        // The state follows the command name in parentheses, which may itself hold spaces.
        char state = stat.charAt(stat.lastIndexOf(')') + 2);
        if (state != 'T' && state != 't') {
          return false;
        }
      }
      return true;
    }
  }

  /** Starts {@code Main args...} in a child JVM on the test classpath, output to {@code log}. */
  static Process launch(Path log, String... args) throws IOException {
    return launch(log, Map.of(), args);
  }

  /** {@link #launch(Path, String...)} with {@code env} added to the child's environment. */
  static Process launch(Path log, Map<String, String> env, String... args) throws IOException {
    return launch(log, env, List.of(), args);
  }

  /**
   * {@link #launch(Path, Map, String...)} with {@code prefix} before {@code java}; the prefix must
   * exec (as {@code ip netns exec} does), so that the returned process is the JVM.
   */
  static Process launch(Path log, Map<String, String> env, List<String> prefix, String... args)
      throws IOException {
    return launchJvm(log, env, prefix, args).process();
  }

  /**
   * {@link #launch(Path, Map, List, String...)}, as a {@link ChildJvm} (closing kills its group).
   */
  static ChildJvm launchJvm(Path log, Map<String, String> env, List<String> prefix, String... args)
      throws IOException {
    return ChildJvm.of("dev.baton.sidecar.Main", args)
        .jvmOptions("-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=1")
        .launchPrefix(prefix)
        .environment(env)
        .log(log)
        .start();
  }

  void kill(String id) {
    nodes.get(id).process.destroyForcibly();
  }

  /**
   * Status code and body of GET {@code path} on node {@code id}; -1 when it does not answer within
   * 2 s, or 5 s for {@code /status}: the first status read after a quiet minute waits for one round
   * of the peer probe (at most one probe interval, 1 s), which a loaded machine stretches.
   */
  HttpResult get(String id, String path) {
    try {
      HttpResponse<String> r =
          httpClient.send(
              HttpRequest.newBuilder(
                      URI.create("http://" + nodes.get(id).host + ":" + nodes.get(id).http + path))
                  .timeout(Duration.ofSeconds(path.startsWith("/status") ? 5 : 2))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return new HttpResult(r.statusCode(), r.body());
    } catch (IOException e) {
      return new HttpResult(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new HttpResult(-1, "interrupted");
    }
  }

  record HttpResult(int code, String body) {}

  /** The ids whose /active answers 200 now. */
  List<String> activeIds() {
    return nodes.keySet().stream().filter(id -> get(id, "/active").code() == 200).toList();
  }

  /** Waits (bounded) until exactly one node answers /active 200, and returns it. */
  String awaitSingleActive(Duration timeout) {
    return await("exactly one /active 200")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(100))
        .until(this::activeIds, ids -> ids.size() == 1)
        .get(0);
  }

  /** A node that answered /active 200, and the token that same answer named. */
  record Active(String id, long token) {}

  /**
   * Waits (bounded) until a node that {@code which} accepts answers /active 200, and returns it
   * with the token from that same answer: reading the token by a second request would race a role
   * that moves in between (its answer is then "not active ...", not a token).
   */
  Active awaitActiveWithToken(java.util.function.Predicate<String> which, Duration timeout) {
    try {
      return await("a /active 200 with its token")
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> {
                for (String id : nodes.keySet()) {
                  if (!which.test(id)) {
                    continue;
                  }
                  HttpResult r = get(id, "/active");
                  java.util.regex.Matcher m =
                      java.util.regex.Pattern.compile("token=(\\d+)").matcher(r.body());
                  if (r.code() == 200 && m.find()) {
                    return Optional.of(new Active(id, Long.parseLong(m.group(1))));
                  }
                }
                return Optional.<Active>empty();
              },
              Optional::isPresent)
          .get();
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "\n" + logTails(60), e);
    }
  }

  /**
   * Waits (bounded, polling every 50 ms) until a node other than {@code old} answers /active 200,
   * and returns it; on a timeout the error carries every node's log tail.
   */
  String awaitAnotherActive(String old, Duration timeout) {
    try {
      return await("another node's /active 200 than " + old)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> activeIds().stream().filter(id -> !id.equals(old)).findFirst(),
              Optional::isPresent)
          .get();
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "\n" + logTails(60), e);
    }
  }

  /**
   * Starts {@code first} and {@code witness} (a majority of three) and waits until {@code first} is
   * the one active, then starts {@code last} and waits until it has applied that activation. {@code
   * last} must hold the log before a failover: Ratis does not count the vote of a member whose log
   * is empty once the cluster has committed entries (a voter that lost its disk must not elect), so
   * a {@code last} that never heard from {@code first} could elect nobody with the witness.
   */
  void startWithFirstActive(String first, String witness, String last, Duration timeout)
      throws IOException {
    start(first);
    start(witness);
    String active = awaitSingleActive(timeout);
    org.assertj.core.api.Assertions.assertThat(active).as(logTails(40)).isEqualTo(first);
    start(last);
    await(last + " has applied " + first + "'s activation")
        .atMost(timeout)
        .ignoreExceptions()
        .until(
            () -> Json.read(get(last, "/status").body()).path("activeNodeId").asText(),
            first::equals);
  }

  /**
   * The one active node once it has held the role, with the same token, for a second: on a loaded
   * machine a fresh active can lose its first lease round and re-activate (LEASE_EXPIRING), and a
   * test that reads several endpoints of "the active" should start from one that holds.
   */
  String awaitSteadyActive(Duration timeout) {
    java.util.concurrent.atomic.AtomicReference<String> seen =
        new java.util.concurrent.atomic.AtomicReference<>("");
    java.util.concurrent.atomic.AtomicLong since = new java.util.concurrent.atomic.AtomicLong();
    return await("one /active 200 with the same token for 1 s")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              List<String> ids = activeIds();
              String now =
                  ids.size() == 1 ? ids.get(0) + " " + get(ids.get(0), "/active").body() : "";
              if (now.isEmpty() || !now.equals(seen.get())) {
                seen.set(now);
                since.set(System.nanoTime());
                return null;
              }
              return System.nanoTime() - since.get() >= 1_000_000_000L ? ids.get(0) : null;
            },
            java.util.Objects::nonNull);
  }

  /** The threads of node {@code id}'s JVM (jcmd Thread.print), for a failure message. */
  String threadDump(String id) {
    Node n = nodes.get(id);
    if (n.process == null || !n.process.isAlive()) {
      return "(" + id + " is not running)";
    }
    try {
      Process p =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                  Long.toString(n.process.pid()),
                  "Thread.print")
              .redirectErrorStream(true)
              .start();
      String out =
          new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      p.waitFor(30, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      return "(no thread dump of " + id + ": " + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(interrupted)";
    }
  }

  String log(String id) {
    try {
      return Files.readString(dir.resolve(id + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** The last {@code lines} lines of every node's log, for a failure message. */
  String logTails(int lines) {
    StringBuilder out = new StringBuilder();
    for (String id : nodes.keySet()) {
      List<String> all = log(id).lines().toList();
      out.append("---- ").append(id).append(".log (last ").append(lines).append(" lines)\n");
      all.subList(Math.max(0, all.size() - lines), all.size())
          .forEach(l -> out.append(l).append('\n'));
    }
    return out.toString();
  }

  Optional<Node> node(String id) {
    return Optional.ofNullable(nodes.get(id));
  }

  @Override
  public void close() {
    for (PortForwarder f : forwarders) {
      try {
        f.close();
      } catch (IOException e) {
        // the test is over
      }
    }
    for (Node n : nodes.values()) {
      if (n.process != null) {
        n.process.destroyForcibly();
      }
    }
    // Then each one's process group (what a sidecar started and left running), waiting for each.
    for (Node n : nodes.values()) {
      if (n.jvm != null) {
        n.jvm.close();
      }
    }
    if (Boolean.getBoolean("keepSidecarDirs")) {
      System.err.println("KEPT " + dir);
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static int freePort() {
    return LocalPorts.next();
  }
}
