package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Health-gated failover across real sidecar processes (issue 31): each sidecar has an http check on
 * a small HTTP server of its own, standing for its management plane. Stopping the active's plane
 * moves the role within {@code failuresToDemote x interval} plus the switch; starting it again does
 * not move the role back. The test prints the time to the new active's {@code /active} 200 (this
 * setup has no writer); {@code -Dbaton.health.trials=N} repeats the move and prints p50 and max.
 * {@code scripts/bench health} measures the http check to a writer's commit instead, in {@link
 * SidecarMissionTest}'s two sites.
 */
class HealthGatedFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration MIN_MOVE_INTERVAL = Duration.ofSeconds(10);

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
                    + "  minMoveInterval: "
                    + MIN_MOVE_INTERVAL.toSeconds()
                    + "s\n"
                    + "  checks:\n"
                    + "    - name: plane\n"
                    + "      type: http\n"
                    + "      url: http://127.0.0.1:"
                    + planes.get(n.id).port()
                    + "/healthz\n"
                    + "      interval: 300ms\n"
                    + "      timeout: 250ms\n")) {
      cluster.startAll();
      // -Dbaton.health.trials=N repeats the move N times; each trial
      // starts once the last move is minMoveInterval old, so that the gate does not hold it back.
      int trials = Integer.getInteger("baton.health.trials", 1);
      List<Long> millis = new java.util.ArrayList<>();
      long lastMove = 0;
      for (int trial = 0; trial < trials; trial++) {
        if (trial > 0) {
          long since = lastMove;
          await("minMoveInterval (10 s) since the last move")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(200))
              .until(() -> System.nanoTime() - since >= MIN_MOVE_INTERVAL.toNanos());
        }
        millis.add(planeDiesAndComesBack(cluster, planes));
        lastMove = System.nanoTime();
      }
      HealthTimes.print("http-to-active", millis);
    } finally {
      planes.values().forEach(Plane::close);
    }
  }

  /**
   * Stops the active's plane, waits until another node is active, checks what status, metrics and
   * the CLI show, starts the plane again and checks that the role stays.
   *
   * @return the time from the plane answering 503 to another node's {@code /active} 200, in ms
   */
  private static long planeDiesAndComesBack(SidecarProcesses cluster, Map<String, Plane> planes)
      throws Exception {
    String old = cluster.awaitSteadyActive(WAIT);

    long failed = System.nanoTime();
    planes.get(old).up.set(false);
    String now = cluster.awaitAnotherActive(old, WAIT);
    long movedMs = (System.nanoTime() - failed) / 1_000_000;
    // This setup has no database and no writer: the end point is the new active's /active 200,
    // which it answers once its promotion plan has run.
    System.out.println(
        "health failover: check failing -> new active's /active 200 "
            + movedMs
            + " ms (http: the plane's health endpoint answers 503, 3 x 300 ms to count it down)");
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
    return movedMs;
  }
}
