package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The config tests' files: a node file beside the cluster secret it names, and its problems. */
final class ConfigFiles {
  private ConfigFiles() {}

  /** Writes {@code yaml} as {@code dir/node.yaml}, and the {@code cluster.secret} it names. */
  static Path write(Path dir, String yaml) throws IOException {
    Path p = dir.resolve("node.yaml");
    Files.writeString(p, yaml);
    Files.writeString(
        dir.resolve("cluster.secret"), "dk1luKB+EGSoSJ0Cr9+p+ff5xVjaAG1WK4ghz5NdG5I=\n");
    return p;
  }

  /** The problems loading {@code file} reports; each must name the file. Fails if it loads. */
  static List<String> problems(Path file) throws IOException {
    try {
      ConfigLoader.load(file);
    } catch (ConfigException e) {
      for (String problem : e.problems()) {
        assertThat(problem).as("every problem names the file").startsWith(file.toString());
      }
      return e.problems();
    }
    throw new AssertionError("no ConfigException for\n" + Files.readString(file));
  }
}
