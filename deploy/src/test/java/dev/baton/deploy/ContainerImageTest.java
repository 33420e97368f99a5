package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/image/}: the Dockerfile users build on a public JRE base, built here from the
 * distribution tarball on a local base ({@code scripts/base-image}: debootstrap + {@code docker
 * import}, no registry), so the file cannot rot. Then three containers from that image, each with
 * its own volume, on a user-defined Docker network, form a cluster with a mounted cluster secret;
 * killing the active's container moves {@code /active}, and a new container from the image on the
 * killed one's volume comes back as a standby (without {@code bootstrap}, with which alone a node
 * starts on an empty data directory: starting at all proves it found its data on the volume).
 *
 * <p>Everything this test makes in Docker is named {@code baton-img-<run>-...} and removed after
 * it. The test talks to the containers only through ports published on 127.0.0.1. Without a Docker
 * engine it is skipped with the reason printed (it fails under {@code CI=true}).
 */
class ContainerImageTest {
  static final Path IMAGE_DIR = Prerequisites.DEPLOY.resolve("image");
  static final Path REPO = Prerequisites.DEPLOY.getParent();
  static final String RUN =
      "baton-img-" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
  static final List<String> NODES = List.of("n1", "n2", "n3");
  static final int UID = 10001;

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  static String image;
  static final List<String> containers = new ArrayList<>();
  static final List<String> volumes = new ArrayList<>();
  static String network;

  /** Host ports published for each node's 8008, read once per container start. */
  static final Map<String, String> ports = new ConcurrentHashMap<>();

  @TempDir Path dir;

  @BeforeAll
  static void buildTheImageFromTheTarball(@TempDir Path context) throws Exception {
    if (!Prerequisites.onPath("docker")) {
      Prerequisites.missing(
          "ContainerImageTest",
          "docker is not on the PATH (scripts/install-deps installs docker.io; scripts/docker-up"
              + " starts the engine)");
    }
    Prerequisites.Run info = docker(List.of("info", "--format", "{{.ServerVersion}}"), 30);
    if (info.exit() != 0) {
      Prerequisites.missing(
          "ContainerImageTest",
          "no Docker engine answers (scripts/docker-up starts one): " + info.output().trim());
    }
    Path tarball = Path.of(System.getProperty("baton.tarball", "(baton.tarball not set)"));
    if (!Files.isRegularFile(tarball)) {
      fail(
          "the distribution tarball "
              + tarball
              + " does not exist: ha-sidecar's package phase makes it; run the build through"
              + " verify with ha-sidecar in the reactor (./mvnw -pl deploy -am verify)");
    }
    long started = System.nanoTime();
    String base = System.getenv("BATON_IMAGE_BASE");
    if (base == null || base.isBlank()) {
      Prerequisites.Run r =
          Prerequisites.run(
              List.of("bash", REPO.resolve("scripts/base-image").toString()), REPO, 600);
      if (r.exit() != 0) {
        String why = "scripts/base-image could not build the local JRE base: " + r.output().trim();
        if (r.output().contains("needs root") || r.output().contains("not installed")) {
          Prerequisites.missing(
              "ContainerImageTest", why + " (or set BATON_IMAGE_BASE to a JRE 17 image you have)");
        }
        fail(why);
      }
      List<String> lines = r.output().strip().lines().toList();
      base = lines.get(lines.size() - 1).trim();
    }
    // The build context as a user makes it: deploy/image/ with the tarball copied in.
    for (String f : List.of("Dockerfile", "healthcheck")) {
      Files.copy(IMAGE_DIR.resolve(f), context.resolve(f));
    }
    Files.copy(tarball, context.resolve(tarball.getFileName()));
    String tag = RUN + ":test";
    Prerequisites.Run build =
        docker(
            List.of("build", "-q", "--build-arg", "BASE=" + base, "-t", tag, context.toString()),
            600);
    // The classic builder leaves the first stage behind as an untagged image (hundreds of MB a
    // run).
    docker(
        List.of("image", "prune", "-f", "--filter", "label=dev.baton.image-stage=unpacked"), 120);
    assertThat(build.exit()).as("docker build FROM %s:\n%s", base, build.output()).isZero();
    image = tag;
    System.out.println(
        "ContainerImageTest: built " + image + " FROM " + base + " in " + since(started) + " s");
  }

  @AfterAll
  static void removeTheImage() throws Exception {
    if (image != null) {
      docker(List.of("rmi", "-f", image), 60);
    }
  }

