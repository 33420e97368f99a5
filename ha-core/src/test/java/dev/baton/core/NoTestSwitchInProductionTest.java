package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Test hooks are not system properties: a property such as {@code baton.test.unsafe-no-lease} would
 * be one {@code JAVA_TOOL_OPTIONS} away in any production JVM, and it removed the lease. Time is
 * injected through {@link Ticker} instead; this test reads every compiled main class of ha-core and
 * fails if one still carries a {@code baton.test.} string.
 */
class NoTestSwitchInProductionTest {

  @Test
  void noMainClassReadsABatonTestProperty() throws IOException {
    Path classes = Path.of("target", "classes");
    assertThat(classes).isDirectory();
    byte[] needle = "baton.test.".getBytes(StandardCharsets.UTF_8);
    List<String> offenders;
    try (Stream<Path> files = Files.walk(classes)) {
      offenders =
          files
              .filter(f -> f.toString().endsWith(".class"))
              .filter(f -> contains(read(f), needle))
              .map(f -> classes.relativize(f).toString())
              .toList();
    }
    assertThat(offenders).as("main classes that mention a baton.test. property").isEmpty();
  }

  private static byte[] read(Path f) {
    try {
      return Files.readAllBytes(f);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
