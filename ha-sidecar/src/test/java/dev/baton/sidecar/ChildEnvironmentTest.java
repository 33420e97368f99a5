package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A real sidecar whose cluster secret is in its environment ({@code clusterSecretEnv}) runs an exec
 * hook that writes out its own environment: the hook sees Baton's variables, the allow-listed ones
 * and what {@code passEnv} names, and never the secret nor any other variable of the sidecar.
 */
class ChildEnvironmentTest {
  @Test
  void anExecHookSeesNeitherTheClusterSecretNorAnyVariableItWasNotGiven() throws Exception {
    String secret = SidecarProcesses.randomSecret().strip();
    try (SidecarProcesses cluster =
        new SidecarProcesses(
            List.of("n1"),
            Set.of(),
            (dir, n) ->
                "promotion:\n  watchdog: false\n  steps:\n"
                    + "    - name: environment\n      type: exec\n"
                    + "      command: 'env > "
                    + dir.resolve("hook.env")
                    + "'\n"
                    + "      passEnv: [BATON_TEST_PASSED]\n"
                    + "      timeout: 5s\n")) {
      Path config = cluster.nodes.get("n1").config;
      String yaml = Files.readString(config);
      Files.writeString(
          config,
          yaml.replace(
              "clusterSecretFile: cluster.secret\n", "clusterSecretEnv: BATON_TEST_SECRET\n"));
      cluster.environment.put("BATON_TEST_SECRET", secret);
      cluster.environment.put("BATON_TEST_PASSED", "passed-on");
      cluster.environment.put("BATON_TEST_OTHER", "not-for-children");
      cluster.startAll();
      cluster.awaitSingleActive(Duration.ofSeconds(60));
      Path env = cluster.dir.resolve("hook.env");
      await("the hook wrote its environment")
          .atMost(Duration.ofSeconds(30))
          .ignoreExceptions()
          .until(() -> Files.readString(env).contains("BATON_ROLE=active"));
      String written = Files.readString(env);
      List<String> names =
          Arrays.stream(written.split("\n")).map(l -> l.replaceAll("=.*", "")).toList();
      assertThat(written).doesNotContain(secret);
      assertThat(names)
          .doesNotContain("BATON_TEST_SECRET", "BATON_TEST_OTHER")
          .contains("BATON_TOKEN", "BATON_NODE", "PATH", "BATON_TEST_PASSED");
      assertThat(written).contains("BATON_TEST_PASSED=passed-on");
    }
  }
}
