package dev.baton.sidecar.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.LocalPorts;
import dev.baton.core.Timing;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.sidecar.Json;
import java.io.IOException;
import java.io.PrintStream;
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
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The local failover demo ({@code bin/baton demo}): three real sidecar processes on loopback.
 *
 * <p>What it measures, and how: the failover time is from just before the SIGKILL of the active's
 * process to the first moment another node's {@code GET /active} answers 200, polling both
 * survivors every 20 ms (so it is accurate to about 20 ms plus one HTTP round trip). The hook time
 * is when the promotion hook's line with the new token is first seen in the hook file (polled as
 * often); the hook runs while the node is PROMOTING, so it can precede the 200. Everything runs
 * with the default {@link Timing}.
 */
public final class Demo {
  private static final Pattern TOKEN = Pattern.compile("token=(\\d+)");
  private static final Duration POLL = Duration.ofMillis(20);
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);

  private final boolean json;
  private final boolean keep;
  private final PrintStream out;
  private final long start = System.nanoTime();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofMillis(250))
          .build();
  private final List<Node> nodes = new ArrayList<>();
  private final ArrayNode timeline = Json.mapper().createArrayNode();
  private Path dir;
  private Path hooks;

  /** One sidecar process and its addresses. */
  private final class Node {
    final String id;
    final int raft;
    final int control;
    final int httpPort;
    Path config;
    Process process;
    boolean killed;

    Node(String id) {
      this.id = id;
      this.raft = freePort();
      this.control = freePort();
      this.httpPort = freePort();
    }

    String url(String path) {
      return "http://127.0.0.1:" + httpPort + path;
    }

    Path log() {
      return dir.resolve(id + ".log");
    }
  }

  public Demo(boolean json, boolean keep) {
    this.json = json;
    this.keep = keep;
    // With --json, stdout carries only the summary; the story goes to stderr.
    this.out = json ? System.err : System.out;
  }

  public int run() throws Exception {
    Thread cleanup = new Thread(this::killAll, "baton-demo-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      return demo();
    } catch (DemoFailure e) {
      out.println();
      out.println("DEMO FAILED: " + e.getMessage());
      for (Node n : nodes) {
        out.println("--- last lines of " + n.log() + " ---");
        tail(n.log(), 15).forEach(l -> out.println("  " + l));
      }
      keepDirOnFailure();
      return 1;
    } finally {
      stopAll();
      if (!keep && dir != null && !failed) {
        deleteTree(dir);
      }
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already
      }
    }
  }

  private boolean failed;

  private void keepDirOnFailure() {
    failed = true;
    out.println("kept " + dir + " for inspection");
  }

  private int demo() throws Exception {
    dir = Files.createTempDirectory("baton-demo-");
    hooks = dir.resolve("hooks.log");
    Files.createFile(hooks);
    for (int i = 1; i <= 3; i++) {
      nodes.add(new Node("n" + i));
    }
    for (Node n : nodes) {
      n.config = writeConfig(n, true);
    }
    out.println(
        "Baton demo: 3 sidecar processes on loopback; configs, logs and hooks.log in " + dir);
    for (Node n : nodes) {
      out.printf(
          "  %s  raft 127.0.0.1:%d  control 127.0.0.1:%d  http %s%n",
          n.id, n.raft, n.control, n.url("/active"));
    }
    out.println();

    for (Node n : nodes) {
      launch(n);
    }
    event(
        "started 3 sidecar processes (pids "
            + String.join(", ", nodes.stream().map(n -> Long.toString(n.process.pid())).toList())
            + ")");
    waitFor(
        "the 3 nodes to start (each waits one election timeout before it may vote)",
        () ->
            nodes.stream().allMatch(n -> get(n.url("/health")).code == 200)
                ? Optional.of(true)
                : Optional.empty());
    event("all 3 nodes up: /health answers 200");

    // A stable active: the same node with the same token for a second, so that the kill below hits
    // a settled cluster rather than a first election that is still sorting itself out.
    Node first = waitFor("a stable active node", this::stableActive);
    long firstToken = activeToken(first);
    first.killed = true;
    event(
        first.id
            + " is active with token "
            + firstToken
            + " (its /active answers 200, the others 503)");
    String firstHook =
        waitFor("the promotion hook of " + first.id, () -> hookLine(firstToken, "active"));
    event("hooks.log: " + firstHook);
    ObjectNode firstJson =
        Json.mapper().createObjectNode().put("node", first.id).put("token", firstToken);

    // ---- the unplanned failover
    List<Node> survivors = nodes.stream().filter(n -> n != first).toList();
    long killedAt = System.nanoTime();
    first.process.destroyForcibly(); // SIGKILL on Linux and macOS
    event("SIGKILL " + first.id + " (pid " + first.process.pid() + ")");
    Node next = null;
    long nextAt = 0;
    long hookAt = 0;
    long nextToken = 0;
    String nextHook = null;
    progressStart(
        "polling /active of "
            + survivors.get(0).id
            + " and "
            + survivors.get(1).id
            + " every 20 ms");
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    while ((next == null || nextHook == null) && System.nanoTime() < deadline) {
      if (next == null) {
        for (Node s : survivors) {
          Reply r = get(s.url("/active"));
          if (r.code == 200) {
            nextAt = System.nanoTime();
            next = s;
            nextToken = token(r.body).orElse(0L);
            break;
          }
        }
      }
      if (nextHook == null) {
        Optional<String> line = hookLineAbove(firstToken);
        if (line.isPresent()) {
          hookAt = System.nanoTime();
          nextHook = line.get();
        }
      }
      supervise();
      progressTick();
      sleep(POLL);
    }
    progressEnd();
    if (next == null || nextHook == null) {
      throw new DemoFailure(
          "no other node became active within " + STEP_TIMEOUT.toSeconds() + " s of the SIGKILL");
    }
    long failoverMs = ms(nextAt - killedAt);
    long hookMs = ms(hookAt - killedAt);
    event(
        next.id
            + " answers /active 200 with token "
            + nextToken
            + ": failover took "
            + failoverMs
            + " ms after the SIGKILL");
    event(
        "hooks.log shows token "
            + token(nextHook).orElse(0L)
            + " after "
            + hookMs
            + " ms: "
            + nextHook);
    if (nextToken <= firstToken) {
      throw new DemoFailure(
          "token " + nextToken + " of " + next.id + " is not greater than " + firstToken);
    }
    Node active = next;
    long activeToken = nextToken;

    // ---- the killed node comes back as a standby
    long restartAt = System.nanoTime();
    first.killed = false;
    // As an operator would after the first start: without bootstrap, a node whose data directory
    // were lost would refuse to start instead of coming back with no memory.
    writeConfig(first, false);
    launch(first);
    event("restarted " + first.id + " (pid " + first.process.pid() + ") on its data directory");
    JsonNode rejoined =
        waitFor(
            first.id + " to rejoin as standby",
            () -> {
              Reply r = get(first.url("/status"));
              if (r.code != 200) {
                return Optional.empty();
              }
              JsonNode s = Json.read(r.body);
              return s.path("role").asText().equals("STANDBY")
                      && s.path("activeNodeId").asText().equals(active.id)
                      && get(first.url("/active")).code == 503
                  ? Optional.of(s)
                  : Optional.empty();
            });
    long rejoinMs = ms(System.nanoTime() - restartAt);
    event(
        first.id
            + " rejoined as standby after "
            + rejoinMs
            + " ms: role "
            + rejoined.path("role").asText()
            + ", knows "
            + active.id
            + " is active with token "
            + rejoined.path("activeToken").asLong()
            + ", term "
            + rejoined.path("term").asLong());

    // ---- planned switch-active back to the restarted node
    long switchToken;
    long switchStart;
    try (BatonClient client =
        BatonClient.builder()
            .endpoints(nodes.stream().map(n -> "127.0.0.1:" + n.control).toList())
            // The control API asks for the cluster secret too: the demo holds it, like the CLI.
            .clusterSecret(
                ClusterSecretCredentials.read("baton-demo", clusterSecret()), "baton-demo")
            .build()) {
      // One call first, so the time below is the switch's, not this JVM's first gRPC call.
      client.status();
      event("switch-active to " + first.id + " (through the gRPC control API)");
      switchStart = System.nanoTime();
      switchToken = client.switchActive(first.id, Duration.ofSeconds(30));
    }
    long switchCallMs = ms(System.nanoTime() - switchStart);
    waitFor(
        first.id + "'s /active to answer 200",
        () -> get(first.url("/active")).code == 200 ? Optional.of(true) : Optional.empty());
    long switchHttpMs = ms(System.nanoTime() - switchStart);
    if (get(active.url("/active")).code == 200) {
      throw new DemoFailure(active.id + " still answers /active 200 after the switch");
    }
    String switchHook =
        waitFor("the promotion hook of " + first.id, () -> hookLine(switchToken, "active"));
    event(
        first.id
            + " is active with token "
            + switchToken
            + " (switch-active returned after "
            + switchCallMs
            + " ms; "
            + first.id
            + "'s /active 200 after "
            + switchHttpMs
            + " ms); "
            + active.id
            + " answers 503");
    event("hooks.log: " + switchHook);
    if (switchToken <= activeToken) {
      throw new DemoFailure("token " + switchToken + " is not greater than " + activeToken);
    }

    List<String> hookLines = Files.readAllLines(hooks);
    TreeSet<Long> tokens = new TreeSet<>();
    tokens.add(firstToken);
    tokens.add(nextToken);
    tokens.add(switchToken);
    hookLines.forEach(l -> token(l).ifPresent(tokens::add));

    stopAll();
    event("stopped the 3 sidecars (SIGTERM: each demotes gracefully)");

    if (json) {
      ObjectNode summary = Json.mapper().createObjectNode();
      summary.put("ok", true);
      summary.put("failoverMillis", failoverMs);
      summary.put("hookFailoverMillis", hookMs);
      summary.put("switchActiveMillis", switchCallMs);
      summary.put("rejoinMillis", rejoinMs);
      summary.put("watchdogRestarts", watchdogRestarts);
      summary.set("firstActive", firstJson);
      summary.set(
          "failover",
          Json.mapper()
              .createObjectNode()
              .put("killed", first.id)
              .put("killedToken", firstToken)
              .put("newActive", active.id)
              .put("newToken", nextToken)
              .put("millis", failoverMs)
              .put("hookMillis", hookMs)
              .put("pollIntervalMillis", POLL.toMillis()));
      summary.set(
          "switchActive",
          Json.mapper()
              .createObjectNode()
              .put("from", active.id)
              .put("to", first.id)
              .put("token", switchToken)
              .put("callMillis", switchCallMs)
              .put("activeHttpMillis", switchHttpMs));
      ArrayNode t = summary.putArray("tokens");
      tokens.forEach(t::add);
      ArrayNode h = summary.putArray("hookLines");
      hookLines.forEach(h::add);
      summary.set("timeline", timeline);
      Timing timing = Timing.DEFAULTS;
      summary.put(
          "timing",
          "defaults: electionTimeout "
              + timing.electionTimeoutMin().toMillis()
              + "-"
              + timing.electionTimeoutMax().toMillis()
              + " ms, lease "
              + timing.lease().toMillis()
              + " ms");
      System.out.println(Json.pretty(summary));
    } else {
      out.println();
      out.println("Timeline of the active role");
      out.printf("  %-8s %-7s %s%n", "ACTIVE", "TOKEN", "HOW");
      out.printf("  %-8s %-7d %s%n", first.id, firstToken, "elected at start");
      out.printf(
          "  %-8s %-7d %s%n",
          active.id,
          nextToken,
          "failover "
              + failoverMs
              + " ms after SIGKILL of "
              + first.id
              + " (hook "
              + hookMs
              + " ms)");
      out.printf(
          "  %-8s %-7d %s%n",
          first.id,
          switchToken,
          "planned switch-active, " + switchCallMs + " ms, after rejoining as standby");
      out.println();
      out.println(
          "Tokens seen: " + String.join(" < ", tokens.stream().map(String::valueOf).toList()));
      out.println("hooks.log (written by the exec hooks, BATON_* variables):");
      hookLines.forEach(l -> out.println("  " + l));
      out.println();
      out.printf(
          "Failover: %d ms from SIGKILL to another node's /active = 200 (polled every %d ms);"
              + " the hook file showed the new token after %d ms.%n",
          failoverMs, POLL.toMillis(), hookMs);
    }
    return 0;
  }

  // ---------------------------------------------------------------- processes and files

  private Path clusterSecret() throws IOException {
    Path f = dir.resolve("cluster.secret");
    if (!Files.exists(f)) {
      byte[] b = new byte[32];
      new java.security.SecureRandom().nextBytes(b);
      Files.writeString(f, java.util.Base64.getEncoder().encodeToString(b) + "\n");
      try {
        Files.setPosixFilePermissions(
            f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: the temporary directory is private enough for a demo.
      }
    }
    return f;
  }

  private Path writeConfig(Node n, boolean bootstrap) throws IOException {
    StringBuilder y = new StringBuilder();
    y.append("# Written by bin/baton demo\n");
    y.append("cluster: baton-demo\n");
    // Secure by default, even in the demo: the nodes share a random secret written next to the
    // configs, so nothing else on this machine can talk Raft to them.
    y.append("clusterSecretFile: ").append(clusterSecret()).append('\n');
    y.append("node: ").append(n.id).append('\n');
    y.append("dataDir: ").append(dir.resolve(n.id + "-data")).append('\n');
    if (bootstrap) {
      y.append("bootstrap: true   # the first start of a new cluster only\n");
    }
    y.append("members:\n");
    for (Node m : nodes) {
      y.append("  - id: ").append(m.id).append('\n');
      y.append("    raft: 127.0.0.1:").append(m.raft).append('\n');
      y.append("    control: 127.0.0.1:").append(m.control).append('\n');
    }
    y.append("http:\n  listen: 127.0.0.1:").append(n.httpPort).append('\n');
    String line =
        "echo \"$(date +%H:%M:%S.%3N) $BATON_NODE role=$BATON_ROLE token=$BATON_TOKEN"
            + " previous=${BATON_PREVIOUS:-none}/$BATON_PREVIOUS_TOKEN\" >> "
            + hooks;
    y.append("promotion:\n");
    // No demotion hook: with the watchdog on (the sidecar's default), a demotion must end within
    // what is left of the lease (a few hundred ms), and a forked shell on a busy machine may not.
    y.append("  watchdog: true\n");
    y.append("  steps:\n");
    y.append("    - name: record\n");
    y.append("      type: exec\n");
    y.append("      command: ").append(yamlQuote(line)).append('\n');
    y.append("      timeout: 5s\n");
    y.append("logging:\n  format: text\n");
    Path p = dir.resolve(n.id + ".yaml");
    Files.writeString(p, y.toString());
    return p;
  }

  private static String yamlQuote(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  private void launch(Node n) throws IOException {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    // Small, quick-starting JVMs: three of them share the machine with the demo.
    cmd.addAll(List.of("-XX:+UseSerialGC", "-Xms32m", "-Xmx256m", "-XX:TieredStopAtLevel=1"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.baton.sidecar.Main");
    cmd.add("sidecar");
    cmd.add("--config");
    cmd.add(n.config.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(n.log().toFile()));
    n.process = pb.start();
  }

  private void stopAll() {
    for (Node n : nodes) {
      if (n.process != null && n.process.isAlive()) {
        n.process.destroy(); // SIGTERM: the sidecar closes its node gracefully
      }
    }
    for (Node n : nodes) {
      if (n.process != null) {
        try {
          if (!n.process.waitFor(15, TimeUnit.SECONDS)) {
            n.process.destroyForcibly();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          n.process.destroyForcibly();
        }
      }
    }
  }

  private void killAll() {
    for (Node n : nodes) {
      if (n.process != null) {
        n.process.destroyForcibly();
      }
    }
  }

  // ---------------------------------------------------------------- polling

  private record Reply(int code, String body) {}

  private Reply get(String url) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMillis(500)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body());
    } catch (IOException e) {
      return new Reply(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DemoFailure("interrupted");
    }
  }

  private String stableId;
  private long stableToken;
  private long stableSince;

  private Optional<Node> stableActive() {
    List<Node> active = nodes.stream().filter(n -> get(n.url("/active")).code == 200).toList();
    if (active.size() != 1) {
      stableId = null;
      return Optional.empty();
    }
    Node n = active.get(0);
    long token = token(get(n.url("/active")).body).orElse(0L);
    if (!n.id.equals(stableId) || token != stableToken) {
      stableId = n.id;
      stableToken = token;
      stableSince = System.nanoTime();
      return Optional.empty();
    }
    return System.nanoTime() - stableSince >= TimeUnit.SECONDS.toNanos(1)
        ? Optional.of(n)
        : Optional.empty();
  }

  private long activeToken(Node n) {
    Reply r = get(n.url("/active"));
    return token(r.body).orElseThrow(() -> new DemoFailure(n.id + "/active said: " + r.body));
  }

  private static Optional<Long> token(String text) {
    Matcher m = TOKEN.matcher(text);
    return m.find() ? Optional.of(Long.parseLong(m.group(1))) : Optional.empty();
  }

  private Optional<String> hookLine(long token, String role) {
    return hookLines().stream()
        .filter(l -> l.contains("token=" + token + " ") && l.contains("role=" + role))
        .findFirst();
  }

  private Optional<String> hookLineAbove(long token) {
    return hookLines().stream()
        .filter(l -> l.contains("role=active") && token(l).orElse(0L) > token)
        .findFirst();
  }

  private List<String> hookLines() {
    try {
      return Files.readAllLines(hooks);
    } catch (IOException e) {
      return List.of();
    }
  }

  private int watchdogRestarts;

  /**
   * Restarts a sidecar that its watchdog halted (exit status 70), as systemd's Restart=on-failure
   * or a Kubernetes restart policy would. The watchdog halts a node whose demotion did not finish
   * before its lease ended; on a machine starved of CPU that can happen right after an election.
   * Any other unexpected exit fails the demo.
   */
  private void supervise() {
    for (Node n : nodes) {
      if (n.process == null || n.process.isAlive() || n.killed) {
        continue;
      }
      int status = n.process.exitValue();
      if (status != 70) {
        throw new DemoFailure(n.id + " exited with status " + status);
      }
      watchdogRestarts++;
      progressEnd();
      event(
          n.id
              + " was halted by its watchdog (exit 70: its demotion outlived its lease, the machine"
              + " is busy); restarting it as a supervisor would");
      try {
        launch(n);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private <T> T waitFor(String what, Supplier<Optional<T>> check) {
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    progressStart("waiting for " + what);
    try {
      while (System.nanoTime() < deadline) {
        Optional<T> v = check.get();
        if (v.isPresent()) {
          return v.get();
        }
        supervise();
        progressTick();
        sleep(POLL.multipliedBy(5));
      }
    } finally {
      progressEnd();
    }
    throw new DemoFailure(
        "gave up waiting for " + what + " after " + STEP_TIMEOUT.toSeconds() + " s");
  }

  // ---------------------------------------------------------------- output

  private final boolean tty = System.console() != null;
  private long progressSince;
  private long progressShown;
  private String progressWhat;

  private void progressStart(String what) {
    progressWhat = what;
    progressSince = System.nanoTime();
    progressShown = 0;
  }

  /** Shows what is awaited once it has taken half a second, then the elapsed time. */
  private void progressTick() {
    long elapsed = ms(System.nanoTime() - progressSince);
    if (elapsed < 500) {
      return;
    }
    if (tty) {
      out.printf("\r%s   ... %s (%.1f s)  ", stamp(), progressWhat, elapsed / 1000.0);
    } else if (progressShown == 0) {
      out.printf("%s   ... %s", stamp(), progressWhat);
      progressShown = elapsed;
    } else if (elapsed - progressShown >= 1000) {
      out.print(".");
      progressShown = elapsed;
    }
    if (progressShown == 0) {
      progressShown = elapsed;
    }
    out.flush();
  }

  private void progressEnd() {
    if (progressShown > 0) {
      if (tty) {
        out.print("\r" + " ".repeat(100) + "\r");
      } else {
        out.println();
      }
    }
    progressShown = 0;
  }

  private void event(String text) {
    out.println(stamp() + " " + text);
    out.flush();
    timeline.addObject().put("atMillis", ms(System.nanoTime() - start)).put("event", text);
  }

  private String stamp() {
    return String.format("[%6.2f s]", (System.nanoTime() - start) / 1e9);
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DemoFailure("interrupted");
    }
  }

  private static int freePort() {
    return LocalPorts.next();
  }

  private static List<String> tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return all.subList(Math.max(0, all.size() - lines), all.size());
    } catch (IOException e) {
      return List.of("(no log: " + e.getMessage() + ")");
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory; best effort
    }
  }

  private static final class DemoFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DemoFailure(String message) {
      super(message);
    }
  }
}
