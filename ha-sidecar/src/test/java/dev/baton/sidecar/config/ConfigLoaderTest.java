package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.baton.core.ExecAction;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every configuration error names the file, the line, the key path and what is allowed. */
class ConfigLoaderTest {
  @TempDir Path dir;

  private static final String GOOD =
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
        - id: w1
          raft: 127.0.0.1:7403
          witness: true
      http:
        listen: 127.0.0.1:8081
      timing:
        electionTimeoutMin: 500ms
      promotion:
        steps:
          - name: announce
            type: exec
            command: echo "$BATON_TOKEN" >> /tmp/x
            required: false
            timeout: 5s
          - name: direct
            type: exec
            command: [/bin/true, --flag]
            demoteCommand: [/bin/true]
            env:
              REGION: east
      logging:
        format: json
        level: debug
      """;

  private Path write(String yaml) throws IOException {
    Path p = dir.resolve("node.yaml");
    Files.writeString(p, yaml);
    Files.writeString(
        dir.resolve("cluster.secret"), "dk1luKB+EGSoSJ0Cr9+p+ff5xVjaAG1WK4ghz5NdG5I=\n");
    return p;
  }

  private ConfigException problems(String yaml) throws IOException {
    Path p = write(yaml);
    try {
      ConfigLoader.load(p);
    } catch (ConfigException e) {
      for (String problem : e.problems()) {
        assertThat(problem).as("every problem names the file").startsWith(p.toString());
      }
      return e;
    }
    throw new AssertionError("no ConfigException for\n" + yaml);
  }

  @Test
  void aGoodConfigLoadsWithDefaultsFilledIn() throws IOException {
    SidecarConfig c = ConfigLoader.load(write(GOOD));
    assertThat(c.clusterId()).isEqualTo("orders");
    assertThat(c.nodeId()).isEqualTo("n1");
    assertThat(c.dataDir()).isEqualTo(dir.resolve("data/n1"));
    assertThat(c.members())
        .containsExactly(
            Member.voter("n1", "127.0.0.1:7401"),
            Member.voter("n2", "127.0.0.1:7402"),
            Member.witness("w1", "127.0.0.1:7403"));
    assertThat(c.controlAddresses())
        .containsEntry("n1", "127.0.0.1:7501")
        .containsEntry("n2", "127.0.0.1:7502")
        .doesNotContainKey("w1");
    assertThat(c.controlListen()).isEqualTo("127.0.0.1:7501");
    assertThat(c.httpListen()).contains("127.0.0.1:8081");
    // electionTimeoutMax and the rest scale with the given minimum.
    assertThat(c.timing())
        .isEqualTo(Timing.scaledTo(Duration.ofMillis(500), Duration.ofMillis(1000)));
    assertThat(c.plan().watchdog()).as("the sidecar's watchdog is on by default").isTrue();
    assertThat(c.plan().stages()).extracting(s -> s.name()).containsExactly("announce", "direct");
    assertThat(c.plan().stages().get(0).policy().required()).isFalse();
    assertThat(c.plan().stages().get(0).policy().timeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(StepConfigTest.action(c, 1)).isInstanceOf(ExecAction.class);
    assertThat(c.logging()).isEqualTo(new SidecarConfig.Logging("json", "DEBUG", "ERROR"));
    assertThat(c.tls()).isEmpty();
  }

  @Test
  void unknownKeysAreNamedWithTheirLineAndTheAllowedKeys() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace("dataDir: data/n1", "dataDir: data/n1\nclustr: typo")
                .replace("    raft: 127.0.0.1:7402", "    raft: 127.0.0.1:7402\n    raftt: 1"));
    assertThat(e.problems()).hasSize(2);
    assertThat(e.problems().get(0))
        .contains(
            "node.yaml:4: clustr: unknown key; allowed here: cluster, node, dataDir, members");
    assertThat(e.problems().get(1))
        .contains(
            ":12: members[1].raftt: unknown key; allowed here: id, raft, control, witness,"
                + " noActivate, priority");
  }

  @Test
  void bootstrapIsReadAndCannotBeCombinedWithJoining() throws IOException {
    assertThat(ConfigLoader.load(write(GOOD)).bootstrap()).isFalse();
    assertThat(
            ConfigLoader.load(
                    write(GOOD.replace("dataDir: data/n1", "dataDir: data/n1\nbootstrap: true")))
                .bootstrap())
        .isTrue();
    ConfigException e =
        problems(
            GOOD.replace("dataDir: data/n1", "dataDir: data/n1\nbootstrap: true\njoining: true"));
    assertThat(e.getMessage())
        .contains(":4: bootstrap: bootstrap and joining are both true")
        .contains("keep one");
  }

  @Test
  void missingRequiredKeysAndUnknownNodesAreNamed() throws IOException {
    ConfigException e = problems(GOOD.replace("node: n1\n", ""));
    assertThat(e.getMessage()).contains("node: is required: this node's id, one of the members");

    e = problems(GOOD.replace("node: n1", "node: n9"));
    assertThat(e.getMessage()).contains(":2: node: 'n9' is not among the members [n1, n2, w1]");
  }

  @Test
  void badValuesSayWhatIsAllowed() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace("electionTimeoutMin: 500ms", "electionTimeoutMin: 1 sec")
                .replace("raft: 127.0.0.1:7402", "raft: 127.0.0.1:99999")
                .replace("witness: true", "witness: yes")
                .replace("format: json", "format: xml"));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(
                        "timing.electionTimeoutMin: '1 sec' is not a duration; use a whole number"
                            + " with ms, s, m or h"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("members[1].raft: '127.0.0.1:99999' is not an address: port 99999"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("members[2].witness: 'yes' is not allowed; use true or false"))
        .anySatisfy(
            p -> assertThat(p).contains("logging.format: 'xml' is not allowed; use text or json"));
  }

  @Test
  void historyLimitDefaultsTo100AndBelowOneIsRefusedNamingIt() throws IOException {
    assertThat(ConfigLoader.load(write(GOOD)).historyLimit()).isEqualTo(100);
    assertThat(ConfigLoader.load(write(GOOD + "historyLimit: 7\n")).historyLimit()).isEqualTo(7);
    assertThat(problems(GOOD + "historyLimit: 0\n").problems())
        .anySatisfy(
            p -> assertThat(p).contains("historyLimit: 0 is outside the allowed 1..100000"));
  }

  @Test
  void timingThatBreaksTheLeaseArgumentIsRefusedWithCoreMessage() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace(
                "electionTimeoutMin: 500ms",
                "electionTimeoutMin: 500ms\n  electionTimeoutMax: 400ms"));
    assertThat(e.getMessage())
        .contains(
            "timing: electionTimeoutMax (400 ms) must be greater than electionTimeoutMin (500 ms)");
  }

  @Test
  void unknownStepTypesListTheAllowedOnes() throws IOException {
    ConfigException e =
        problems(GOOD.replace("type: exec\n      command: [", "type: shell\n      command: ["));
    assertThat(e.getMessage())
        .contains(
            "promotion.steps[1].type: 'shell' is not a known step type; allowed: dns, exec,"
                + " postgres");
  }

  @Test
  void stepProblemsAreNamed() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace("name: direct", "name: announce")
                .replace("      timeout: 5s", "      timeout: 5s\n      retries: 3"));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("promotion.steps[1].name: 'announce' is used by another step"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(
                        "promotion.steps[0].retries: unknown key; allowed here: name, type, required,"
                            + " timeout, maxAttempts, backoff, maxBackoff, command, demoteCommand,"
                            + " preflightCommand, preflightTimeout, env, passEnv, workingDirectory"));
  }

  @Test
  void tlsFilesMustBeReadableAndOnlyThePathIsShown() throws IOException {
    ConfigException e =
        problems(
            GOOD
                + """
                tls:
                  certificateChain: certs/n1.pem
                  privateKey: certs/n1.key
                  trustedCertificates: certs/ca.pem
                  authorizedClients: [ops-admin]
                """);
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(
                        "tls.privateKey: file "
                            + dir.resolve("certs/n1.key")
                            + " is not readable"));
  }

  @Test
  void syntaxErrorsAndEmptyFilesAreReportedWithTheFile() throws IOException {
    ConfigException e = problems("cluster: a\nmembers: [\n");
    assertThat(e.getMessage()).contains("not valid YAML");
    e = problems("");
    assertThat(e.getMessage()).contains("the file is empty");
    e = problems("- a\n- b\n");
    assertThat(e.getMessage()).contains("must be a mapping of keys to values, found a list");
  }

  @Test
  void aMissingFileIsNamed() {
    Path missing = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> ConfigLoader.load(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(missing + ": cannot be read");
  }

  @Test
  void withoutTlsASecretOrInsecureTheSidecarRefusesToStartAndSaysWhatToAdd() throws IOException {
    ConfigException e = problems(GOOD.replace("clusterSecretFile: cluster.secret\n", ""));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("open to anyone")
                    .contains("clusterSecretFile")
                    .contains("clusterSecretEnv")
                    .contains("insecure: true"));
  }

  @Test
  void insecureMustBeSaidExplicitlyAndThenMeansAPlaintextRaftPort() throws IOException {
    SidecarConfig c =
        ConfigLoader.load(
            write(GOOD.replace("clusterSecretFile: cluster.secret\n", "insecure: true\n")));
    assertThat(c.raftSecurity()).isInstanceOf(SidecarConfig.RaftSecurity.Insecure.class);
    assertThat(ConfigLoader.load(write(GOOD)).raftSecurity())
        .isEqualTo(new SidecarConfig.RaftSecurity.SecretFile(dir.resolve("cluster.secret")));
  }

  @Test
  void theRaftPortIsSecuredOneWayOnly() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace(
                "clusterSecretFile: cluster.secret\n",
                "clusterSecretFile: cluster.secret\ninsecure: true\n"));
    assertThat(e.problems())
        .anySatisfy(p -> assertThat(p).contains("[clusterSecretFile, insecure]").contains("one"));
  }

  @Test
  void insecureIsRefusedBesideATlsControlApiThatWouldOnlyLookSecure() throws IOException {
    Files.createDirectories(dir.resolve("certs"));
    for (String f : new String[] {"n1.pem", "n1.key", "ca.pem"}) {
      Files.writeString(dir.resolve("certs").resolve(f), "not read by the loader\n");
    }
    ConfigException e =
        problems(
            GOOD.replace("clusterSecretFile: cluster.secret\n", "insecure: true\n")
                + """
                tls:
                  certificateChain: certs/n1.pem
                  privateKey: certs/n1.key
                  trustedCertificates: certs/ca.pem
                  raft: false
                  authorizedClients: [ops-admin]
                """);
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(": insecure: insecure: true leaves the Raft port open")
                    .contains("reserved baton/ keys")
                    .contains("would only look secure"));
  }

  @Test
  void aVariableThatHoldsASecretIsNeverPassedOnToAChildProcess() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace("clusterSecretFile: cluster.secret\n", "clusterSecretEnv: BATON_SECRET\n")
                .replace(
                    "      env:\n        REGION: east\n",
                    "      env:\n        REGION: east\n"
                        + "      passEnv: [AWS_REGION, BATON_SECRET, 'not a name']\n"));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("promotion.steps[1].passEnv[1]: BATON_SECRET holds a secret")
                    .contains("never passed on"))
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(
                        "promotion.steps[1].passEnv[2]: 'not a name' is not an environment variable"
                            + " name"))
        .noneSatisfy(p -> assertThat(p).contains("AWS_REGION"));
  }

  /**
   * A witness does not read a step's secrets (it never uses them), but still knows which variables
   * hold one: none of them may reach a child process, on a witness either.
   */
  @Test
  void aWitnessDoesNotReadAStepsSecretsButStillKeepsThemFromChildren() throws IOException {
    String witness =
        GOOD.replace("node: n1", "node: w1")
            .replace(
                "    raft: 127.0.0.1:7403\n",
                "    raft: 127.0.0.1:7403\n    control: 127.0.0.1:7503\n")
            .replace(
                "  steps:\n",
                "  steps:\n"
                    + "    - name: db\n"
                    + "      type: postgres\n"
                    + "      servers: {n1: 127.0.0.1:5432, n2: 127.0.0.1:5433}\n"
                    + "      passwordEnv: BATON_TEST_UNSET_PG_PASSWORD\n"
                    + "    - name: dns\n"
                    + "      type: dns\n"
                    + "      server: 127.0.0.1:53\n"
                    + "      zone: example.com\n"
                    + "      names: [{name: app, values: {n1: 192.0.2.1, n2: 192.0.2.2}}]\n"
                    + "      tsig: {keyFile: missing.key}\n");
    // The variable is not set and the key file does not exist: a witness needs neither.
    assertThat(System.getenv("BATON_TEST_UNSET_PG_PASSWORD")).isNull();
    SidecarConfig c = ConfigLoader.load(write(witness));
    assertThat(c.nodeId()).isEqualTo("w1");
    assertThat(c.plan().stages())
        .extracting(s -> s.name())
        .as("a witness runs no postgres or dns step")
        .containsExactly("announce", "direct");

    ConfigException e =
        problems(
            witness.replace(
                "      env:\n        REGION: east\n",
                "      env:\n        REGION: east\n"
                    + "      passEnv: [BATON_TEST_UNSET_PG_PASSWORD]\n"));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains(
                        "promotion.steps[3].passEnv[0]: BATON_TEST_UNSET_PG_PASSWORD holds a"
                            + " secret"));
  }

  @Test
  void aWeakClusterSecretIsNamedByItsFileAndKeyButNeverShown() throws IOException {
    Path p = write(GOOD);
    String weak = "0123456789abcdef0123456789abcdef0123";
    Files.writeString(dir.resolve("cluster.secret"), weak + "\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(p));
    assertThat(e.problems())
        .anySatisfy(
            m ->
                assertThat(m)
                    .startsWith(p + ":")
                    .contains(
                        "clusterSecretFile: the secret in file "
                            + dir.resolve("cluster.secret")
                            + " is too weak: it is hex of 18 bytes; it needs at least 32 random"
                            + " bytes")
                    .contains("openssl rand -base64 32")
                    .doesNotContain(weak));
  }

  @Test
  void aRotationAcceptsAnotherStrongSecretFileOnlyBesideAClusterSecret() throws IOException {
    Path p = write(GOOD + "acceptClusterSecretFiles: [next.secret]\n");
    Files.writeString(dir.resolve("next.secret"), "o9ydYw5VZm3t6Vqe0hBz6sQq0v2Xb8mJd4w1kR7nL0E=\n");
    assertThat(ConfigLoader.load(p).acceptedClusterSecretFiles())
        .containsExactly(dir.resolve("next.secret"));

    Files.writeString(dir.resolve("weak.secret"), "0123456789abcdef0123456789abcdef0123\n");
    ConfigException e = problems(GOOD + "acceptClusterSecretFiles: [weak.secret, gone.secret]\n");
    assertThat(e.problems())
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains("acceptClusterSecretFiles[0]: the secret in file")
                    .contains("is too weak: it is hex of 18 bytes")
                    .doesNotContain("0123456789abcdef"))
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains(
                        "acceptClusterSecretFiles[1]: file "
                            + dir.resolve("gone.secret")
                            + " is not readable"));

    e =
        problems(
            GOOD.replace("clusterSecretFile: cluster.secret\n", "insecure: true\n")
                + "acceptClusterSecretFiles: [next.secret]\n");
    assertThat(e.problems())
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains(
                        "acceptClusterSecretFiles: is for rotating a cluster secret: it needs"
                            + " clusterSecretFile or clusterSecretEnv"));
  }

  @Test
  void aSecretInAnUnsetEnvironmentVariableIsNamedButNeverShown() throws IOException {
    ConfigException e =
        problems(
            GOOD.replace(
                "clusterSecretFile: cluster.secret\n",
                "clusterSecretEnv: BATON_TEST_SECRET_THAT_IS_NOT_SET\n"));
    assertThat(e.problems())
        .anySatisfy(
            p ->
                assertThat(p)
                    .contains("clusterSecretEnv")
                    .contains("BATON_TEST_SECRET_THAT_IS_NOT_SET is not set"));
  }

  @Test
  void anUnreadableSecretFileIsNamed() throws IOException {
    ConfigException e =
        problems(GOOD.replace("clusterSecretFile: cluster.secret", "clusterSecretFile: nope"));
    assertThat(e.problems())
        .anySatisfy(p -> assertThat(p).contains("clusterSecretFile").contains("not readable"));
  }
}
