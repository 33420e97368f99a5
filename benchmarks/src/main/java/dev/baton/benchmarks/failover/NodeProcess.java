package dev.baton.benchmarks.failover;

import static org.awaitility.Awaitility.await;

import dev.baton.testing.process.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A {@link BenchNode} JVM ({@link ChildJvm}: its own process group), its events read from its
 * stdout, its output kept in a log file.
 */
final class NodeProcess implements AutoCloseable {
  final String id;
  final ChildJvm jvm;
  final Process process;
  final PrintWriter stdin;
  final List<String[]> events = new CopyOnWriteArrayList<>();

  /**
   * Starts {@code jvm}; keeps its stdout's EVENT lines and appends all its output to {@code log}.
   */
  NodeProcess(String id, ChildJvm.Builder jvm, Path log) throws IOException {
    this.id = id;
    this.jvm = jvm.log(log).pipeStdout().start();
    process = this.jvm.process();
    stdin =
        new PrintWriter(
            new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
    Writer logWriter =
        Files.newBufferedWriter(
            log, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                      new BufferedReader(
                          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                  Writer w = logWriter) {
                String line;
                while ((line = r.readLine()) != null) {
                  w.write(line);
                  w.write('\n');
                  w.flush();
                  if (line.startsWith("EVENT ")) {
                    events.add(line.substring(6).split(" "));
                  }
                }
              } catch (IOException ignored) {
                // the process died
              }
            },
            "events-" + id);
    reader.setDaemon(true);
    reader.start();
  }

  void send(String command) {
    stdin.println(command);
  }

  /** The token of this node's latest activation, if its latest role event is "active". */
  Optional<Long> lastActive() {
    if (!process.isAlive()) {
      return Optional.empty();
    }
    for (int i = events.size() - 1; i >= 0; i--) {
      String[] e = events.get(i);
      if (e[0].equals("active")) {
        return Optional.of(Long.parseLong(e[1]));
      }
      if (e[0].equals("standby")) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** Waits for an activation with a token above {@code token}; returns its nanoTime. */
  long awaitActiveAfter(long token, Duration timeout) {
    return await(id + " active with a token above " + token)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(2))
        .until(
            () -> {
              for (String[] e : events) {
                if (e[0].equals("active") && Long.parseLong(e[1]) > token) {
                  return Long.parseLong(e[2]);
                }
              }
              if (!process.isAlive()) {
                throw new IllegalStateException(id + " exited with " + process.exitValue());
              }
              return -1L;
            },
            t -> t > 0);
  }

  /** The {@code index}-th event of this kind, joined by spaces. */
  String awaitEvent(String kind, int index, Duration timeout) {
    return await(id + " reports " + kind)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(10))
        .until(
            () -> {
              if (!process.isAlive()) {
                throw new IllegalStateException(id + " exited with " + process.exitValue());
              }
              return events.stream()
                  .filter(e -> e[0].equals(kind))
                  .skip(index)
                  .findFirst()
                  .map(e -> String.join(" ", e))
                  .orElse(null);
            },
            e -> e != null);
  }

  /** An event of this kind stamped after {@code since}, or null if none came in time. */
  String awaitEventAfter(String kind, long since, Duration timeout) {
    try {
      return awaitEventStampedAfter(kind, since, timeout);
    } catch (ConditionTimeoutException e) {
      return null;
    }
  }

  private String awaitEventStampedAfter(String kind, long since, Duration timeout) {
    return await(id + " reports " + kind)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(10))
        .until(
            () ->
                events.stream()
                    .filter(e -> e[0].equals(kind) && Long.parseLong(e[1]) > since)
                    .findFirst()
                    .map(e -> String.join(" ", e))
                    .orElse(null),
            e -> e != null);
  }

  /** utime + stime of the process, in clock ticks (USER_HZ, 100 on Linux). */
  long cpuTicks() throws IOException {
    String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** SIGKILL to the node's JVM (a crash); waits until it is gone. */
  void kill() {
    process.destroyForcibly(); // SIGKILL
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Kills the node's whole process group (the JVM and anything it started). */
  @Override
  public void close() {
    jvm.close();
  }
}
