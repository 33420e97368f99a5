package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthResult;
import dev.baton.testing.postgres.PostgresPair;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The PostgreSQL health check against a real primary and its streaming standby: the primary is
 * healthy as the active's server; the standby is healthy on a standby node and unhealthy under an
 * active node (it cannot take writes); a stopped server is unhealthy with a reason that names it.
 */
class PostgresHealthCheckTest {
  private static final HealthCheck.Settings SETTINGS =
      HealthCheck.Settings.of("db", Duration.ofSeconds(2), Duration.ofSeconds(2));

  private static HealthCheck check(String host, int port, boolean active) {
    return PostgresHealthCheck.of(
        SETTINGS, PostgresEndpoint.of(host, port), "postgres", null, () -> active);
  }

  @Test
  void primaryStandbyAndAStoppedServer() throws Exception {
    try (PostgresPair pair = PostgresPair.start("hc-east", "hc-west")) {
      pair.awaitStreaming();
      var primary = pair.primary();
      var standby = pair.standby();

      assertThat(check(primary.host(), primary.port(), true).check()).isEqualTo(HealthResult.ok());
      assertThat(check(standby.host(), standby.port(), false).check()).isEqualTo(HealthResult.ok());
      HealthResult standbyUnderActive = check(standby.host(), standby.port(), true).check();
      assertThat(standbyUnderActive.healthy()).isFalse();
      assertThat(standbyUnderActive.reason())
          .contains(standby.host() + ":" + standby.port())
          .contains("in recovery");

      primary.kill();
      HealthResult dead = check(primary.host(), primary.port(), true).check();
      assertThat(dead.healthy()).isFalse();
      assertThat(dead.reason())
          .contains(primary.host() + ":" + primary.port())
          .contains("as postgres")
          .contains("SQLSTATE 08");
    }
  }
}
