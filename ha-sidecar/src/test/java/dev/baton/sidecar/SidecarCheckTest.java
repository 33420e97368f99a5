package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.dns.TsigAlgorithm;
import dev.baton.testing.dns.BindServer;
import dev.baton.testing.postgres.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code baton sidecar --check [--preflight]}, the real binary: a good file exits 0, a bad one 2
 * with every problem named, a failing pre-flight 1; nothing is ever started.
 */
class SidecarCheckTest {
  private static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  @TempDir Path dir;

  private record Run(int exit, String output) {}

  private Run check(Path config, String... extra) throws IOException, InterruptedException {
    return check(Map.of(), config, extra);
  }

  private Run check(Map<String, String> env, Path config, String... extra)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, "check-", ".log");
    String[] args =
        Stream.concat(
                Stream.of("sidecar", "--check", "--config", config.toString()), Stream.of(extra))
            .toArray(String[]::new);
    Process p = SidecarProcesses.launch(log, env, args);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), Files.readString(log));
  }

  private static void secrets(Path dir) throws IOException {
    Path s = Files.createDirectories(dir.resolve("secrets"));
    Files.writeString(s.resolve("cluster.secret"), SidecarProcesses.randomSecret());
    Files.writeString(s.resolve("pg-password"), "example-password\n");
    Files.writeString(
        s.resolve("tsig.key"),
        "key \"baton-key\" {\n\talgorithm hmac-sha256;\n\tsecret \""
            + SidecarProcesses.randomSecret().trim()
            + "\";\n};\n");
  }

  @Test
  void everyExampleConfigInTheRepositoryPassesTheCheck() throws Exception {
    List<Path> configs;
    try (Stream<Path> files = Files.walk(EXAMPLES)) {
      configs =
          files
              .filter(p -> p.toString().endsWith(".yaml") && !p.toString().contains("/target/"))
              .sorted()
              .toList();
    }
    assertThat(configs).as("example configs under " + EXAMPLES).hasSizeGreaterThanOrEqualTo(3);
    for (Path example : configs) {
      // Each example's directory, with the secrets a deployment would put next to it.
      Path copy = Files.createDirectories(dir.resolve(EXAMPLES.relativize(example.getParent())));
      secrets(copy);
      Path config = Files.copy(example, copy.resolve(example.getFileName()));
      Run r = check(config);
      assertThat(r.exit()).as(example + ":\n" + r.output()).isZero();
      assertThat(r.output()).contains("config " + config + ": ok (node ");
    }
    Run east = check(dir.resolve("two-regions/east-1.yaml"));
    assertThat(east.output())
        .contains("3 members, 2 promotion steps: postgres, dns)")
        .contains(
            "beside the role: postgres step 'postgres': former-primary guard of 10.0.1.10:5432")
        .contains("beside the role: postgres step 'postgres': WAL position reporter")
        // Issue 32: the fence's time bound, so that losing the active's region needs no STONITH.
        .contains(
            "beside the role: postgres step 'postgres': fence lease renewer of [mgmt-plane] on"
                + " 10.0.1.10:5432 every 100 ms while active")
        // Issue 32: losing either region (or DNS) must not hold the failover back.
        .contains(
            "beside the role: dns step 'dns': keeps api.mgmt.example.com. pointed at this node"
                + " while active (mode converge)");
    for (String region : List.of("east-1", "west-1")) {
      assertThat(Files.readString(EXAMPLES.resolve("two-regions/" + region + ".yaml")))
          .as("the shipped example fails over a lost region with no STONITH and no opt-out")
          .contains("fenceLease:")
          .doesNotContain("stopCommand")
          .doesNotContain("allowUnfencedOldPrimary");
    }
    assertThat(check(dir.resolve("two-regions/tie-1.yaml")).output())
        .contains("3 members, 0 promotion steps)");
    assertThat(Files.exists(Path.of("/var/lib/baton/east-1"))).as("nothing created").isFalse();
  }

  /**
   * The witness's host has a Java runtime and the cluster secret, nothing else: no PostgreSQL
   * tools, no PostgreSQL password, no TSIG key. Both the shipped tie-1.yaml (no steps) and the
   * regions' steps read by the witness pass --check there; an inline secret is still refused.
   */
  @Test
  void theWitnessNeedsNoPostgresToolsAndNoSecretItDoesNotUse() throws Exception {
    Path witness = Files.createDirectories(dir.resolve("witness"));
    Path secrets = Files.createDirectories(witness.resolve("secrets"));
    Files.writeString(secrets.resolve("cluster.secret"), SidecarProcesses.randomSecret());
    // A PATH with only java on it.
    Path bin = Files.createDirectories(dir.resolve("path-with-only-java"));
    Files.createSymbolicLink(
        bin.resolve("java"), Path.of(System.getProperty("java.home"), "bin", "java"));
    Map<String, String> env = Map.of("PATH", bin.toString());
    Path noTools = dir.resolve("no-postgresql-here/bin");

    Path shipped =
        Files.copy(EXAMPLES.resolve("two-regions/tie-1.yaml"), witness.resolve("tie-1.yaml"));
    Run r = check(env, shipped);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output())
        .contains("config " + shipped + ": ok (node tie-1")
        .contains("0 promotion steps)");

    String east = Files.readString(EXAMPLES.resolve("two-regions/east-1.yaml"));
    String regionsSteps =
        east.replace("node: east-1", "node: tie-1")
            .replace("dataDir: /var/lib/baton/east-1", "dataDir: /var/lib/baton/tie-1")
            .replace("listen: 10.0.1.5:8008", "listen: 10.2.1.5:8008")
            .replace("binDirectory: /usr/lib/postgresql/15/bin", "binDirectory: " + noTools);
    assertThat(regionsSteps).contains("node: tie-1").contains("binDirectory: " + noTools);
    Path withSteps = witness.resolve("tie-1-with-steps.yaml");
    Files.writeString(withSteps, regionsSteps);
    r = check(env, withSteps);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output())
        .contains("config " + withSteps + ": ok (node tie-1")
        .contains("0 promotion steps)")
        .doesNotContain("pg-password")
        .doesNotContain("tsig.key");

    Path inline = witness.resolve("tie-1-inline.yaml");
    Files.writeString(
        inline,
        regionsSteps.replace("passwordFile: secrets/pg-password", "password: hunter2-inline"));
    r = check(env, inline);
    assertThat(r.exit()).as(r.output()).isEqualTo(2);
    assertThat(r.output())
        .contains(inline + ":38: promotion.steps[0].password: a secret is never written")
        .doesNotContain("hunter2-inline");
    assertThat(Files.exists(Path.of("/var/lib/baton/tie-1"))).as("nothing created").isFalse();
  }

  @Test
  void aBadFileExitsWithStatus2NamingEachProblem() throws Exception {
    Path copy = Files.createDirectories(dir.resolve("bad"));
    secrets(copy);
    String yaml =
        Files.readString(EXAMPLES.resolve("two-regions/east-1.yaml"))
            .replace("passwordFile: secrets/pg-password", "password: hunter2-inline")
            .replace("keyFile: secrets/tsig.key", "keyFile: secrets/missing.key");
    Path config = copy.resolve("east-1.yaml");
    Files.writeString(config, yaml);
    Run r = check(config);
    assertThat(r.exit()).as(r.output()).isEqualTo(2);
    assertThat(r.output())
        .contains(config + ":38: promotion.steps[0].password: a secret is never written")
        .contains(config + ":67: promotion.steps[1].tsig.keyFile: file ")
        .contains("nothing was started.")
        .doesNotContain("hunter2-inline");
  }

  /**
   * Issue 32: {@code allowUnfencedOldPrimary} beside {@code fenceLease} defeats the time bound, so
   * the check warns (and still passes); {@code fenceLease.maxRenewalTime} is read from the file and
   * a bad one is named.
   */
  @Test
  void theCheckWarnsWhenAStepSetsBothFenceLeaseAndAllowUnfencedOldPrimary() throws Exception {
    Files.writeString(dir.resolve("cluster.secret"), SidecarProcesses.randomSecret());
    String base =
        """
        cluster: lease
        node: n1
        dataDir: data
        clusterSecretFile: cluster.secret
        members:
          - id: n1
            raft: 127.0.0.1:%d
            control: 127.0.0.1:%d
        promotion:
          steps:
            - name: pg
              type: postgres
              servers:
                n1: 127.0.0.1:5432
              user: postgres
              fenceResources: [orders]
              fenceLease:
                renewInterval: 100ms
                maxRenewalTime: %s
        """;
    int raft = SidecarProcesses.freePort();
    int control = SidecarProcesses.freePort();
    Path both = dir.resolve("both.yaml");
    Files.writeString(
        both, base.formatted(raft, control, "250ms") + "      allowUnfencedOldPrimary: true\n");
    Run r = check(both);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output())
        .contains("warning: postgres step 'pg': both the fence's time bound (fenceLease)")
        .contains("drop allowUnfencedOldPrimary");

    Path leaseOnly = dir.resolve("lease-only.yaml");
    Files.writeString(leaseOnly, base.formatted(raft, control, "250ms"));
    r = check(leaseOnly);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).doesNotContain("warning:");

    Path badRenewal = dir.resolve("bad-renewal.yaml");
    Files.writeString(badRenewal, base.formatted(raft, control, "0s"));
    r = check(badRenewal);
    assertThat(r.exit()).as(r.output()).isEqualTo(2);
    assertThat(r.output()).contains("maxRenewalTime").contains("must be positive");
  }

  @Test
  void preflightRunsEveryStepAgainstRealServersAndExitsOneWhenOneFails() throws Exception {
    try (PostgresServer pg = PostgresServer.startPrimary("preflight");
        BindServer dns = BindServer.start()) {
      Path keyFile = dns.keyFile(TsigAlgorithm.HMAC_SHA256.bindName());
      Files.writeString(dir.resolve("cluster.secret"), SidecarProcesses.randomSecret());
      String base =
          """
          cluster: pf
          node: n1
          dataDir: data
          clusterSecretFile: cluster.secret
          members:
            - id: n1
              raft: 127.0.0.1:%d
              control: 127.0.0.1:%d
          promotion:
            steps:
              - name: postgres
                type: postgres
                servers:
                  n1: %s
                user: postgres
              - name: dns
                type: dns
                server: %s:%d
                zone: %s
                names:
                  - name: app
                    values:
                      n1: 192.0.2.1
                tsig:
                  keyFile: %s
              - name: hook
                type: exec
                command: [/bin/true]
                preflightCommand: %s
          """;
      Path good = dir.resolve("good.yaml");
      Files.writeString(
          good,
          base.formatted(
              SidecarProcesses.freePort(),
              SidecarProcesses.freePort(),
              pg.endpoint(),
              dns.host(),
              dns.port(),
              dns.zone(),
              keyFile,
              "[/bin/sh, -c, 'test -x /bin/true']"));
      Run ok = check(good, "--preflight");
      assertThat(ok.exit()).as(ok.output()).isZero();
      assertThat(ok.output())
          .containsPattern("preflight postgres: ok \\(\\d+ ms\\)")
          .containsPattern("preflight dns: ok \\(\\d+ ms\\)")
          .containsPattern("preflight hook: ok \\(\\d+ ms\\)");

      Path bad = dir.resolve("bad.yaml");
      Files.writeString(
          bad,
          base.formatted(
              SidecarProcesses.freePort(),
              SidecarProcesses.freePort(),
              "127.0.0.1:" + SidecarProcesses.freePort(), // nothing listens there
              dns.host(),
              dns.port(),
              dns.zone(),
              keyFile,
              "[/bin/sh, -c, 'exit 5']"));
      Run failed = check(bad, "--preflight");
      assertThat(failed.exit()).as(failed.output()).isEqualTo(1);
      assertThat(failed.output())
          .contains("preflight postgres: FAILED: ")
          .containsPattern("preflight dns: ok \\(\\d+ ms\\)")
          .contains("preflight hook: FAILED: hook 'hook' exited with code 5");
      assertThat(Files.exists(dir.resolve("data"))).as("nothing was started").isFalse();
    }
  }
}
