package dev.baton.testing.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child JVM runs on this JVM's java and class path, logs to its file, and dies whole on close.
 */
class ChildJvmTest {
  @TempDir Path dir;

  /** The child: starts a {@code sleep} (a grandchild), names its pid, then waits. */
  public static final class Spawner {
    public static void main(String[] args) throws Exception {
      System.out.println("ARG " + args[0]);
      Process sleep = new ProcessBuilder("sleep", "600").start();
      System.out.println("GRANDCHILD " + sleep.pid());
      System.out.flush();
      Thread.sleep(600_000);
    }
  }

  @Test
  void closeKillsTheChildAndWhatItStarted() throws Exception {
    Path log = dir.resolve("child.log");
    long grandchild;
    ChildJvm child = ChildJvm.of(Spawner.class.getName(), "hello").log(log).start();
    try {
      await("the child names its grandchild")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> child.output().contains("GRANDCHILD ") || !child.isAlive());
      assertThat(child.output()).as("output of %s", child).contains("ARG hello");
      Matcher m = Pattern.compile("GRANDCHILD (\\d+)").matcher(child.output());
      assertThat(m.find()).as(child.output()).isTrue();
      grandchild = Long.parseLong(m.group(1));
      assertThat(running(grandchild)).isTrue();
    } finally {
      child.close();
    }

    assertThat(child.isAlive()).isFalse();
    await("the grandchild " + grandchild + " is gone")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> !running(grandchild));
  }

  @Test
  void theChildRunsOnThisJvmsJavaAndReportsItsExitStatus() throws Exception {
    Path log = dir.resolve("version.log");
    try (ChildJvm child =
        ChildJvm.of(Spawner.class.getName()).jvmOptions("-Xmx64m").log(log).start()) {
      // No argument: the child's main fails, as a program with bad arguments would.
      assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).isEqualTo(1);
      assertThat(child.output()).contains("ArrayIndexOutOfBoundsException");
    }
    assertThat(ChildJvm.of("Main").command()).contains(ChildJvm.javaLauncher(), "-cp", "Main");
    assertThat(ChildJvm.javaLauncher()).startsWith(System.getProperty("java.home"));
  }

  /** Running: /proc has it and it is not a zombie (state Z: dead, not yet reaped). */
  private static boolean running(long pid) throws IOException {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    try {
      String s = Files.readString(stat);
      return s.charAt(s.lastIndexOf(')') + 2) != 'Z';
    } catch (java.nio.file.NoSuchFileException gone) {
      return false;
    }
  }
}
