package dev.baton.sidecar.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The demo's three sidecar processes: their configs, their launch and stop, a supervisor that
 * restarts a watchdog-halted one, and the HTTP and hook-file reads the demo polls.
 */
final class DemoCluster {
  static final Duration POLL = Duration.ofMillis(20);
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern TOKEN = Pattern.compile("token=(\\d+)");

  private final Narrator narrator;
  private final Path dir;
  private final Path hooks;
  private final List<DemoNode> nodes = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofMillis(250))
          .build();
  private int watchdogRestarts;
  private String stableId;
  private long stableToken;
  private long stableSince;

  /** An HTTP answer; code -1 when the node did not answer. */
  record Reply(int code, String body) {}

  /** Three nodes in a new temporary directory, each with a bootstrap config written. */
  DemoCluster(Narrator narrator) throws IOException {
    this.narrator = narrator;
    this.dir = Files.createTempDirectory("baton-demo-");
    this.hooks = dir.resolve("hooks.log");
    Files.createFile(hooks);
    for (int i = 1; i <= 3; i++) {
      nodes.add(new DemoNode("n" + i, dir));
    }
    for (DemoNode n : nodes) {
      n.config = writeConfig(n, true);
    }
  }

  Path dir() {
    return dir;
  }

  List<DemoNode> nodes() {
    return nodes;
  }

  int watchdogRestarts() {
    return watchdogRestarts;
  }

  Path clusterSecret() throws IOException {
    Path f = dir.resolve("cluster.secret");
    if (!Files.exists(f)) {
      byte[] b = new byte[32];
      new SecureRandom().nextBytes(b);
      Files.writeString(f, Base64.getEncoder().encodeToString(b) + "\n");
      try {
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: the temporary directory is private enough for a demo.
      }
    }
    return f;
  }

  /** Rewrites {@code n}'s config, with or without {@code bootstrap: true}. */
  Path writeConfig(DemoNode n, boolean bootstrap) throws IOException {
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
    for (DemoNode m : nodes) {
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

  void launch(DemoNode n) throws IOException {
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
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(n.log.toFile()));
    n.process = pb.start();
  }

  /** SIGTERM to every node (each closes its node gracefully), SIGKILL after 15 s. */
  void stopAll() {
    for (DemoNode n : nodes) {
      if (n.process != null && n.process.isAlive()) {
        n.process.destroy();
      }
    }
    for (DemoNode n : nodes) {
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

  void killAll() {
    for (DemoNode n : nodes) {
      if (n.process != null) {
        n.process.destroyForcibly();
      }
    }
  }

  void deleteDir() {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory; best effort
    }
  }

  Reply get(String url) {
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

  /** The one active node once the same node has held the same token for a second. */
  Optional<DemoNode> stableActive() {
    List<DemoNode> active = nodes.stream().filter(n -> get(n.url("/active")).code == 200).toList();
    if (active.size() != 1) {
      stableId = null;
      return Optional.empty();
    }
    DemoNode n = active.get(0);
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

  long activeToken(DemoNode n) {
    Reply r = get(n.url("/active"));
    return token(r.body).orElseThrow(() -> new DemoFailure(n.id + "/active said: " + r.body));
  }

  static Optional<Long> token(String text) {
    Matcher m = TOKEN.matcher(text);
    return m.find() ? Optional.of(Long.parseLong(m.group(1))) : Optional.empty();
  }

  Optional<String> hookLine(long token, String role) {
    return hookLines().stream()
        .filter(l -> l.contains("token=" + token + " ") && l.contains("role=" + role))
        .findFirst();
  }

  Optional<String> hookLineAbove(long token) {
    return hookLines().stream()
        .filter(l -> l.contains("role=active") && token(l).orElse(0L) > token)
        .findFirst();
  }

  List<String> hookLines() {
    try {
      return Files.readAllLines(hooks);
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * Restarts a sidecar that its watchdog halted (exit status 70), as systemd's Restart=on-failure
   * or a Kubernetes restart policy would. The watchdog halts a node whose demotion did not finish
   * before its lease ended; on a machine starved of CPU that can happen right after an election.
   * Any other unexpected exit fails the demo.
   */
  void supervise() {
    for (DemoNode n : nodes) {
      if (n.process == null || n.process.isAlive() || n.killed) {
        continue;
      }
      int status = n.process.exitValue();
      if (status != 70) {
        throw new DemoFailure(n.id + " exited with status " + status);
      }
      watchdogRestarts++;
      narrator.progressEnd();
      narrator.event(
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

  /** Polls {@code check} (supervising the nodes) until it gives a value, or fails the demo. */
  <T> T waitFor(String what, Supplier<Optional<T>> check) {
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    narrator.progressStart("waiting for " + what);
    try {
      while (System.nanoTime() < deadline) {
        Optional<T> v = check.get();
        if (v.isPresent()) {
          return v.get();
        }
        supervise();
        narrator.progressTick();
        pause(POLL.multipliedBy(5));
      }
    } finally {
      narrator.progressEnd();
    }
    throw new DemoFailure(
        "gave up waiting for " + what + " after " + STEP_TIMEOUT.toSeconds() + " s");
  }

  static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DemoFailure("interrupted");
    }
  }

  static List<String> tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return all.subList(Math.max(0, all.size() - lines), all.size());
    } catch (IOException e) {
      return List.of("(no log: " + e.getMessage() + ")");
    }
  }
}
