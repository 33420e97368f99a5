package dev.baton.core;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * Runs an external command the way Baton runs every hook ({@link ExecAction}'s commands, a
 * PostgreSQL step's stop command): in a process group of its own under a small supervisor, with an
 * environment that carries nothing of this process's but {@link ChildEnvironment#INHERITED} and the
 * names passed on, its output logged line by line. When it does not finish in time, or the calling
 * thread is interrupted (the node gave the role up), the whole group and every descendant are
 * killed, not just the command: a script's children do not outlive it.
 *
 * <p>The supervisor ({@link #SUPERVISOR}, started with {@code setsid}) holds a pipe from this JVM
 * and kills the group when the pipe closes, which the kernel does when the JVM dies, even by
 * SIGKILL. What remains: a descendant that leaves the group itself ({@code setsid}, a daemon that
 * double-forks into a new session) is not killed, and neither is anything the command left running
 * after it exited normally. Without {@code /usr/bin/setsid} there is no supervisor, and a timeout
 * kills the command and its descendants one by one.
 */
public final class HookProcess {
  /**
   * The supervisor every hook runs under. It keeps its standard input, a pipe whose only writer is
   * this JVM, in a watcher; the command gets {@code /dev/null}. When the pipe reaches end of file
   * the watcher kills the whole group. When the command exits first, the supervisor stops the
   * watcher and exits with the command's status.
   */
  static final String SUPERVISOR =
      "exec 3<&0 0</dev/null\n"
          + "( while read -r line <&3; do :; done; kill -KILL 0 ) &\n"
          + "watcher=$!\n"
          + "exec 3<&-\n"
          + "\"$@\"\n"
          + "status=$?\n"
          + "kill $watcher 2>/dev/null\n"
          + "exit $status\n";

  private static final Path SETSID = Path.of("/usr/bin/setsid");

  private HookProcess() {}

  /**
   * Runs {@code command} (through {@code /bin/sh -c} with its words joined when {@code shell}) and
   * returns its exit status.
   *
   * @param name names the command in log lines, thread names and errors
   * @param env variables to set, besides the inherited ones and {@code passEnv}
   * @param passEnv variables of this process to pass on, by name
   * @param workingDirectory where it runs; null for this process's own
   * @param timeout how long it may run; zero or negative: it is killed as soon as it started
   * @throws TimeoutException after killing it and its descendants, when it ran out of time
   * @throws InterruptedException after killing it and its descendants
   * @throws IOException when it cannot be started, with {@code name} and the command in the message
   */
  public static int run(
      String name,
      List<String> command,
      boolean shell,
      Map<String, String> env,
      Set<String> passEnv,
      @Nullable Path workingDirectory,
      Duration timeout,
      Logger log)
      throws IOException, InterruptedException, TimeoutException {
    ProcessBuilder pb = new ProcessBuilder(wrap(command, shell));
    if (workingDirectory != null) {
      pb.directory(workingDirectory.toFile());
    }
    ChildEnvironment.restrict(pb, passEnv).putAll(env);
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IOException("'" + name + "': cannot start " + command + ": " + e.getMessage(), e);
    }
    Thread out = pump(name, process.getInputStream(), log, false);
    Thread err = pump(name, process.getErrorStream(), log, true);
    try {
      boolean exited =
          !timeout.isNegative()
              && !timeout.isZero()
              && process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!exited) {
        killTree(process);
        throw new TimeoutException(
            "'" + name + "' did not finish within " + timeout + "; killed it and its children");
      }
    } catch (InterruptedException e) {
      killTree(process);
      throw e;
    }
    out.join(1000);
    err.join(1000);
    closeQuietly(process);
    return process.exitValue();
  }

  private static List<String> wrap(List<String> command, boolean shell) {
    List<String> out = new ArrayList<>();
    // setsid puts the command in a process group of its own, so a timeout can kill the whole
    // group, grandchildren included, with one signal; the supervisor kills that group when this
    // JVM dies. Without setsid, neither: the hook is only killed by a timeout.
    if (Files.isExecutable(SETSID)) {
      out.add(SETSID.toString());
      out.add("/bin/sh");
      out.add("-c");
      out.add(SUPERVISOR);
      out.add("baton-hook");
    }
    if (shell) {
      out.add("/bin/sh");
      out.add("-c");
      out.add(String.join(" ", command));
    } else {
      out.addAll(command);
    }
    return List.copyOf(out);
  }

  /** Closes the supervisor's pipe once the command is done (its watcher has been stopped). */
  private static void closeQuietly(Process process) {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // the process has exited; nothing is waiting on the pipe
    }
  }

  /** Kills the process group the command leads and every descendant still attached. */
  static void killTree(Process process) {
    List<ProcessHandle> descendants = process.descendants().toList();
    try {
      new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start()
          .waitFor(2, TimeUnit.SECONDS);
    } catch (IOException e) {
      // fall back to killing handles one by one below
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    descendants.forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private static Thread pump(String name, InputStream in, Logger log, boolean stderr) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  if (stderr) {
                    log.warn("[{} stderr] {}", name, line);
                  } else {
                    log.info("[{}] {}", name, line);
                  }
                }
              } catch (IOException e) {
                // the process ended or was killed
              }
            },
            "baton-hook-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
