package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Configs the docs show as working are read by the loader straight from the Markdown, so they
 * cannot rot: the "loopback rehearsal" of docs/operations/deployment.md was refused for a while (no
 * clusterSecretFile) while the page said the sessions ran with it.
 */
class DocConfigsTest {
  private static final Path DEPLOYMENT =
      Path.of("..", "docs", "operations", "deployment.md").toAbsolutePath().normalize();

  @TempDir Path dir;

  /** The first ```yaml block after the heading {@code heading} in {@code markdown}. */
  static String yamlBlockAfter(Path markdown, String heading) throws IOException {
    String text = Files.readString(markdown);
    int at = text.indexOf("\n" + heading + "\n");
    assertThat(at).as(markdown + " has the heading '" + heading + "'").isNotNegative();
    Matcher m = Pattern.compile("```yaml\n(.*?)\n```", Pattern.DOTALL).matcher(text);
    assertThat(m.find(at)).as(markdown + ": a ```yaml block after '" + heading + "'").isTrue();
    int next = text.indexOf("\n## ", at + 1);
    assertThat(next < 0 || m.start() < next)
        .as(markdown + ": the ```yaml block is in the section '" + heading + "'")
        .isTrue();
    return m.group(1) + "\n";
  }

  @Test
  void theLoopbackRehearsalConfigInDeploymentMdIsAccepted() throws IOException {
    String east = yamlBlockAfter(DEPLOYMENT, "## A loopback rehearsal");
    // The cluster secret the page tells the reader to generate next to the configs.
    Files.writeString(
        dir.resolve("cluster.secret"), "dk1luKB+EGSoSJ0Cr9+p+ff5xVjaAG1WK4ghz5NdG5I=\n");

    Path eastFile = dir.resolve("east-1.yaml");
    Files.writeString(eastFile, east);
    SidecarConfig e = ConfigLoader.load(eastFile);
    assertThat(e.nodeId()).isEqualTo("east-1");
    assertThat(e.members()).hasSize(3);
    assertThat(e.bootstrap()).as("the rehearsal's first start").isTrue();
    assertThat(e.plan().stages()).extracting(s -> s.name()).containsExactly("announce");

    // "west-1.yaml and tie-1.yaml differ in node, dataDir and http.listen"
    for (String[] other :
        new String[][] {{"west-1", "127.0.0.1:8412"}, {"tie-1", "127.0.0.1:8413"}}) {
      String yaml =
          east.replace("node: east-1", "node: " + other[0])
              .replace("/data/east-1", "/data/" + other[0])
              .replace("listen: 127.0.0.1:8411", "listen: " + other[1]);
      assertThat(yaml).contains("node: " + other[0]).contains("listen: " + other[1]);
      Path f = dir.resolve(other[0] + ".yaml");
      Files.writeString(f, yaml);
      assertThat(ConfigLoader.load(f).nodeId()).isEqualTo(other[0]);
    }
  }
}