  @AfterEach
  void removeContainersNetworkAndVolumes() throws Exception {
    if (!containers.isEmpty()) {
      List<String> rm = new ArrayList<>(List.of("rm", "-f", "-v"));
      rm.addAll(containers);
      docker(rm, 120);
      containers.clear();
      ports.clear();
    }
    if (network != null) {
      docker(List.of("network", "rm", network), 60);
      network = null;
    }
    if (!volumes.isEmpty()) {
      List<String> rm = new ArrayList<>(List.of("volume", "rm", "-f"));
      rm.addAll(volumes);
      docker(rm, 60);
      volumes.clear();
    }
  }

  /** The image as the Dockerfile says: non-root, the data volume, the health check, bin/baton. */
  @Test
  void theImageRunsBinBatonAsANonRootUserWithTheDataDirectoryAsAVolumeAndAHealthCheck()
      throws Exception {
    Prerequisites.Run inspect =
        docker(List.of("image", "inspect", "--format", "{{json .Config}}", image), 60);
    assertThat(inspect.exit()).as(inspect.output()).isZero();
    JsonNode config = JSON.readTree(inspect.output());
    assertThat(config.path("User").asText()).isEqualTo(UID + ":" + UID);
    assertThat(config.path("Volumes").has("/var/lib/baton")).as(config.toString()).isTrue();
    assertThat(config.path("Entrypoint").toString()).isEqualTo("[\"/opt/baton/bin/baton\"]");
    assertThat(config.path("Cmd").toString())
        .isEqualTo("[\"sidecar\",\"--config\",\"/etc/baton/node.yaml\"]");
    assertThat(config.path("Healthcheck").path("Test").toString())
        .contains("/opt/baton-image/healthcheck");

    Prerequisites.Run version = docker(List.of("run", "--rm", image, "--version"), 120);
    assertThat(version.exit()).as(version.output()).isZero();
    assertThat(version.output()).containsPattern("(?m)^baton \\d+\\.\\d+\\.\\d+ ");

    // The entry point runs either command of the split: `sidecar` (the default) beside the plane,
    // `pg-guard` beside PostgreSQL (deploy/kubernetes/postgres-*.yaml). Without --config the guard
    // refuses with exit 2 (a configuration error: systemd and the kubelet docs say so).
    Prerequisites.Run guardHelp = docker(List.of("run", "--rm", image, "pg-guard", "--help"), 120);
    assertThat(guardHelp.exit()).as(guardHelp.output()).isZero();
    assertThat(guardHelp.output()).contains("former-primary guard").contains("--config");
    Prerequisites.Run guardBare = docker(List.of("run", "--rm", image, "pg-guard"), 120);
    assertThat(guardBare.exit()).as(guardBare.output()).isEqualTo(2);
    assertThat(guardBare.output()).contains("pg-guard needs --config");

    // The application is root's and read-only to the user; the volume is the user's.
    Prerequisites.Run owners =
        docker(
            List.of(
                "run",
                "--rm",
                "--entrypoint",
                "bash",
                image,
                "-c",
                "id -u; stat -c '%u %a' /opt/baton/bin/baton /var/lib/baton;"
                    + " touch /opt/baton/x 2>/dev/null && echo writable || echo read-only"),
            120);
    assertThat(owners.output().strip().lines().toList())
        .as(owners.output())
        .containsExactly(String.valueOf(UID), "0 755", UID + " 755", "read-only");
  }

