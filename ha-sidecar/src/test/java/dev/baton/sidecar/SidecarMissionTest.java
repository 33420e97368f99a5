package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The whole mission through sidecars, with no Java code of the user's, on {@link TwoSites}: real
 * sidecar processes, a real PostgreSQL 15 primary and streaming standby, a real BIND 9 and the
 * Python fenced writer beside each database node. The sites are started once for the class; each
 * case starts from {@link TwoSites#baseline()} (n1 active on east), whatever the other did.
 *
 * <p>The order only saves time, it is not needed: the mission ends where it started (switched back
 * to n1), so the health case after it finds the baseline as it is; the other way round, the
 * mission's baseline would first have to rejoin east and switch back (about 20-30 s here). The
 * plane case after the postgres case pays for that one switch-back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarMissionTest {
  private static TwoSites sites;

  @BeforeAll
  static void startSites() throws Exception {
    sites = TwoSites.start();
  }

  @AfterAll
  static void stopSites() {
    if (sites != null) {
      sites.close();
    }
  }

  @Test
  @Order(1)
  void sigkillOfTheActiveWithItsDatabaseMovesWriterAndNameAndTheOldTokenIsRefused()
      throws Exception {
    sites.baseline();
    SidecarProcesses cluster = sites.cluster;
    long t1 = sites.n1TokenOnceItsWriterCommits();

    // SIGKILL n1 with its database: the machine is gone.
    int n2LogFrom = cluster.log("n2").length();
    long killedAt = System.currentTimeMillis();
    cluster.kill("n1");
    sites.east.kill();

    TwoSites.Moved moved = sites.awaitN2OnWest(t1, n2LogFrom);
    long t2 = moved.token();
    System.out.println(
        "SidecarMissionTest: failover through sidecars, SIGKILL of n1 and east to the Python"
            + " writer's first committed transaction on west: "
            + (moved.firstCommitMillis() - killedAt)
            + " ms (token "
            + t1
            + " -> "
            + t2
            + ")");

    // A transaction that carries the old token is refused by the fence.
    sites.assertRefusedOnWest(t1);

    // east comes back as a primary of its own, diverged: n1's guard keeps it read-only and rewinds
    // it into a standby of west. Then the CLI switches back to n1: east is promoted, the name moves
    // back, west is rejoined.
    sites.east.start();
    cluster.start("n1");
    long t3 = sites.rejoinEastAndSwitchBackToN1();
    assertThat(t3).isGreaterThan(t2);

    // Each sidecar's former-primary guard shows in /status: n2's rewound west into a standby of
    // east and follows it now; n1's leaves east alone while n1 is active.
    await("n2's /status shows its guard's west following the writer")
        .atMost(Duration.ofSeconds(30))
        .until(() -> guardState(cluster, "n2"), g -> g.path("done").asBoolean());
    assertThat(guardState(cluster, "n2").path("state").asText()).isIn("REJOINED", "STANDBY");
    assertThat(guardState(cluster, "n2").path("step").asText()).isEqualTo("postgres");
    assertThat(guardState(cluster, "n1").path("state").asText()).isIn("NODE_ACTIVE", "IS_WRITER");

    // What the primary holds: every committed transaction's token, in commit order, never goes
    // down, and nothing was written with the old token after the new one appeared.
    List<Long> tokens = new ArrayList<>();
    for (String t :
        sites
            .east
            .queryString("SELECT string_agg(token::text, ',' ORDER BY id) FROM ledger")
            .split(",")) {
      tokens.add(Long.parseLong(t));
    }
    for (int i = 1; i < tokens.size(); i++) {
      assertThat(tokens.get(i)).as("ledger row %d", i).isGreaterThanOrEqualTo(tokens.get(i - 1));
    }
    assertThat(tokens).contains(t1, t2, t3);
  }

  /** The {@code postgres-guard} entry of {@code node}'s {@code /status} actions. */
  private static JsonNode guardState(SidecarProcesses cluster, String node) throws Exception {
    for (JsonNode a : Json.read(cluster.get(node, "/status").body()).path("actions")) {
      if (a.path("type").asText().equals("postgres-guard")) {
        return a;
      }
    }
    throw new AssertionError(node + "'s /status has no postgres-guard action");
  }

  /**
   * Issue 31's postgres check: the active's sidecar keeps running, only its PostgreSQL primary
   * dies. n1's {@code type: postgres} health check fails, n1 hands the role to n2, n2's normal plan
   * promotes west past the unreachable east by the fence's time bound, the name moves, n2's writer
   * commits on west, and the old token is refused with BT001.
   *
   * <p>{@code -Dbaton.health.trials=N} runs the scenario N times (from the baseline each time) and
   * prints p50 and max of the time from the kill of east's server (the check fails from its next
   * probe) to n2's writer's first commit ({@code scripts/bench health}).
   */
  @Test
  @Order(2)
  void theActivesPrimaryDyingUnderALiveSidecarMovesTheRoleByItsHealthCheck() throws Exception {
    int trials = Integer.getInteger("baton.health.trials", 1);
    List<Long> millis = new ArrayList<>();
    for (int trial = 0; trial < trials; trial++) {
      sites.baseline();
      millis.add(primaryDiesUnderALiveActive());
    }
    HealthTimes.print("postgres", millis);
  }

  private long primaryDiesUnderALiveActive() throws Exception {
    SidecarProcesses cluster = sites.cluster;
    long t1 = sites.n1TokenOnceItsWriterCommits();
    int n1LogFrom = cluster.log("n1").length();
    int n2LogFrom = cluster.log("n2").length();

    // Only the postgres server process dies; n1's sidecar stays up and keeps its quorum.
    long failedAt = System.currentTimeMillis();
    sites.east.kill();

    TwoSites.Moved moved = sites.awaitN2OnWest(t1, n2LogFrom);
    long ms = moved.firstCommitMillis() - failedAt;
    System.out.println("health failover: check failing -> writer commit " + ms + " ms (postgres)");
    // Moved by the check while n1's sidecar runs and keeps its quorum: n1 hands the role over
    // through the planned switch path, or, if its lease ran out first (a loaded machine), the
    // health gate keeps it from activating again and hands Raft leadership to n2; without the
    // check n1 would hold the role over a dead database either way.
    assertThat(cluster.node("n1").orElseThrow().process.isAlive()).as("n1's sidecar runs").isTrue();
    assertThat(cluster.get("n1", "/active").code()).isEqualTo(503);
    assertThat(cluster.log("n1").substring(n1LogFrom))
        .as(cluster.logTails(40))
        .contains("health check 'db' is DOWN after 3 failures in a row")
        .containsPattern(
            "handing the role to n2 through the planned switch path"
                + "|not activating: unhealthy; handing leadership to n2");

    sites.assertRefusedOnWest(t1);
    return ms;
  }

  /**
   * Issue 31's http check, end to end: the active's plane fails (its health endpoint answers 503)
   * while its sidecar, its database and the network stay fine. n1's {@code type: http} check counts
   * it down, n1 hands the role to n2 through the planned switch path (its demotion makes east
   * read-only), n2's normal plan fences east and promotes west, the name moves, n2's writer commits
   * on west, and the old token is refused with BT001.
   *
   * <p>{@code -Dbaton.health.trials=N} runs it N times (from the baseline each time) and prints p50
   * and max of the time from the plane's first 503 to n2's writer's first commit ({@code
   * scripts/bench health}), beside the postgres case's.
   */
  @Test
  @Order(3)
  void theActivesPlaneFailingUnderALiveSidecarMovesTheRoleAndTheWriterCommitsOnTheNewPrimary()
      throws Exception {
    int trials = Integer.getInteger("baton.health.trials", 1);
    List<Long> millis = new ArrayList<>();
    for (int trial = 0; trial < trials; trial++) {
      sites.baseline();
      millis.add(planeFailsUnderALiveActive());
    }
    HealthTimes.print("http", millis);
  }

  private long planeFailsUnderALiveActive() throws Exception {
    SidecarProcesses cluster = sites.cluster;
    long t1 = sites.n1TokenOnceItsWriterCommits();
    int n1LogFrom = cluster.log("n1").length();
    int n2LogFrom = cluster.log("n2").length();

    long failedAt = System.currentTimeMillis();
    sites.planes.get("n1").up.set(false);

    TwoSites.Moved moved = sites.awaitN2OnWest(t1, n2LogFrom, false);
    long ms = moved.firstCommitMillis() - failedAt;
    System.out.println(
        "health failover: check failing -> writer commit "
            + ms
            + " ms (http: the plane's health endpoint answers 503, 3 x "
            + TwoSites.PLANE_CHECK_INTERVAL.toMillis()
            + " ms to count it down)");
    assertThat(cluster.node("n1").orElseThrow().process.isAlive()).as("n1's sidecar runs").isTrue();
    assertThat(cluster.get("n1", "/active").code()).isEqualTo(503);
    assertThat(cluster.log("n1").substring(n1LogFrom))
        .as(cluster.logTails(40))
        .contains("health check 'plane' is DOWN after 3 failures in a row")
        .containsPattern(
            "handing the role to n2 through the planned switch path"
                + "|not activating: unhealthy; handing leadership to n2");

    sites.assertRefusedOnWest(t1);
    sites.planes.get("n1").up.set(true);
    return ms;
  }
}
