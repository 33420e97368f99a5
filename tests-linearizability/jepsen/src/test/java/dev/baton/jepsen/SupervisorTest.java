package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.jepsen.node.NodeApp;
import dev.baton.jepsen.node.SelfStoppingApp;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness's supervisor against real child processes (no Docker): a node app whose node stops by
 * itself exits with status 3 (the same wiring as {@link NodeApp}, in a real JVM), and the
 * supervisor records the self-stop with why and starts it again after its delay; other exits (a
 * refusal to start, a SIGKILL) are left alone, and so is a node the nemesis holds until it lets go.
 * On the old code the node app did not exit at all (the first test times out waiting for start 3).
 */
class SupervisorTest {
  private static final Duration DELAY = Duration.ofMillis(300);

  @TempDir Path dir;

  private final List<ProcessChild> children = new ArrayList<>();
  private final List<Nemesis.Event> recorded = Collections.synchronizedList(new ArrayList<>());

  @AfterEach
  void stopChildren() {
    for (ProcessChild c : children) {
      c.process.destroyForcibly();
    }
  }

  @Test
  void aNodeAppWhoseNodeStopsItselfExitsWith3AndIsRestartedAndRecorded() throws Exception {
    ProcessChild n1 =
        child(
            "n1",
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                SelfStoppingApp.class.getName(),
                dir.toString(),
                "2"));
    try (Supervisor s = supervisor(n1)) {
      await("n1 running after two self-stops and two restarts")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> Files.exists(dir.resolve("running")) && n1.process.isAlive());
      assertThat(n1.exits).as(n1.output()).containsExactly(3, 3);
      assertThat(s.selfStops())
          .extracting(Supervisor.SelfStop::reason)
          .containsExactly(
              "its Raft server stopped (start 1)", "its Raft server stopped (start 2)");
    }
    List<Nemesis.Event> events = List.copyOf(recorded);
    assertThat(events)
        .extracting(Nemesis.Event::phase)
        .containsExactly(
            Supervisor.SELF_STOP, Supervisor.RESTARTED, Supervisor.SELF_STOP, Supervisor.RESTARTED);
    assertThat(events).allMatch(e -> e.source().equals("supervisor"));
    assertThat(events.get(0).detail())
        .isEqualTo(
            "n1 exited by itself with status 3 (its node stopped itself): its Raft server stopped"
                + " (start 1)");
    for (int i = 0; i < 4; i += 2) {
      assertThat(events.get(i + 1).time() - events.get(i).time())
          .as("restarted no sooner than the delay after the self-stop was seen")
          .isGreaterThanOrEqualTo(DELAY.toNanos());
    }
    // The app went down through System.exit (its shutdown hook ran), and said why in its events.
    String log = Files.readString(dir.resolve("events.jsonl"));
    assertThat(log.split("\"e\":\"stopped-itself\"", -1)).hasSize(3);
    assertThat(log.split("\"e\":\"stopped\"", -1)).as(log).hasSize(3);
    assertThat(Checks.selfStops(events).summary())
        .startsWith("2 self-stop(s), 2 restarted by the supervisor: n1 exited by itself");
    assertThat(Checks.selfStops(events).validity()).isEqualTo(Checks.Validity.VALID);
  }

  @Test
  void otherExitsAreNotRestarted() throws Exception {
    ProcessChild refused = child("n2", List.of("sh", "-c", "exit 1"));
    ProcessChild killed = child("n3", List.of("sh", "-c", "kill -9 $$"));
    try (Supervisor s = supervisor(refused, killed)) {
      await("both exited")
          .atMost(Duration.ofSeconds(10))
          .until(() -> !refused.process.isAlive() && !killed.process.isAlive());
      await("nothing restarted for 5 delays")
          .during(DELAY.multipliedBy(5))
          .atMost(DELAY.multipliedBy(10))
          .until(() -> refused.starts == 1 && killed.starts == 1 && recorded.isEmpty());
      assertThat(refused.process.exitValue()).isEqualTo(1);
      assertThat(killed.process.exitValue()).isEqualTo(137);
      assertThat(Checks.selfStops(List.of()).summary()).isEqualTo("no node stopped itself");
    }
  }

  @Test
  void aHeldNodeIsRecordedButLeftToTheNemesisUntilReleased() throws Exception {
    ProcessChild n1 =
        child("n1", List.of("sh", "-c", "echo removed, not in conf > stop-reason; exit 3"));
    n1.held = true;
    try (Supervisor s = supervisor(n1)) {
      await("the self-stop recorded")
          .atMost(Duration.ofSeconds(10))
          .until(() -> recorded.size() == 1);
      assertThat(recorded.get(0).detail()).endsWith(": removed, not in conf");
      await("not restarted while held")
          .during(DELAY.multipliedBy(5))
          .atMost(DELAY.multipliedBy(10))
          .until(() -> n1.starts == 1);
      n1.held = false;
      await("restarted once released").atMost(Duration.ofSeconds(10)).until(() -> n1.starts >= 2);
      assertThat(recorded.get(1).phase()).isEqualTo(Supervisor.RESTARTED);
    }
  }

  private Supervisor supervisor(ProcessChild... cs) {
    return new Supervisor(
            List.of(cs),
            DELAY,
            Duration.ofMillis(50),
            (phase, detail) ->
                recorded.add(new Nemesis.Event(System.nanoTime(), null, phase, detail)))
        .start();
  }

  private ProcessChild child(String id, List<String> cmd) throws IOException {
    ProcessChild c = new ProcessChild(id, cmd, dir);
    c.start();
    children.add(c);
    return c;
  }

  /** A node app as a plain child process; "held" stands for the nemesis's hold. */
  private static final class ProcessChild implements Supervisor.Child {
    private final String id;
    private final List<String> cmd;
    private final Path dir;
    final List<Integer> exits = Collections.synchronizedList(new ArrayList<>());
    volatile Process process;
    volatile int starts;
    volatile boolean held;

    ProcessChild(String id, List<String> cmd, Path dir) {
      this.id = id;
      this.cmd = cmd;
      this.dir = dir;
    }

    synchronized void start() throws IOException {
      process =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(Redirect.appendTo(dir.resolve(id + ".log").toFile()))
              .start();
      starts++;
    }

    String output() throws IOException {
      return Files.readString(dir.resolve(id + ".log"));
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public Supervisor.Exit exit() {
      Process p = process;
      if (p.isAlive()) {
        return null;
      }
      return new Supervisor.Exit(p.exitValue(), Long.toString(p.pid()));
    }

    @Override
    public String stopReason() {
      Path f = dir.resolve(NodeApp.STOP_REASON_FILE);
      try {
        return Files.exists(f) ? Files.readString(f).trim() : "";
      } catch (IOException e) {
        return e.toString();
      }
    }

    @Override
    public synchronized boolean restartUnlessHeld() {
      if (held) {
        return false;
      }
      exits.add(process.exitValue());
      try {
        start();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return true;
    }
  }
}
