package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code health:} section: the issue's shape is accepted as written, defaults come from the
 * postgres step, and each kind of bad input is refused naming the file, the line and the key.
 */
class HealthConfigTest {
  @TempDir Path dir;

  private static final String HEAD =
      """
      cluster: orders
      node: n1
      dataDir: data/n1
      clusterSecretFile: cluster.secret
      members:
        - id: n1
          raft: 127.0.0.1:7401
          control: 127.0.0.1:7501
        - id: n2
          raft: 127.0.0.1:7402
          control: 127.0.0.1:7502
      promotion:
        steps:
          - name: db
            type: postgres
            servers:
              n1: 127.0.0.1:5433
              n2: 127.0.0.1:5434
            user: baton
            passwordFile: pg.password
            allowUnfencedOldPrimary: true
      """;

  private Path write(String yaml) throws IOException {
    Path p = ConfigFiles.write(dir, yaml);
    Files.writeString(dir.resolve("pg.password"), "not-logged\n");
    return p;
  }

  private List<String> problems(String health) throws IOException {
    return ConfigFiles.problems(write(HEAD + health));
  }

  @Test
  void theIssuesShapeIsAcceptedAsWritten() throws IOException {
    SidecarConfig c =
        ConfigLoader.load(
            write(
                HEAD
                    + """
                    health:
                      failuresToDemote: 3        # consecutive failures before the node counts as unhealthy
                      successesToRecover: 2
                      minMoveInterval: 30s       # at most one health-driven move per interval
                      checks:
                        - name: plane
                          type: http             # http | tcp | exec | postgres
                          url: http://127.0.0.1:8080/healthz
                          interval: 500ms
                          timeout: 300ms
                          demote: true           # true: an unhealthy active hands over; false: gates eligibility only
                        - name: db
                          type: postgres
                          # server, database, user and passwordFile default to this node's postgres step
                          interval: 1s
                          timeout: 500ms
                        - name: port
                          type: tcp
                          address: 127.0.0.1:8443
                          demote: false
                        - name: script
                          type: exec
                          command: test -e /run/plane.ok
                    """));
    assertThat(c.healthPolicy()).isEqualTo(new HealthPolicy(3, 2, Duration.ofSeconds(30)));
    assertThat(c.healthChecks())
        .extracting(HealthCheck::settings)
        .containsExactly(
            new HealthCheck.Settings("plane", Duration.ofMillis(500), Duration.ofMillis(300), true),
            new HealthCheck.Settings("db", Duration.ofSeconds(1), Duration.ofMillis(500), true),
            new HealthCheck.Settings("port", Duration.ofSeconds(1), Duration.ofSeconds(1), false),
            new HealthCheck.Settings("script", Duration.ofSeconds(1), Duration.ofSeconds(1), true));
    // The postgres check took this node's server and user from the step.
    assertThat(c.healthChecks().get(1).toString()).contains("127.0.0.1").contains("5433");
    assertThat(c.healthChecks().get(1).toString()).doesNotContain("not-logged");
  }

  @Test
  void noHealthSectionMeansNoChecks() throws IOException {
    SidecarConfig c = ConfigLoader.load(write(HEAD));
    assertThat(c.healthChecks()).isEmpty();
    assertThat(c.healthPolicy()).isEqualTo(HealthPolicy.DEFAULTS);
  }

  @Test
  void anUnknownTypeIsRefusedNamingLineAndKey() throws IOException {
    assertThat(
            problems(
                """
                health:
                  checks:
                    - name: plane
                      type: grpc
                """))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("node.yaml:25: health.checks[0].type: 'grpc' is not a check type")
                    .contains("[http, tcp, exec, postgres]"));
  }

  @Test
  void aCheckWithNoTargetIsRefused() throws IOException {
    assertThat(
            problems(
                """
                health:
                  checks:
                    - name: plane
                      type: http
                    - name: port
                      type: tcp
                    - name: script
                      type: exec
                """))
        .anySatisfy(p -> assertThat(p).contains("health.checks[0].url").contains("is required"))
        .anySatisfy(p -> assertThat(p).contains("health.checks[1].address").contains("is required"))
        .anySatisfy(
            p -> assertThat(p).contains("health.checks[2].command").contains("is required"));
  }

  @Test
  void anIntervalShorterThanItsTimeoutIsRefused() throws IOException {
    assertThat(
            problems(
                """
                health:
                  checks:
                    - name: plane
                      type: http
                      url: http://127.0.0.1:8080/healthz
                      interval: 200ms
                      timeout: 1s
                """))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("node.yaml:28: health.checks[0].timeout")
                    .contains("longer than the interval (200 ms)"));
  }

  @Test
  void unknownKeysAreRefusedAtEveryLevel() throws IOException {
    assertThat(
            problems(
                """
                health:
                  failuresToDemot: 3
                  checks:
                    - name: plane
                      type: http
                      url: http://127.0.0.1:8080/healthz
                      adress: 127.0.0.1:1
                """))
        .anySatisfy(p -> assertThat(p).contains("health.failuresToDemot").contains("unknown key"))
        .anySatisfy(p -> assertThat(p).contains("health.checks[0].adress").contains("unknown key"));
  }

  @Test
  void aPostgresCheckWithoutAServerForThisNodeIsRefused() throws IOException {
    Path p =
        write(
            HEAD.replace("node: n1", "node: w1")
                    .replace(
                        "members:\n",
                        "members:\n  - id: w1\n    raft: 127.0.0.1:7403\n    witness: true\n")
                + """
                health:
                  checks:
                    - name: db
                      type: postgres
                """);
    try {
      ConfigLoader.load(p);
      throw new AssertionError("accepted");
    } catch (ConfigException e) {
      assertThat(e.problems())
          .anySatisfy(m -> assertThat(m).contains("health.checks[0]").contains("needs a server"));
    }
  }
}
