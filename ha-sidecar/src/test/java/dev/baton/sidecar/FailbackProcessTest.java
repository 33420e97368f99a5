package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Failback by priority (issue 37) across real sidecar processes, each with an http check on a
 * {@link Plane} of its own: n1 has priority 2, n2 and n3 the default 1, {@code failback: {enabled:
 * true, holdDown: 4s}} on every node. While n1 is unhealthy the role stays where it is between the
 * equal priorities; while n1 flaps (healthy for less than the hold-down, then sick again) it does
 * not pull the role; once it stays healthy it takes the role back, no sooner than the hold-down,
 * through the failback's switch request: the next activation in the history is n1's, with reason
 * {@code FAILBACK} and the old active as its previous one (no member in between).
 */
class FailbackProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration HOLD_DOWN = Duration.ofSeconds(4);

  @Test
  void theHigherPriorityNodeTakesTheRoleBackAfterTheHoldDownNeverBetweenEqualsNorWhileItFlaps()
      throws Exception {
    Map<String, Plane> planes = new LinkedHashMap<>();
    for (String id : List.of("n1", "n2", "n3")) {
      planes.put(id, new Plane());
    }
    // n1 is unhealthy from its start: the role goes to n2 or n3.
    planes.get("n1").up.set(false);
    try (SidecarProcesses cluster =
        new SidecarProcesses(
                List.of("n1", "n2", "n3"),
                Set.of(),
                (dir, n) ->
                    SidecarProcesses.recordingPromotion(dir)
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
                        + "      timeout: 250ms\n"
                        + "failback:\n"
                        + "  enabled: true\n"
                        + "  holdDown: "
                        + HOLD_DOWN.toSeconds()
                        + "s\n")
            .priorities(Map.of("n1", 2))) {
      cluster.startAll();
      cluster.awaitActiveWithToken(id -> !id.equals("n1"), WAIT);
      String low = cluster.awaitSteadyActive(WAIT);
      assertThat(low).isNotEqualTo("n1");
      SidecarProcesses.Active held = cluster.awaitActiveWithToken(low::equals, WAIT);

      // Equal priorities never move: for two hold-downs the role stays, with its token.
      await("the role stays on " + low + " (n2 and n3 have equal priorities, n1 is unhealthy)")
          .during(HOLD_DOWN.multipliedBy(2))
          .atMost(HOLD_DOWN.multipliedBy(5))
          .until(() -> stillHeld(cluster, held));

      // n1 flaps: healthy for 1.5 s (under the hold-down of 4 s), then sick for 1.5 s, four
      // times. Its hold-down starts again at each flap, so the role never moves.
      for (int flap = 0; flap < 4; flap++) {
        planes.get("n1").up.set(true);
        await("flap " + flap + ", n1 up: the role stays on " + low)
            .during(Duration.ofMillis(1500))
            .atMost(Duration.ofSeconds(10))
            .until(() -> stillHeld(cluster, held));
        planes.get("n1").up.set(false);
        await("flap " + flap + ", n1 down: the role stays on " + low)
            .during(Duration.ofMillis(1500))
            .atMost(Duration.ofSeconds(10))
            .until(() -> stillHeld(cluster, held));
      }
      assertThat(cluster.log(low)).contains("failback: n1 (priority 2, above this active's 1)");

      // n1 stays healthy: it takes the role back, no sooner than a whole hold-down.
      long upAt = System.nanoTime();
      planes.get("n1").up.set(true);
      SidecarProcesses.Active back = cluster.awaitActiveWithToken("n1"::equals, WAIT);
      long tookMs = (System.nanoTime() - upAt) / 1_000_000;
      System.out.println(
          "failback: n1's plane healthy again -> n1's /active 200 "
              + tookMs
              + " ms (hold-down "
              + HOLD_DOWN.toMillis()
              + " ms)");
      assertThat(tookMs).isGreaterThanOrEqualTo(HOLD_DOWN.toMillis());
      assertThat(back.token()).isGreaterThan(held.token());
      assertThat(cluster.log(low))
          .contains("failback: n1 has been up, caught up and healthy for 4000 ms")
          .contains("asking for a switch to it (reason FAILBACK)");

      // The history: the activation after the low-priority one is n1's FAILBACK, none between.
      List<JsonNode> since =
          await("n1's activation in the history")
              .atMost(WAIT)
              .ignoreExceptions()
              .until(() -> after(cluster, held.token()), list -> !list.isEmpty());
      JsonNode next = since.get(0);
      assertThat(next.path("nodeId").asText())
          .as(
              "the activations after %s's, then the logs:\n%s\n%s",
              low, since, cluster.logTails(80))
          .isEqualTo("n1");
      assertThat(next.path("reason").asText()).isEqualTo("FAILBACK");
      assertThat(next.path("previousNodeId").asText()).isEqualTo(low);
      assertThat(next.path("token").asLong()).isEqualTo(back.token());
      // The role stays on n1: nothing has a higher priority.
      await("the role stays on n1")
          .during(HOLD_DOWN)
          .atMost(HOLD_DOWN.multipliedBy(5))
          .until(() -> stillHeld(cluster, back));
    } finally {
      planes.values().forEach(Plane::close);
    }
  }

  /** Whether {@code a}'s node is the only active and still answers with {@code a}'s token. */
  private static boolean stillHeld(SidecarProcesses cluster, SidecarProcesses.Active a) {
    return cluster.activeIds().equals(List.of(a.id()))
        && cluster.get(a.id(), "/active").body().contains("token=" + a.token());
  }

  /** The activations after {@code token}, as n2 has applied them, oldest first. */
  private static List<JsonNode> after(SidecarProcesses cluster, long token) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode a : Json.read(cluster.get("n2", "/history").body()).path("activations")) {
      if (a.path("token").asLong() > token) {
        out.add(a);
      }
    }
    return out;
  }
}
