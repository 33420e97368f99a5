package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer whose host name does not resolve (a killed container, a deleted pod) must not flood the
 * operator's log: gRPC retries the name about once a second per channel and, through
 * java.util.logging, printed each failure as a WARNING with the whole UnknownHostException stack
 * trace in it (seen in ContainerImageTest's dump: the last 40 lines of each container were nothing
 * else). The sidecar routes JUL through its logging, and such a failure is one line of Baton's
 * naming the address, repeated at most once a minute.
 *
 * <p>The sidecar runs in a network namespace of its own, where a name lookup fails at once (no
 * route to any resolver): no query leaves the machine.
 *
 * <p>The control API's channels to the peers dial only while the peer probe runs, and the probe
 * runs only while someone reads the status (issue 33's idle cost). So the test reads {@code
 * /status} the way an operator's dashboard would, from inside the namespace, while it waits for the
 * first line; the 20 s that follow stay within the probe's waking time (60 intervals).
 */
class PeerNameResolutionLogTest {
  static final String GONE = "peer-gone.invalid";

  @TempDir Path dir;
  private Process sidecar;
  private NetworkNamespace ns;

  @AfterEach
  void stop() throws InterruptedException {
    if (sidecar != null) {
      sidecar.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (ns != null) {
      ns.close();
    }
  }

  @Test
  void aPeerWhoseNameDoesNotResolveIsAnOccasionalLineWithoutAStackTrace() throws Exception {
    ns = NetworkNamespace.create();
    Files.writeString(dir.resolve("cluster.secret"), SidecarProcesses.randomSecret());
    Path config = dir.resolve("n1.yaml");
    // Ports are the namespace's own: fixed ones cannot collide with another test's.
    Files.writeString(
        config,
        """
        cluster: resolve-test
        clusterSecretFile: cluster.secret
        node: n1
        dataDir: n1-data
        bootstrap: true
        members:
          - id: n1
            raft: 127.0.0.1:7400
            control: 127.0.0.1:7500
          - id: n2
            raft: n2.%1$s:7400
            control: n2.%1$s:7500
          - id: n3
            raft: n3.%1$s:7400
            control: n3.%1$s:7500
        http:
          listen: 127.0.0.1:8008
        """
            .formatted(GONE));
    Path log = dir.resolve("n1.log");
    sidecar =
        SidecarProcesses.launch(
            log, Map.of(), ns.command(), "sidecar", "--config", config.toString());

    // The failures have begun (the sidecar said so, once) and Baton's own lines are there.
    await("the sidecar is ready and has said that a peer's address does not resolve")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> {
              assertThat(sidecar.isAlive()).as("the sidecar exited:\n%s", read(log)).isTrue();
              String text = read(log);
              if (text.contains("sidecar n1: ready")) {
                readStatus();
              }
              return text.contains("sidecar n1: ready") && text.contains("." + GONE + ":");
            });
    // gRPC keeps retrying the names (with back-off from 1 s) all this time; for 20 s the log gets
    // no stack trace and no gRPC warning, and each address is named at most once.
    await("20 s of retries without a stack trace or a repeated line")
        .during(Duration.ofSeconds(20))
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(() -> assertThat(offending(read(log))).isEmpty());

    String text = read(log);
    assertThat(offending(text)).as(text).isEmpty();
    for (String peer : List.of("n2", "n3")) {
      for (int port : List.of(7400, 7500)) {
        String address = peer + "." + GONE + ":" + port;
        long lines = text.lines().filter(l -> l.contains("peer address " + address)).count();
        assertThat(lines).as("lines naming %s in\n%s", address, text).isLessThanOrEqualTo(1);
      }
    }
    List<String> named =
        text.lines().filter(l -> l.contains("peer address ") && l.contains(GONE)).toList();
    assertThat(named).as(text).isNotEmpty();
    System.out.println("PeerNameResolutionLogTest: the lines about the gone peers:");
    named.forEach(System.out::println);
    assertThat(named)
        .allSatisfy(
            l ->
                assertThat(l)
                    .matches("^\\d{4}-\\d{2}-\\d{2}T\\S+ WARN  .*")
                    .contains("does not resolve")
                    .contains("Unable to resolve host"));
    // Baton's own lines: the node started, its control API listens.
    assertThat(text)
        .contains("node n1 of cluster resolve-test started")
        .contains("sidecar n1: ready");
  }

  /** Reads the sidecar's {@code /status} from inside its namespace, which wakes the peer probe. */
  private void readStatus() throws Exception {
    Process curl =
        new ProcessBuilder(
                ns.command(
                    "curl",
                    "-s",
                    "--max-time",
                    "5",
                    "-o",
                    "/dev/null",
                    "http://127.0.0.1:8008/status"))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (!curl.waitFor(10, TimeUnit.SECONDS)) {
      curl.destroyForcibly();
    }
  }

  /** Lines that gRPC's per-retry warnings or any stack trace would leave in the log. */
  static List<String> offending(String log) {
    return log.lines()
        .filter(
            l ->
                l.startsWith("\tat ")
                    || l.startsWith("Caused by:")
                    || l.contains("Failed to resolve name")
                    || l.contains("ManagedChannelImpl")
                    || l.startsWith("WARNING:"))
        .toList();
  }

  static String read(Path log) throws java.io.IOException {
    return Files.exists(log) ? Files.readString(log) : "";
  }
}
