package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.dns.DnsConverger;
import dev.baton.dns.DnsSwitch;
import dev.baton.postgres.PostgresPromotionAction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code postgres} and {@code dns} step types: a good file builds the adapters' actions and
 * services for this node; each kind of mistake is named by file, line and key, and a secret never
 * appears in a message.
 */
class StepConfigTest {
  @TempDir Path dir;

  private static final String SECRET_PASSWORD = "s3cr3t-password-never-shown";
  private static final String TSIG_SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";

  static final String GOOD =
      """
      cluster: mp
      node: n1
      dataDir: data/n1
      clusterSecretFile: cluster.secret
      members:
        - id: n1
          raft: 10.0.1.5:7400
          control: 10.0.1.5:7500
        - id: n2
          raft: 10.1.1.5:7400
          control: 10.1.1.5:7500
        - id: w1
          raft: 10.2.1.5:7400
          control: 10.2.1.5:7500
          witness: true
      promotion:
        steps:
          - name: postgres
            type: postgres
            servers:
              n1: 10.0.1.10:5432
              n2: 10.1.1.10:5432
            database: mp
            user: baton
            passwordFile: pg-password
            maximumLag: 16MiB
            fenceResources: [orders, config]
            stopCommand: /usr/local/bin/stonith
            formerPrimaryGuard:
              checkInterval: 2s
            positionReporter:
              interval: 1s
            timeout: 90s
          - name: dns
            type: dns
            server: 10.0.0.53:53
            zone: mp.example.com
            names:
              - name: api
                type: A
                values:
                  n1: 10.0.1.5
                  n2: 10.1.1.5
            ttl: 10s
            tsig:
              keyFile: tsig.key
            verify:
              servers: [10.0.0.53:53, 10.1.0.53:53]
      """;

  @BeforeEach
  void secrets() throws IOException {
    Files.writeString(
        dir.resolve("cluster.secret"), "dk1luKB+EGSoSJ0Cr9+p+ff5xVjaAG1WK4ghz5NdG5I=\n");
    Files.writeString(dir.resolve("pg-password"), SECRET_PASSWORD + "\n");
    Files.writeString(
        dir.resolve("tsig.key"),
        "key \"baton-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + TSIG_SECRET + "\";\n};\n");
  }

  private Path write(String yaml) throws IOException {
    Path p = dir.resolve("node.yaml");
    Files.writeString(p, yaml);
    return p;
  }

  /** {@code yaml} has exactly one problem, and it contains each of {@code parts}. */
  private void assertOneProblem(String yaml, String... parts) throws IOException {
    assertThat(problems(yaml)).singleElement(InstanceOfAssertFactories.STRING).contains(parts);
  }

  /** Among the problems of {@code yaml}, each of {@code messages} is contained in one. */
  private void assertProblemsInclude(String yaml, String... messages) throws IOException {
    List<String> p = problems(yaml);
    for (String m : messages) {
      assertThat(p).as(m).anySatisfy(s -> assertThat(s).contains(m));
    }
  }

  private List<String> problems(String yaml) throws IOException {
    Path p = write(yaml);
    try {
      ConfigLoader.load(p);
    } catch (ConfigException e) {
      for (String problem : e.problems()) {
        assertThat(problem).as("every problem names the file").startsWith(p + ":");
        assertThat(problem).doesNotContain(SECRET_PASSWORD).doesNotContain(TSIG_SECRET);
      }
      return e.problems();
    }
    throw new AssertionError("no ConfigException for\n" + yaml);
  }

  @Test
  void aGoodFileBuildsThePostgresAndDnsActionsAndTheServicesBesideThem() throws IOException {
    SidecarConfig c = ConfigLoader.load(write(GOOD));
    List<PromotionPlan.Stage> steps = c.plan().stages();
    assertThat(steps).extracting(PromotionPlan.Stage::name).containsExactly("postgres", "dns");
    assertThat(steps).allMatch(PromotionPlan.ActionStage.class::isInstance);
    assertThat(action(c, 0)).isInstanceOf(PostgresPromotionAction.class);
    assertThat(((PostgresPromotionAction) action(c, 0)).target().address())
        .isEqualTo("10.0.1.10:5432");
    assertThat(steps.get(0).policy().timeout().toSeconds()).isEqualTo(90);
    assertThat(action(c, 1)).isInstanceOf(DnsSwitch.class);
    DnsSwitch dns = (DnsSwitch) action(c, 1);
    assertThat(dns.names()).containsExactly("api.mp.example.com.");
    assertThat(dns.zone()).isEqualTo("mp.example.com.");
    assertThat(c.services())
        .extracting(NodeService::describe)
        .containsExactly(
            "postgres step 'postgres': former-primary guard of 10.0.1.10:5432 (read-only only)",
            "postgres step 'postgres': WAL position reporter of 10.0.1.10:5432 every 1000 ms"
                + " while active");
    // Nothing of a secret in what the config shows.
    assertThat(c.toString()).doesNotContain(SECRET_PASSWORD).doesNotContain(TSIG_SECRET);
  }

