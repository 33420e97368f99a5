package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.NodeFaults;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Test hooks are not system properties: a property such as {@code baton.test.unsafe-no-lease} would
 * be one {@code JAVA_TOOL_OPTIONS} away in any production JVM, and it removed the lease. Time is
 * injected through {@link Ticker} instead; this test reads every compiled main class of ha-core and
 * fails if one still carries a {@code baton.test.} string.
 *
 * <p>Nor are they public methods of the API: a test reaches a fault it injects through test code
 * ({@link NodeFaults} in baton-testing), not through a {@code crashForTesting()} that every
 * embedder sees (issue 30).
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

  // Deprecated for removal in 0.3 (COMPATIBILITY.md: a removal is announced first); delete the
  // method and this entry in 0.4.
  private static final Set<String> ANNOUNCED_FOR_REMOVAL =
      Set.of("dev.baton.core.BatonNode.crashForTesting");
  private static final Pattern TEST_HOOK = Pattern.compile("(?i).*for_?tests?(ing)?");

  @Test
  void noPublicMethodOfTheApiIsATestHook() throws Exception {
    Path classes = Path.of("target", "classes");
    List<String> names;
    try (Stream<Path> files = Files.walk(classes)) {
      names =
          files
              .map(f -> classes.relativize(f).toString())
              .filter(f -> f.endsWith(".class") && !f.contains("/internal/"))
              .map(f -> f.substring(0, f.length() - ".class".length()).replace('/', '.'))
              .toList();
    }
    assertThat(names).contains("dev.baton.core.BatonNode");
    List<String> hooks = new ArrayList<>();
    for (String name : names) {
      Class<?> c = Class.forName(name, false, getClass().getClassLoader());
      for (Method m : c.getDeclaredMethods()) {
        if (Modifier.isPublic(m.getModifiers()) && TEST_HOOK.matcher(m.getName()).matches()) {
          String hook = c.getName() + "." + m.getName();
          Deprecated d = m.getAnnotation(Deprecated.class);
          if (!ANNOUNCED_FOR_REMOVAL.contains(hook) || d == null || !d.forRemoval()) {
            hooks.add(hook);
          }
        }
      }
    }
    assertThat(hooks).as("public test hooks on ha-core's API classes").isEmpty();
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
