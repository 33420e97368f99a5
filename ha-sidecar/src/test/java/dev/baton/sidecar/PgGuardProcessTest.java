package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.postgres.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code baton pg-guard} as its own process beside PostgreSQL (issue 35, "where each piece runs"):
 * real sidecar processes (n1, n2 and a witness), real PostgreSQL 15 servers (east, n1's, the
 * primary; west, n2's, a streaming standby), and a pg-guard process reading n1's own YAML, whose
 * guard says {@code runIn: pg-guard} so that n1's sidecar does not run it. When n1's sidecar dies,
 * n2 promotes west and makes east read-only; the pg-guard process, talking to the cluster only
 * through the control API, must then rewind east into a streaming standby of west. Without it east
 * stays a read-only primary and the test fails.
 */
class PgGuardProcessTest {
  private static final Duration LIVENESS = Duration.ofSeconds(90);

  @Test
  void aGuardProcessBesidePostgresRejoinsTheFormerPrimaryWhenAnotherNodeIsActive()
      throws Exception {
    try (PostgresServer east = PostgresServer.startPrimary("east");
        PostgresServer west = PostgresServer.startStandbyOf(east, "west");
        SidecarProcesses cluster =
            new SidecarProcesses(
                List.of("n1", "n2", "w1"), Set.of("w1"), (dir, n) -> config(n.id, east, west))) {
      // Trust authentication on loopback ignores it, but the file is read as a deployment's is.
      Files.writeString(cluster.dir.resolve("pg-password"), "not-used-with-trust\n");
      cluster.startWithFirstActive("n1", "w1", "n2", LIVENESS);
      assertThat(cluster.log("n1"))
          .as("n1's sidecar leaves the guard to pg-guard")
          .doesNotContain("former-primary guard for");

      Path guardLog = cluster.dir.resolve("pg-guard.log");
      Process guard =
          SidecarProcesses.launch(
              guardLog, "pg-guard", "--config", cluster.node("n1").orElseThrow().config.toString());
      try {
        try {
          await("pg-guard sees that n1, whose server it guards, holds the role")
              .atMost(LIVENESS)
              .until(() -> !guard.isAlive() || Files.readString(guardLog).contains("NODE_ACTIVE"));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
          throw new AssertionError(
              e.getMessage() + "\npg-guard log:\n" + Files.readString(guardLog), e);
        }
        assertThat(guard.isAlive()).as(Files.readString(guardLog)).isTrue();
        // While n1 holds the role the guard leaves its server alone.
        assertThat(east.isInRecovery()).isFalse();
        assertThat(east.queryString("SHOW default_transaction_read_only")).isEqualTo("off");

        cluster.kill("n1");
        await("n2 active").atMost(LIVENESS).until(() -> cluster.get("n2", "/active").code() == 200);
        await("west promoted").atMost(LIVENESS).until(() -> !west.isInRecovery());
        try {
          await("east rewound into a standby of west by the pg-guard process")
              .atMost(LIVENESS)
              .ignoreExceptions()
              .until(
                  () ->
                      east.isInRecovery()
                          && west.queryLong(
                                  "SELECT count(*) FROM pg_stat_replication"
                                      + " WHERE state = 'streaming'")
                              > 0);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
          throw new AssertionError(
              e.getMessage()
                  + "\npg-guard log:\n"
                  + Files.readString(guardLog)
                  + cluster.logTails(40),
              e);
        }
        String log = Files.readString(guardLog);
        assertThat(log).contains("fencing it").contains("held for its rejoin");
        // The password never reaches the guard's log.
        assertThat(log).doesNotContain("not-used-with-trust");
      } finally {
        guard.destroy();
        if (!guard.waitFor(30, TimeUnit.SECONDS)) {
          guard.destroyForcibly();
        }
      }
    }
  }

  private static String config(String id, PostgresServer east, PostgresServer west) {
    StringBuilder y = new StringBuilder();
    y.append("promotion:\n  watchdog: false\n  steps:\n");
    y.append("    - name: postgres\n      type: postgres\n");
    y.append("      servers:\n");
    y.append("        n1: ").append(east.endpoint()).append('\n');
    y.append("        n2: ").append(west.endpoint()).append('\n');
    y.append("      user: ").append(PostgresServer.SUPERUSER).append('\n');
    y.append("      passwordFile: pg-password\n");
    y.append("      timeout: 60s\n");
    if (id.equals("n1")) {
      y.append("      formerPrimaryGuard:\n        runIn: pg-guard\n");
      y.append("        checkInterval: 500ms\n        rejoin:\n");
      y.append("          dataDirectory: ").append(east.dataDir()).append('\n');
      y.append("          binDirectory: ")
          .append(Path.of(PostgresServer.bin("pg_ctl")).getParent())
          .append('\n');
      y.append("          runAs: [")
          .append(String.join(", ", PostgresServer.asPostgresPrefix()))
          .append("]\n");
      y.append("          logFile: ").append(east.baseDir().resolve("postgres.log")).append('\n');
    }
    return y.toString();
  }
}