  /**
   * Three containers, three volumes, one network: one active; kill it and another takes over; start
   * it again and it rejoins as a standby from its volume while the other stays active.
   */
  @Test
  void threeContainersFailOverWhenTheActiveIsKilledAndItRejoinsAsAStandbyOnItsVolume()
      throws Exception {
    long started = System.nanoTime();
    network = RUN + "-net";
    Prerequisites.Run net = docker(List.of("network", "create", network), 60);
    assertThat(net.exit()).as(net.output()).isZero();

    // The cluster secret: a file readable by the image's user only, mounted read-only.
    Path secret = dir.resolve("cluster.secret");
    Files.writeString(secret, Prerequisites.randomSecret());
    ownByImageUser(secret);

    Map<String, Path> configs = new LinkedHashMap<>();
    for (String n : NODES) {
      Path config = dir.resolve(n + ".yaml");
      Files.writeString(config, config(n, true));
      configs.put(n, config);
      String volume = RUN + "-" + n + "-data";
      assertThat(docker(List.of("volume", "create", volume), 60).exit()).isZero();
      volumes.add(volume);
      runNode(n, config, secret);
    }

    try {
      // Three containers starting together on a loaded 2-core machine: a generous bound.
      await("exactly one of three containers answers 200 on /active, all are healthy")
          .atMost(Duration.ofSeconds(150))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> actives(NODES).size() == 1 && allHealthy(NODES));
      // Docker's own view through the image's HEALTHCHECK.
      await("docker reports every container healthy (the image's HEALTHCHECK on /health)")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                for (String n : NODES) {
                  String s = inspect(container(n), "{{.State.Health.Status}}");
                  if (!s.equals("healthy")) {
                    return false;
                  }
                }
                return true;
              });

      // The first start is over: disarm bootstrap, as an operator must (same file, same inode:
      // the bind mount follows it). A node restarted without it refuses an empty data directory.
      for (Map.Entry<String, Path> c : configs.entrySet()) {
        Files.writeString(c.getValue(), config(c.getKey(), false));
      }

      List<String> active = actives(NODES);
      assertThat(active).hasSize(1);
      String killed = active.get(0);
      assertThat(docker(List.of("kill", container(killed)), 60).exit()).isZero();
      long killedAt = System.nanoTime();
      System.out.println("ContainerImageTest: killed " + killed + " at " + Instant.now());
      List<String> others = NODES.stream().filter(n -> !n.equals(killed)).toList();

      await("another container answers 200 on /active after " + killed + " was killed")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> actives(others).size() == 1);
      String successor = actives(others).get(0);
      System.out.println(
          "ContainerImageTest: killed "
              + killed
              + ", "
              + successor
              + " took over /active "
              + Duration.ofNanos(System.nanoTime() - killedAt).toMillis()
              + " ms after the kill ("
              + since(started)
              + " s into the test)");

      // Started again as Kubernetes or an upgrade would: a new container from the image on the
      // same volume (docker start of the old one would also keep its writable layer).
      Prerequisites.Run rm = docker(List.of("rm", container(killed)), 60);
      assertThat(rm.exit()).as(rm.output()).isZero();
      runNode(killed, configs.get(killed), secret);
      await(killed + " is back: /health 200 as a standby, and exactly one active, not " + killed)
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                // A container that exited will not come back: fail now, with its log.
                if (!inspect(container(killed), "{{.State.Running}}").equals("true")) {
                  throw new AssertionError(
                      "the new container of "
                          + killed
                          + " on its volume exited:\n"
                          + docker(List.of("logs", "--tail", "20", container(killed)), 60)
                              .output());
                }
                Reply health = get(killed, "/health");
                if (health.code() != 200) {
                  return false;
                }
                String role = JSON.readTree(health.body()).path("role").asText();
                List<String> now = actives(NODES);
                return role.equals("STANDBY") && now.size() == 1 && !now.contains(killed);
              });
      assertThat(get(killed, "/active").code()).isEqualTo(503);
      // It is in the cluster again, not only up: its control API sees the current active.
      await(killed + "'s /status names the active")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () -> {
                Reply status = get(killed, "/status");
                List<String> now = actives(NODES);
                return status.code() == 200
                    && now.size() == 1
                    && status.body().contains("\"" + now.get(0) + "\"")
                    && JSON.readTree(status.body())
                        .path("activeNodeId")
                        .asText()
                        .equals(now.get(0));
              });
      System.out.println(
          "ContainerImageTest: " + killed + " rejoined as a standby, " + since(started) + " s");
      String logs = docker(List.of("logs", container(killed)), 60).output();
      assertThat(logs).doesNotContain(Files.readString(secret).trim());
    } catch (AssertionError | RuntimeException e) {
      dumpNodes();
      throw e;
    }
  }

  /** Lines of Baton's log format: a timestamp, a level, the thread and the logger. */
  static final Pattern LOG_LINE =
      Pattern.compile("^\\d{4}-\\d{2}-\\d{2}T\\S+ +(TRACE|DEBUG|INFO|WARN|ERROR) ");

  /** How many of a container's log lines the failure dump shows. */
  static final int DUMP_LINES = 80;

  /**
   * What a failure needs to be read: each node's /status now (who it thinks is active, its term and
   * role), then its log lines without stack-trace continuations (a peer's stack trace a second
   * would otherwise push every line of Baton's own out of any tail).
   */
  static void dumpNodes() {
    for (String n : NODES) {
      try {
        Reply status = get(n, "/status");
        System.err.println(
            "---- "
                + n
                + " /status at "
                + Instant.now()
                + ": "
                + status.code()
                + " "
                + status.body());
        Prerequisites.Run logs = docker(List.of("logs", container(n)), 60);
        System.err.println(
            "---- docker logs "
                + container(n)
                + ": its last "
                + DUMP_LINES
                + " log events (stack traces and other continuation lines left out)");
        System.err.println(logEvents(logs.output(), DUMP_LINES));
      } catch (Exception | AssertionError dumpFailure) {
        System.err.println("---- " + n + ": could not dump: " + dumpFailure);
      }
    }
  }

  /** The last {@code max} lines of {@code log} that begin an event, with a count of the others. */
  static String logEvents(String log, int max) {
    List<String> all = log.lines().toList();
    List<String> events = all.stream().filter(l -> LOG_LINE.matcher(l).find()).toList();
    List<String> tail = events.subList(Math.max(0, events.size() - max), events.size());
    return String.join("\n", tail)
        + "\n("
        + (all.size() - events.size())
        + " other lines of "
        + all.size()
        + " left out, "
        + (events.size() - tail.size())
        + " earlier events)";
  }

  /** {@code docker run} of {@code node}'s container: its volume, its config, the secret. */
  static void runNode(String node, Path config, Path secret) throws Exception {
    String name = container(node);
    Prerequisites.Run run =
        docker(
            List.of(
                "run",
                "-d",
                "--name",
                name,
                "--hostname",
                node,
                "--network",
                network,
                "--network-alias",
                node,
                "-p",
                "127.0.0.1::8008",
                "-v",
                RUN + "-" + node + "-data:/var/lib/baton",
                "-v",
                config + ":/etc/baton/node.yaml:ro",
                "-v",
                secret + ":/etc/baton/secrets/cluster.secret:ro",
                "--label",
                "dev.baton.test=ContainerImageTest",
                image),
            120);
    assertThat(run.exit()).as(run.output()).isZero();
    if (!containers.contains(name)) {
      containers.add(name);
    }
    ports.remove(node);
  }

  static long since(long startedNanos) {
    return Duration.ofNanos(System.nanoTime() - startedNanos).toSeconds();
  }

  static String container(String node) {
    return RUN + "-" + node;
  }

  /** The sidecar's YAML for {@code node}: members by their network alias, a mounted secret. */
  static String config(String node, boolean bootstrap) {
    StringBuilder y = new StringBuilder();
    y.append("cluster: image-test\n");
    y.append("node: ").append(node).append('\n');
    y.append("dataDir: /var/lib/baton/data\n");
    y.append("clusterSecretFile: /etc/baton/secrets/cluster.secret\n");
    if (bootstrap) {
      y.append("bootstrap: true\n");
    }
    y.append("members:\n");
    for (String n : NODES) {
      y.append("  - id: ").append(n).append('\n');
      y.append("    raft: ").append(n).append(":7400\n");
      y.append("    control: ").append(n).append(":7500\n");
    }
    y.append("raft:\n  listen: 0.0.0.0:7400\n");
    y.append("control:\n  listen: 0.0.0.0:7500\n");
    y.append("http:\n  listen: 0.0.0.0:8008\n");
    return y.toString();
  }

  /**
   * The secret file belongs to the image's user, so that mode 0400 still lets the sidecar read it.
   * Changing a file's owner needs root (the case on this project's machines and CI); elsewhere the
   * file stays the test user's, readable by all but inside a private temporary directory.
   */
  static void ownByImageUser(Path file) throws IOException {
    try {
      Files.setAttribute(file, "unix:uid", UID);
      Files.setAttribute(file, "unix:gid", UID);
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      System.err.println(
          "ContainerImageTest: cannot give the secret file to UID "
              + UID
              + " ("
              + e
              + "); it is mode 0444 inside the test's private temporary directory");
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
    }
  }

  record Reply(int code, String body) {}

  static Reply get(String node, String path) {
    try {
      String port = hostPort(node);
      if (port == null) {
        return new Reply(-1, "no published port");
      }
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                  .timeout(Duration.ofSeconds(3))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body());
    } catch (IOException e) {
      return new Reply(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Reply(-1, e.toString());
    }
  }

  /** The host port on 127.0.0.1 that Docker published for the container's 8008 (new per start). */
  static String hostPort(String node) throws IOException, InterruptedException {
    String known = ports.get(node);
    if (known != null) {
      return known;
    }
    Prerequisites.Run r = docker(List.of("port", container(node), "8008/tcp"), 30);
    if (r.exit() != 0) {
      return null;
    }
    for (String line : r.output().lines().toList()) {
      if (line.startsWith("127.0.0.1:")) {
        String port = line.substring("127.0.0.1:".length()).trim();
        ports.put(node, port);
        return port;
      }
    }
    return null;
  }

  static List<String> actives(List<String> nodes) {
    return nodes.stream().filter(n -> get(n, "/active").code() == 200).toList();
  }

  static boolean allHealthy(List<String> nodes) {
    return nodes.stream().allMatch(n -> get(n, "/health").code() == 200);
  }

  static String inspect(String container, String format) throws Exception {
    return docker(List.of("inspect", "--format", format, container), 30).output().trim();
  }

  /** The docker CLI; the legacy builder (Debian's engine has no BuildKit front end here). */
  static Prerequisites.Run docker(List<String> args, int seconds)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add("docker");
    command.addAll(args);
    return Prerequisites.run(
        command, Prerequisites.DEPLOY, seconds, Map.of("DOCKER_BUILDKIT", "0"));
  }
}
