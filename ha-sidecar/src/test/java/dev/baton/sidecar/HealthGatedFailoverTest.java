package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Health-gated failover across real sidecar processes (issue 31): each sidecar has an http check on
 * a small HTTP server of its own, standing for its management plane. Stopping the active's plane
 * moves the role within {@code failuresToDemote x interval} plus the switch; starting it again does
 * not move the role back. The test prints the measured time.
 */
class HealthGatedFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** One plane's health endpoint: 200 while up, 503 while down. */
  private static final class Plane implements AutoCloseable {
    final AtomicBoolean up = new AtomicBoolean(true);
    final HttpServer server;

    Plane() throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext(
          "/healthz",
          ex -> {
            byte[] body = (up.get() ? "ok" : "plane down").getBytes();
            ex.sendResponseHeaders(up.get() ? 200 : 503, body.length);
            ex.getResponseBody().write(body);
            ex.close();
          });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @Test
  void aDeadPlaneMovesTheRoleAndItsRecoveryDoesNotMoveItBack() throws Exception {
    Map<String, Plane> planes = new LinkedHashMap<>();
    for (String id : List.of("n1", "n2", "n3")) {
      planes.put(id, new Plane());
    }
    try (SidecarProcesses cluster =
        new SidecarProcesses(
            List.of("n1", "n2", "n3"),
            Set.of(),
            (dir, n) ->
                "promotion:\n  watchdog: false\n  steps:\n"
                    + "    - name: record\n      type: exec\n"
                    + "      command: 'echo \"$BATON_NODE token=$BATON_TOKEN\" >> "
                    + dir.resolve("hooks.log")
                    + "'\n      timeout: 5s\n"
                    + "health:\n"
                    + "  failuresToDemote: 3\n"
                    + "  successesToRecover: 2\n"
                    + "  minMoveInterval: 10s\n"
                    + "  checks:\n"
                    + "    - name: plane\n"
                    + "      type: http\n"
                    + "      url: http://127.0.0.1:"
                    + planes.get(n.id).port()
                    + "/healthz\n"
                    + "      interval: 300ms\n"
                    + "      timeout: 250ms\n")) {
      cluster.startAll();
      String old = cluster.awaitSingleActive(WAIT);

      long failed = System.nanoTime();
      planes.get(old).up.set(false);
      String now;
      try {
        now =
            await("another node's /active 200 after " + old + "'s plane went down")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(50))
                .until(
                    () -> cluster.activeIds().stream().filter(id -> !id.equals(old)).findFirst(),
                    java.util.Optional::isPresent)
                .get();
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(e.getMessage() + "\n" + cluster.logTails(60), e);
      }
      long movedMs = (System.nanoTime() - failed) / 1_000_000;
      System.out.println(
          "health-gated failover: "
              + movedMs
              + " ms from the plane's health endpoint failing (3 x 300 ms to count it down) to"
              + " another node's /active 200");
      assertThat(cluster.activeIds()).containsExactly(now);
      assertThat(cluster.get(old, "/active").code()).isEqualTo(503);
      assertThat(cluster.log(old)).contains("plane");

      // Visible while it lasts: /status, /metrics and the CLI's HEALTH column name the check.
      com.fasterxml.jackson.databind.JsonNode status =
          Json.read(cluster.get(old, "/status").body()).path("healthGating");
      assertThat(status.path("enabled").asBoolean()).isTrue();
      assertThat(status.path("eligible").asBoolean()).isFalse();
      assertThat(status.path("checks").get(0).path("name").asText()).isEqualTo("plane");
      assertThat(status.path("checks").get(0).path("lastReason").asText()).contains("503");
      assertThat(cluster.get(old, "/metrics").body())
          .containsPattern("baton_health_check_up\\{[^}]*check=\"plane\"[^}]*\\} 0\\.0");
      List<String> cliArgs = new java.util.ArrayList<>(List.of("status", "--endpoints"));
      cliArgs.add(String.join(",", cluster.endpoints()));
      cliArgs.addAll(cluster.secretArgs());
      SidecarProcessTest.Cli cli = SidecarProcessTest.cli(cliArgs.toArray(String[]::new));
      assertThat(cli.out()).containsPattern(old + "\\s+STANDBY.*up, unhealthy: plane");

      // The plane comes back: the role stays where it is.
      planes.get(old).up.set(true);
      await("the role stays on " + now + " after " + old + "'s plane recovered")
          .during(Duration.ofSeconds(5))
          .atMost(Duration.ofSeconds(20))
          .until(() -> cluster.activeIds().equals(List.of(now)));
    } finally {
      planes.values().forEach(Plane::close);
    }
  }
}
