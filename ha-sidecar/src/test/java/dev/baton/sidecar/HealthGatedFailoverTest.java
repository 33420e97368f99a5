package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Health-gated failover across real sidecar processes (issue 31): each sidecar has an http check on
 * a small HTTP server of its own, standing for its management plane. Stopping the active's plane
 * moves the role within {@code failuresToDemote x interval} plus the switch; starting it again does
 * not move the role back. The test prints the time to the new active's {@code /active} 200 (this
 * setup has no writer); {@code -Dbaton.health.trials=N} repeats the move and prints p50 and max.
 * {@code scripts/bench health} measures the http check to a writer's commit instead, in {@link
 * SidecarMissionTest}'s two sites. On the same cluster, maintenance mode (issue 37) holds an
 * unhealthy active until it is turned off, and the history keeps the switch, the full restart's
 * failover and the health move in token order with their steps.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HealthGatedFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration MIN_MOVE_INTERVAL = Duration.ofSeconds(10);
  // One cluster for both tests, which run in order: each starts from where the last one left it.
  private static final Map<String, Plane> planes = new LinkedHashMap<>();
  private static SidecarProcesses cluster;

  @BeforeAll
  static void start() throws Exception {
    for (String id : List.of("n1", "n2", "n3")) {
      planes.put(id, new Plane());
    }
    cluster =
        new SidecarProcesses(
            List.of("n1", "n2", "n3"),
            Set.of(),
            (dir, n) ->
                SidecarProcesses.recordingPromotion(dir)
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
                    + "      timeout: 250ms\n");
    cluster.startAll();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    planes.values().forEach(Plane::close);
  }

  @Test
  @Order(1)
  void aDeadPlaneMovesTheRoleAndItsRecoveryDoesNotMoveItBack() throws Exception {
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
  }

  /**
   * Issue 37, maintenance mode with real sidecar processes, on the same cluster: while it is on,
   * the active whose plane fails keeps the role (same token) and its status says that maintenance
   * holds it; a switch-active still moves the role; the flag survives a full restart of every
   * sidecar (SIGKILL, then start) and still holds an unhealthy active after it; {@code off} lets
   * the health move happen.
   */
  @Test
  @Order(2)
  void maintenanceHoldsAnUnhealthyActiveLetsASwitchThroughSurvivesAFullRestartAndOffMovesIt()
      throws Exception {
    SidecarProcessTest.Cli on = cli("maintenance", "on", "--reason", "plane upgrade");
    assertThat(on.status()).as(on.err()).isZero();
    assertThat(on.out()).startsWith("maintenance ON");

    // No health move while it is on: the note says why, and the role stays with its token.
    String held = holdsAnUnhealthyActive();
    String target =
        cluster.nodes.keySet().stream().filter(id -> !id.equals(held)).findFirst().orElseThrow();
    SidecarProcessTest.Cli moved = cli("switch-active", "--to", target);
    assertThat(moved.status()).as(moved.err()).isZero();
    assertThat(cluster.awaitSingleActive(WAIT)).isEqualTo(target);
    long switchToken = cluster.awaitActiveWithToken(target::equals, WAIT).token();
    planes.get(held).up.set(true);

    // A full restart of every sidecar: the flag is in the replicated state, so it is still on.
    for (SidecarProcesses.Node n : cluster.nodes.values()) {
      cluster.kill(n.id);
      assertThat(n.process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }
    cluster.startAll();
    for (String id : cluster.nodes.keySet()) {
      await(id + "'s /status shows maintenance on after the full restart")
          .atMost(WAIT)
          .ignoreExceptions()
          .until(
              () -> {
                JsonNode m = Json.read(cluster.get(id, "/status").body()).path("maintenance");
                return m.path("on").asBoolean()
                    && m.path("reason").asText().equals("plane upgrade");
              });
    }
    String heldAgain = holdsAnUnhealthyActive();

    // Off: the automatic behaviour is back, and the unhealthy active hands the role over.
    SidecarProcessTest.Cli off = cli("maintenance", "off");
    assertThat(off.status()).as(off.err()).isZero();
    String now = cluster.awaitAnotherActive(heldAgain, WAIT);
    await("the move is recorded as a health move")
        .atMost(WAIT)
        .ignoreExceptions()
        .until(
            () -> {
              JsonNode a = Json.read(cluster.get(now, "/history").body()).path("activations");
              JsonNode last = a.get(a.size() - 1);
              return last.path("nodeId").asText().equals(now)
                  && last.path("reason").asText().equals("HEALTH");
            });
    planes.get(heldAgain).up.set(true);
    historyAcrossTheSwitchTheFullRestartAndTheHealthMove(now, target, switchToken, heldAgain);
  }

  /**
   * Issue 37's history test with real processes: after a switch, a full restart (every sidecar
   * SIGKILLed: the first activation after it is a failover) and a health move, {@code /history}
   * holds them all in token order, the switch's record kept across the restart, and each activation
   * that completed its plan with the outcome and duration of its step.
   */
  private static void historyAcrossTheSwitchTheFullRestartAndTheHealthMove(
      String now, String switchTarget, long switchToken, String heldAgain) {
    // Read once the health move's activation has reported its plan completed.
    JsonNode activations =
        await("the health move's record on " + now + " shows its plan completed")
            .atMost(WAIT)
            .ignoreExceptions()
            .until(
                () -> Json.read(cluster.get(now, "/history").body()).path("activations"),
                a -> a.get(a.size() - 1).path("promoted").asBoolean());
    List<Long> tokens = new java.util.ArrayList<>();
    Map<Long, JsonNode> byToken = new LinkedHashMap<>();
    for (JsonNode a : activations) {
      tokens.add(a.path("token").asLong());
      byToken.put(a.path("token").asLong(), a);
    }
    assertThat(tokens).isSorted().doesNotHaveDuplicates();
    JsonNode theSwitch = byToken.get(switchToken);
    assertThat(theSwitch).as("the switch's record, kept across the full restart").isNotNull();
    assertThat(theSwitch.path("nodeId").asText()).isEqualTo(switchTarget);
    assertThat(theSwitch.path("reason").asText()).isEqualTo("SWITCH_ACTIVE");
    assertThat(cluster.nodes).containsKey(theSwitch.path("requester").asText());
    JsonNode last = activations.get(activations.size() - 1);
    assertThat(last.path("nodeId").asText()).isEqualTo(now);
    assertThat(last.path("reason").asText()).isEqualTo("HEALTH");
    assertThat(last.path("previousNodeId").asText()).isEqualTo(heldAgain);
    // Between them, the full restart: every sidecar was killed, nobody resigned, a failover.
    List<JsonNode> between =
        tokens.stream()
            .filter(t -> t > switchToken && t < last.path("token").asLong())
            .map(byToken::get)
            .toList();
    assertThat(between)
        .as("the activations between the switch and the health move")
        .anySatisfy(a -> assertThat(a.path("reason").asText()).isEqualTo("FAILOVER"));
    // Every activation that completed its plan carries its step, with outcome and duration.
    assertThat(List.of(theSwitch, last)).allMatch(a -> a.path("promoted").asBoolean());
    for (Long t : tokens.subList(tokens.indexOf(switchToken), tokens.size())) {
      if (!byToken.get(t).path("promoted").asBoolean()) {
        continue;
      }
      assertThat(byToken.get(t).path("steps"))
          .as("the steps of token " + t)
          .anySatisfy(
              st -> {
                assertThat(st.path("name").asText()).isEqualTo("record");
                assertThat(st.path("outcome").asText()).isEqualTo("COMPLETED");
                assertThat(st.path("durationMillis").asLong()).isNotNegative();
              });
    }
  }

  /**
   * Fails the steady active's plane and checks that maintenance holds it: its health note says so
   * and it keeps the role, with the same token, for 3 s (over three times failuresToDemote x
   * interval, which moves the role without maintenance). Returns the active.
   */
  private static String holdsAnUnhealthyActive() {
    String id = cluster.awaitSteadyActive(WAIT);
    SidecarProcesses.Active steady = cluster.awaitActiveWithToken(id::equals, WAIT);
    planes.get(id).up.set(false);
    await(id + "'s health note says that maintenance holds it")
        .atMost(WAIT)
        .ignoreExceptions()
        .until(
            () ->
                Json.read(cluster.get(id, "/status").body())
                    .path("healthGating")
                    .path("note")
                    .asText()
                    .startsWith(
                        "stays active: unhealthy, but maintenance mode is on and suspends health"
                            + " moves (set through "));
    await(id + " keeps the role with token " + steady.token() + " while unhealthy")
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                cluster.activeIds().equals(List.of(id))
                    && cluster.get(id, "/active").body().contains("token=" + steady.token()));
    return id;
  }

  private static SidecarProcessTest.Cli cli(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of(args));
    all.add("--endpoints");
    all.add(String.join(",", cluster.endpoints()));
    all.addAll(cluster.secretArgs());
    return SidecarProcessTest.cli(all.toArray(String[]::new));
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
