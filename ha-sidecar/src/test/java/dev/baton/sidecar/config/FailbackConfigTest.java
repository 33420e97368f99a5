package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.FailbackPolicy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code failback:} section: off without it, the issue's shape accepted as written, and a
 * hold-down that is negative, zero or not a duration (or a section without {@code enabled}) refused
 * naming the file, the line, the key and the value.
 */
class FailbackConfigTest {
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
          priority: 2
        - id: n2
          raft: 127.0.0.1:7402
          control: 127.0.0.1:7502
      """;

  private Path write(String yaml) throws IOException {
    Path p = ConfigFiles.write(dir, yaml);
    return p;
  }

  private List<String> problems(String failback) throws IOException {
    return ConfigFiles.problems(write(HEAD + failback));
  }

  @Test
  void withoutTheSectionFailbackIsOff() throws IOException {
    assertThat(ConfigLoader.load(write(HEAD)).failback()).isEqualTo(FailbackPolicy.DISABLED);
  }

  @Test
  void theIssuesShapeIsAcceptedAsWrittenAndTheHoldDownDefaultsTo30s() throws IOException {
    SidecarConfig c =
        ConfigLoader.load(
            write(
                HEAD
                    + """
                    failback:
                      enabled: true
                      holdDown: 2m
                    """));
    assertThat(c.failback()).isEqualTo(FailbackPolicy.after(Duration.ofMinutes(2)));
    assertThat(c.members().get(0).priority()).isEqualTo(2);
    SidecarConfig d = ConfigLoader.load(write(HEAD + "failback:\n  enabled: true\n"));
    assertThat(d.failback()).isEqualTo(FailbackPolicy.after(Duration.ofSeconds(30)));
  }

  @Test
  void aNegativeHoldDownIsRefusedNamingTheKeyAndTheValue() throws IOException {
    assertThat(problems("failback:\n  enabled: true\n  holdDown: -5s\n"))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .endsWith(
                        "node.yaml:15: failback.holdDown: '-5s' is negative; the hold-down must be"
                            + " a positive duration, e.g. 30s (how long a higher-priority member"
                            + " must be up and healthy before the role fails back to it)"));
  }

  @Test
  void aZeroOrMalformedHoldDownIsRefusedNamingTheKeyAndTheValue() throws IOException {
    assertThat(problems("failback:\n  enabled: true\n  holdDown: 0s\n"))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("node.yaml:15: failback.holdDown: '0s' is zero")
                    .contains("must be a positive duration"));
    assertThat(problems("failback:\n  enabled: true\n  holdDown: soon\n"))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("node.yaml:15: failback.holdDown: 'soon' is not a duration"));
  }

  @Test
  void aSectionWithoutEnabledOrWithAnUnknownKeyIsRefused() throws IOException {
    assertThat(problems("failback:\n  holdDown: 30s\n"))
        .singleElement()
        .satisfies(p -> assertThat(p).contains("failback.enabled: is required"));
    assertThat(problems("failback:\n  enabled: true\n  holddown: 30s\n"))
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("failback.holddown: unknown key; allowed here: enabled, holdDown"));
  }
}