  @Test
  void aGuardThatRunsInPgGuardIsLeftOutOfTheSidecarAndABadRunInIsNamed() throws Exception {
    SidecarConfig c =
        ConfigLoader.load(
            write(GOOD.replace("checkInterval: 2s", "checkInterval: 2s\n        runIn: pg-guard")));
    FormerPrimaryGuardService guard =
        c.services().stream()
            .filter(FormerPrimaryGuardService.class::isInstance)
            .map(FormerPrimaryGuardService.class::cast)
            .findFirst()
            .orElseThrow();
    assertThat(guard.inSidecar()).isFalse();
    assertThat(guard.nodeId()).isEqualTo("n1");
    assertThat(guard.server().address()).isEqualTo("10.0.1.10:5432");
    assertThat(guard.describe())
        .isEqualTo(
            "postgres step 'postgres': former-primary guard of 10.0.1.10:5432 (read-only only)"
                + " runs in 'baton pg-guard' beside PostgreSQL, not in this sidecar");
    // The sidecar starts nothing for it (the node is not even looked at).
    guard.start(null).close();
    assertOneProblem(
        GOOD.replace("checkInterval: 2s", "checkInterval: 2s\n        runIn: elsewhere"),
        "formerPrimaryGuard.runIn",
        "'elsewhere'",
        "'pg-guard'");
  }

  /** An executable file named {@code name} in {@code bin}. */
  /** The action of the plan's {@code i}-th step: every step the sidecar builds is an action. */
  static PromotionAction action(SidecarConfig c, int i) {
    return ((PromotionPlan.ActionStage) c.plan().stages().get(i)).action();
  }

  private static void executable(Path bin, String name) throws IOException {
    Path f = bin.resolve(name);
    Files.writeString(f, "#!/bin/sh\nexit 1\n");
    Files.setPosixFilePermissions(
        f, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static String guardDescription(SidecarConfig c) {
    return c.services().stream()
        .filter(FormerPrimaryGuardService.class::isInstance)
        .map(NodeService::describe)
        .findFirst()
        .orElseThrow();
  }

  /**
   * Issue 32: the rejoin's opt-in re-clone after a failed pg_rewind is off by default, takes true
   * or false, and with true needs pg_basebackup beside pg_rewind.
   */
  @Test
  void recloneOnRewindFailureIsOffByDefaultAndNeedsPgBasebackup() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("pgbin"));
    executable(bin, "pg_rewind");
    String rejoin =
        GOOD.replace(
            "checkInterval: 2s",
            "checkInterval: 2s\n        rejoin:\n          dataDirectory: data\n"
                + "          binDirectory: "
                + bin);
    assertThat(guardDescription(ConfigLoader.load(write(rejoin))))
        .isEqualTo(
            "postgres step 'postgres': former-primary guard of 10.0.1.10:5432 (with pg_rewind"
                + " rejoin)");

    String reclone =
        rejoin.replace(
            "binDirectory: " + bin,
            "binDirectory: " + bin + "\n          recloneOnRewindFailure: true");
    assertOneProblem(
        reclone,
        "formerPrimaryGuard.rejoin.recloneOnRewindFailure",
        "no executable pg_basebackup in " + bin);
    assertOneProblem(
        reclone.replace("recloneOnRewindFailure: true", "recloneOnRewindFailure: yes"),
        "recloneOnRewindFailure",
        "'yes'",
        "true or false");

    executable(bin, "pg_basebackup");
    assertThat(guardDescription(ConfigLoader.load(write(reclone))))
        .isEqualTo(
            "postgres step 'postgres': former-primary guard of 10.0.1.10:5432 (with pg_rewind"
                + " rejoin; pg_basebackup re-clone if pg_rewind fails)");
  }

