package dev.baton.testing.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A Java program in a JVM of its own, started by a test (or a benchmark): the {@code java} of the
 * JVM that starts it ({@code java.home}), its class path (the caller's unless given), its output
 * appended to a log file, and a process group of its own, which {@link #close()} kills whole, so
 * that nothing the child started (a hook, a server) outlives the test.
 *
 * <p>The child is started through {@code /usr/bin/setsid} (util-linux), which makes it the leader
 * of a new session and process group and then execs: {@link #process()} is the JVM itself, its pid
 * the group's id. Without {@code setsid} the child stays in this JVM's group, and {@link #close()}
 * kills it and its descendants one by one instead (a descendant whose parent died first escapes). A
 * launch prefix (for example {@code ip netns exec NAME}, to run the child in a network namespace
 * the test made) goes between {@code setsid} and {@code java}, and must exec too.
 *
 * <pre>{@code
 * try (ChildJvm child = ChildJvm.of(Main.class.getName(), "--flag").log(log).start()) {
 *   ...
 * }
 * }</pre>
 */
public final class ChildJvm implements AutoCloseable {
  private static final Duration EXIT_WAIT = Duration.ofSeconds(30);
  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private final String mainClass;
  private final Process process;
  private final Path log;
  private final boolean ownGroup;

  private ChildJvm(String mainClass, Process process, Path log, boolean ownGroup) {
    this.mainClass = mainClass;
    this.process = process;
    this.log = log;
    this.ownGroup = ownGroup;
  }

  /** What to start: {@code mainClass} with {@code args}, on the caller's class path. */
  public static Builder of(String mainClass, String... args) {
    return new Builder(mainClass, List.of(args));
  }

  /** {@link #of(String, String...)} with the arguments as a list. */
  public static Builder of(String mainClass, List<String> args) {
    return new Builder(mainClass, args);
  }

  /** The path of the {@code java} launcher of this JVM ({@code java.home}). */
  public static String javaLauncher() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The options of a child to start. */
  public static final class Builder {
    private final String mainClass;
    private final List<String> args;
    private final List<String> jvmOptions = new ArrayList<>();
    private final List<String> launchPrefix = new ArrayList<>();
    private final Map<String, String> environment = new LinkedHashMap<>();
    private String classPath = System.getProperty("java.class.path");
    private Path log;
    private Path stdout;
    private boolean pipeStdout;

    private Builder(String mainClass, List<String> args) {
      this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
      this.args = List.copyOf(args);
    }

    /** Options before the main class ({@code -Xmx256m}, {@code -Dkey=value}, ...). */
    public Builder jvmOptions(String... options) {
      jvmOptions.addAll(List.of(options));
      return this;
    }

    /** The child's class path (default: this JVM's {@code java.class.path}). */
    public Builder classPath(String classPath) {
      this.classPath = Objects.requireNonNull(classPath, "classPath");
      return this;
    }

    /**
     * Words before {@code java} (after {@code setsid}), for example {@code ip netns exec NAME}; the
     * prefix must exec, so that the process started is the JVM.
     */
    public Builder launchPrefix(List<String> prefix) {
      launchPrefix.addAll(prefix);
      return this;
    }

    /** Variables added to the child's environment (beside this JVM's own). */
    public Builder environment(Map<String, String> variables) {
      environment.putAll(variables);
      return this;
    }

    /**
     * The file the child's standard output and error are appended to (created if missing). Without
     * one, both are discarded.
     */
    public Builder log(Path log) {
      this.log = Objects.requireNonNull(log, "log");
      return this;
    }

    /**
     * Writes the child's standard output to {@code file} (replacing what it held) instead of the
     * log, which keeps the standard error.
     */
    public Builder stdout(Path file) {
      this.stdout = Objects.requireNonNull(file, "stdout");
      return this;
    }

    /**
     * Keeps the child's standard output a pipe, for the caller to read from {@link
     * Process#getInputStream()} (its standard error still goes to the log).
     */
    public Builder pipeStdout() {
      this.pipeStdout = true;
      return this;
    }

    /** The command {@link #start()} runs. */
    public List<String> command() {
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(SETSID)) {
        cmd.add(SETSID.toString());
      }
      cmd.addAll(launchPrefix);
      cmd.add(javaLauncher());
      cmd.addAll(jvmOptions);
      cmd.add("-cp");
      cmd.add(classPath);
      cmd.add(mainClass);
      cmd.addAll(args);
      return cmd;
    }

    /** Starts the child. */
    public ChildJvm start() throws IOException {
      List<String> command = command();
      ProcessBuilder pb = new ProcessBuilder(command);
      ProcessBuilder.Redirect out =
          log == null
              ? ProcessBuilder.Redirect.DISCARD
              : ProcessBuilder.Redirect.appendTo(log.toFile());
      pb.redirectError(out);
      if (stdout != null) {
        pb.redirectOutput(stdout.toFile());
      } else if (!pipeStdout) {
        pb.redirectOutput(out);
      }
      pb.environment().putAll(environment);
      return new ChildJvm(mainClass, pb.start(), log, command.get(0).equals(SETSID.toString()));
    }
  }

  /** The child JVM's process (its pid is also its process group's id). */
  public Process process() {
    return process;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Waits up to {@code timeout} for the child to exit; true if it has. */
  public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
    return process.waitFor(timeout, unit);
  }

  /** The child's exit status (it must have exited). */
  public int exitValue() {
    return process.exitValue();
  }

  /** The log file, or null if the output is discarded. */
  public Path log() {
    return log;
  }

  /** What the child has written to its log so far ("" without a log file). */
  public String output() {
    if (log == null || !Files.exists(log)) {
      return "";
    }
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the log of " + this + ": " + log, e);
    }
  }

  /**
   * Kills the child's whole process group with SIGKILL (the JVM and everything it started that did
   * not leave the group) and waits for the JVM to exit. Does nothing if the JVM has exited and its
   * group is empty.
   */
  public void killGroup() {
    if (!ownGroup) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      awaitExit();
      return;
    }
    try {
      // "kill -KILL -- -PGID": every process of the group. Fails harmlessly (status 1) when the
      // group is gone.
      Process kill =
          new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!kill.waitFor(10, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
      }
    } catch (IOException e) {
      // kill(1) could not run: at least the JVM itself goes.
      process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      return;
    }
    process.destroyForcibly();
    awaitExit();
  }

  private void awaitExit() {
    try {
      if (!process.waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(this + " did not exit within " + EXIT_WAIT + " of SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@link #killGroup()}. */
  @Override
  public void close() {
    killGroup();
  }

  @Override
  public String toString() {
    return "child JVM " + mainClass + " (pid " + process.pid() + ")";
  }
}