  @Test
  void pgGuardRefusesAFileWhoseGuardTheSidecarRunsOrThatHasNone() throws IOException {
    Path inSidecar = write(GOOD);
    Cli r = cli("pg-guard", "--config", inSidecar.toString());
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err())
        .contains(inSidecar.toString())
        .contains("formerPrimaryGuard.runIn is 'sidecar'")
        .contains("runIn: pg-guard");
    Path none = write(GOOD.replace("      formerPrimaryGuard:\n        checkInterval: 2s\n", ""));
    r = cli("pg-guard", "--config", none.toString());
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("has no postgres step with a formerPrimaryGuard section");
    r = cli("pg-guard");
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("pg-guard needs --config");
  }

  /**
   * Issue 32: {@code baton pg-guard} runs the rejoin on its own host, so it checks there for every
   * program the rejoin may run: pg_rewind, and pg_basebackup when it may re-clone.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60) // the old code went on to reach the cluster, for ever
  void pgGuardChecksForEveryRejoinProgramOnItsOwnHost() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("guardbin"));
    String guard =
        GOOD.replace(
            "checkInterval: 2s",
            "checkInterval: 2s\n        runIn: pg-guard\n        rejoin:\n"
                + "          dataDirectory: data\n"
                + "          binDirectory: "
                + bin
                + "\n          recloneOnRewindFailure: true");
    Path file = write(guard);
    Cli r = cli("pg-guard", "--config", file.toString());
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err())
        .contains(file.toString())
        .contains("formerPrimaryGuard.rejoin.binDirectory: no executable pg_rewind at ")
        .contains(bin.resolve("pg_rewind").toString());

    executable(bin, "pg_rewind");
    r = cli("pg-guard", "--config", file.toString());
    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err())
        .contains(file.toString())
        .contains("formerPrimaryGuard.rejoin.recloneOnRewindFailure: no executable pg_basebackup")
        .contains(bin.resolve("pg_basebackup").toString())
        .contains("recloneOnRewindFailure: true needs it");
  }

  private record Cli(int status, String out, String err) {}

  private static Cli cli(String... args) {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cl = dev.baton.sidecar.cli.BatonCommand.commandLine();
    cl.setOut(new java.io.PrintWriter(out, true));
    cl.setErr(new java.io.PrintWriter(err, true));
    int status = cl.execute(args);
    return new Cli(status, out.toString(), err.toString());
  }

  @Test
  void theWitnessReadsTheSameStepsAndHasNothingToDo() throws IOException {
    SidecarConfig c = ConfigLoader.load(write(GOOD.replace("node: n1", "node: w1")));
    assertThat(c.plan().stages()).isEmpty();
    assertThat(c.services()).isEmpty();
  }

  @Test
  void theOtherSiteFromTheSameStepsPromotesItsOwnServer() throws IOException {
    SidecarConfig c = ConfigLoader.load(write(GOOD.replace("node: n1", "node: n2")));
    assertThat(((PostgresPromotionAction) action(c, 0)).target().address())
        .isEqualTo("10.1.1.10:5432");
    assertThat(action(c, 1)).isInstanceOf(DnsSwitch.class);
  }

  @Test
  void anInlinePasswordIsRefusedWithWhereToPutIt() throws IOException {
    List<String> p =
        problems(GOOD.replace("passwordFile: pg-password", "password: " + SECRET_PASSWORD));
    assertThat(p)
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        ":25: promotion.steps[0].password: a secret is never written in the config"
                            + " file: put the PostgreSQL password in a file that only the sidecar"
                            + " can read and set passwordFile, or set passwordEnv to the name of an"
                            + " environment variable that holds it"));
  }

  @Test
  void anUnsetPasswordVariableAndAnUnreadablePasswordFileAreNamed() throws IOException {
    assertThat(
            problems(
                GOOD.replace(
                    "passwordFile: pg-password", "passwordEnv: BATON_TEST_UNSET_VARIABLE_42")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        ":25: promotion.steps[0].passwordEnv: environment variable"
                            + " BATON_TEST_UNSET_VARIABLE_42 is not set (it must hold the"
                            + " PostgreSQL password)"));
    assertThat(problems(GOOD.replace("passwordFile: pg-password", "passwordFile: nowhere/pw")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(":25: promotion.steps[0].passwordFile: file ")
                    .contains("nowhere/pw is not readable"));
  }

  @Test
  void anUnknownKeyInAStepListsTheStepTypesKeys() throws IOException {
    assertThat(problems(GOOD.replace("      database: mp\n", "      databse: mp\n")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(":23: promotion.steps[0].databse: unknown key; allowed here: name,")
                    .contains("servers, database, user, passwordFile"));
  }

  @Test
  void aZeroRejoinStaleAfterIsRefusedWithItsKeyAndValue() throws IOException {
    assertThat(
            problems(
                GOOD.replace(
                    "      stopCommand: /usr/local/bin/stonith\n",
                    "      stopCommand: /usr/local/bin/stonith\n      rejoinStaleAfter: 0s\n")))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("promotion.steps[0].rejoinStaleAfter: must be positive")
                    .endsWith("not 0s"));
  }

  /**
   * Issue 32: {@code fenceLease} bounds the step's fence rows in time (protocol version 3) and runs
   * the renewer beside the role; a bad interval and a lease with nothing to bound are refused,
   * naming the key and the value.
   */
  @Test
  void aFenceLeaseBoundsThePromotionAndRunsTheRenewerBesideTheRole() throws IOException {
    String leased =
        GOOD.replace(
            "      timeout: 90s\n",
            "      fenceLease:\n        renewInterval: 150ms\n      timeout: 90s\n");
    SidecarConfig c = ConfigLoader.load(write(leased));
    assertThat(((PostgresPromotionAction) action(c, 0)).fenceTimeBound()).isTrue();
    assertThat(c.services())
        .extracting(NodeService::describe)
        .contains(
            "postgres step 'postgres': fence lease renewer of [orders, config] on 10.0.1.10:5432"
                + " every 150 ms while active");
    assertThat(
            ((PostgresPromotionAction) action(ConfigLoader.load(write(GOOD)), 0)).fenceTimeBound())
        .as("off unless configured")
        .isFalse();

    assertThat(problems(leased.replace("renewInterval: 150ms", "renewInterval: 0s")))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("promotion.steps[0].fenceLease.renewInterval: must be positive")
                    .endsWith("not 0s"));
    assertThat(problems(leased.replace("      fenceResources: [orders, config]\n", "")))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("promotion.steps[0].fenceLease: bounds the fence rows in time")
                    .contains("fenceResources names none"));
  }

  @Test
  void anUnreadableTsigKeyFileIsNamed() throws IOException {
    assertThat(problems(GOOD.replace("keyFile: tsig.key", "keyFile: missing.key")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(":46: promotion.steps[1].tsig.keyFile: file ")
                    .contains("missing.key is not readable"));
  }

  @Test
  void aWrongTsigAlgorithmIsNamedWithTheAcceptedOnes() throws IOException {
    Files.writeString(
        dir.resolve("tsig.key"),
        "key \"baton-key\" {\n\talgorithm hmac-sha999;\n\tsecret \"" + TSIG_SECRET + "\";\n};\n");
    assertThat(problems(GOOD))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        ":46: promotion.steps[1].tsig.keyFile: unknown TSIG algorithm"
                            + " 'hmac-sha999' (accepted: hmac-md5, hmac-sha1"));
  }

  @Test
  void anInlineTsigSecretIsRefused() throws IOException {
    assertThat(
            problems(
                GOOD.replace(
                    "keyFile: tsig.key",
                    "name: baton-key\n        algorithm: hmac-sha256\n        secret: "
                        + TSIG_SECRET)))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains("promotion.steps[1].tsig.secret: a secret is never written in the"));
  }

  @Test
  void anUnknownMemberInAPerNodeValueIsNamed() throws IOException {
    assertProblemsInclude(
        GOOD.replace("        n2: 10.1.1.10:5432", "        n9: 10.1.1.10:5432")
            .replace("            n2: 10.1.1.5", "            west: 10.1.1.5"),
        ":22: promotion.steps[0].servers.n9: 'n9' is not a member; members are [n1, n2, w1]",
        ":43: promotion.steps[1].names[0].values.west: 'west' is not a member; members are"
            + " [n1, n2, w1]");
  }

  @Test
  void anEligibleNodeWithoutItsOwnServerOrValueIsRefused() throws IOException {
    assertProblemsInclude(
        GOOD.replace("        n1: 10.0.1.10:5432\n", "").replace("            n1: 10.0.1.5\n", ""),
        "promotion.steps[0].servers: has no server for this node 'n1': a node that may become"
            + " active promotes its own server",
        "promotion.steps[1].names[0].values: has no value for this node 'n1'");
  }

  @Test
  void aVerifyQuorumOfZeroOrAboveTheServersIsNamedWithItsKeyAndValue() throws IOException {
    String servers = "servers: [10.0.0.53:53, 10.1.0.53:53]";
    assertThat(problems(GOOD.replace(servers, servers + "\n        quorum: 0")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].verify.quorum: 0 is not allowed: at least 1 server"));
    assertThat(problems(GOOD.replace(servers, servers + "\n        quorum: 3")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].verify.quorum: 3 is more than the 2 servers in"
                            + " verify.servers"));
    assertThat(problems(GOOD.replace(servers, servers + "\n        quorum: most")))
        .anySatisfy(
            s -> assertThat(s).contains("promotion.steps[1].verify.quorum: 'most' is not allowed"));
  }

  @Test
  void aVerifyQuorumIsPassedToTheSwitch() throws IOException {
    String servers = "servers: [10.0.0.53:53, 10.1.0.53:53]";
    DnsSwitch one =
        (DnsSwitch)
            action(
                ConfigLoader.load(write(GOOD.replace(servers, servers + "\n        quorum: 1"))),
                1);
    assertThat(one.verifyQuorum()).isEqualTo("1");
    DnsSwitch all = (DnsSwitch) action(ConfigLoader.load(write(GOOD)), 1);
    assertThat(all.verifyQuorum()).as("the default stays all").isEqualTo("all");
  }

  @Test
  void modeConvergeBuildsAConvergerAndTheServiceBesideTheRole() throws IOException {
    String servers = "servers: [10.0.0.53:53, 10.1.0.53:53]";
    SidecarConfig c =
        ConfigLoader.load(
            write(
                GOOD.replace(
                    servers,
                    servers
                        + "\n        quorum: 1\n      mode: converge\n      convergeBackoff: 500ms"
                        + "\n      convergeMaxBackoff: 10s\n      convergeRecheckInterval: 5s")));
    assertThat(c.plan().stages().get(1).name()).isEqualTo("dns");
    assertThat(action(c, 1)).isInstanceOf(DnsConverger.class);
    DnsConverger converger = (DnsConverger) action(c, 1);
    assertThat(converger.dnsSwitch().verifyQuorum()).isEqualTo("1");
    assertThat(converger.toString()).contains("backoff 500..10000 ms, recheck every 5000 ms");
    assertThat(c.services())
        .extracting(NodeService::describe)
        .contains(
            "dns step 'dns': keeps api.mp.example.com. pointed at this node while active (mode"
                + " converge)");
    // The witness reads the same section and builds nothing.
    assertThat(ConfigLoader.load(write(GOOD.replace("node: n1", "node: w1"))).services()).isEmpty();
  }

  @Test
  void aBadModeOrConvergeSettingIsNamedWithItsKeyAndValue() throws IOException {
    String servers = "servers: [10.0.0.53:53, 10.1.0.53:53]";
    assertThat(problems(GOOD.replace(servers, servers + "\n      mode: eventually")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains("promotion.steps[1].mode: 'eventually' is not allowed; use wait"));
    assertThat(problems(GOOD.replace(servers, servers + "\n      convergeBackoff: 1s")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].convergeBackoff: applies only with mode: converge"));
    assertThat(problems(GOOD.replace(servers, servers + "\n      convergeRecheckInterval: 1m")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].convergeRecheckInterval: applies only with mode:"
                            + " converge"));
    assertThat(
            problems(
                GOOD.replace(
                    servers,
                    servers + "\n      mode: converge\n      convergeRecheckInterval: 0s")))
        .anySatisfy(s -> assertThat(s).contains("convergeRecheckInterval"));
    assertThat(
            problems(
                GOOD.replace(
                    servers,
                    servers
                        + "\n      mode: converge\n      convergeBackoff: 5s"
                        + "\n      convergeMaxBackoff: 1s")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains("convergeMaxBackoff: must be at least convergeBackoff (PT5S), was"));
  }

  @Test
  void valuesMustMatchTheirRecordType() throws IOException {
    assertThat(problems(GOOD.replace("type: A\n", "type: CNAME\n")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].names[0].values.n1: '10.0.1.5' is an address; a CNAME"
                            + " points to a name"));
    assertThat(problems(GOOD.replace("type: A\n", "type: AAAA\n")))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains(
                        "promotion.steps[1].names[0].values.n1: '10.0.1.5' is not an IPv6 address"));
  }

  @Test
  void sizesAndFenceSchemaNamesAreChecked() throws IOException {
    List<String> p =
        problems(
            GOOD.replace("maximumLag: 16MiB", "maximumLag: 16 megs")
                .replace(
                    "      fenceResources:",
                    "      fenceSchema: Baton-Fence\n      fenceResources:"));
    assertThat(p)
        .anySatisfy(
            s -> assertThat(s).contains("promotion.steps[0].maximumLag: '16 megs' is not a size"))
        .anySatisfy(
            s ->
                assertThat(s)
                    .contains("promotion.steps[0].fenceSchema: invalid fence schema name"));
  }
}
