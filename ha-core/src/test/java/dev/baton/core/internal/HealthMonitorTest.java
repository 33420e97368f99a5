package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.baton.core.HealthCheck;
import dev.baton.core.HealthChecks;
import dev.baton.core.HealthPolicy;
import dev.baton.core.HealthResult;
import dev.baton.core.Ticker;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The health monitor with the built-in checks against real servers and real commands: a check goes
 * down only after {@code failuresToDemote} failures in a row and comes back only after {@code
 * successesToRecover} successes; a check that throws or overruns its timeout is a failure; only a
 * demoting check asks an active to hand over.
 */
class HealthMonitorTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final HealthPolicy POLICY = new HealthPolicy(3, 2, Duration.ZERO);

  /** Short enough for a quick test, long enough that a loaded machine does not fail a probe. */
  private static HealthCheck.Settings quick(String name) {
    return HealthCheck.Settings.of(name, Duration.ofMillis(300), Duration.ofMillis(290));
  }

  @Test
  void anHttpCheckGoesDownWhenTheEndpointFailsAndUpWhenItAnswersAgain() throws Exception {
    AtomicInteger status = new AtomicInteger(200);
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/healthz",
        ex -> {
          byte[] body = (status.get() == 200 ? "ok" : "database gone").getBytes();
          ex.sendResponseHeaders(status.get(), body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
    // This JVM's first HTTP request loads the whole client (hundreds of ms on a loaded machine):
    // the monitor's start warms the check with one request before its first counted probe
    // (HealthCheckWarmUpTest), so the probes below measure the server, not the class loader.
    List<HealthMonitor.Health> changes = new CopyOnWriteArrayList<>();
    try (HealthMonitor m =
        new HealthMonitor(
            "n1",
            List.of(
                HealthChecks.http(
                    quick("plane"),
                    URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/healthz"))),
            POLICY,
            Ticker.system(),
            changes::add)) {
      m.start();
      await().atMost(WAIT).until(() -> m.health().checks().get(0).consecutiveSuccesses() >= 3);
      assertThat(m.health().eligible()).isTrue();
      assertThat(changes).isEmpty();

      status.set(503);
      await().atMost(WAIT).until(() -> !m.health().eligible());
      HealthMonitor.Health down = m.health();
      assertThat(down.handOver()).isTrue();
      assertThat(down.checks().get(0).consecutiveFailures()).isGreaterThanOrEqualTo(3);
      assertThat(down.downReasons()).contains("plane").contains("503").contains("database gone");

      status.set(200);
      await().atMost(WAIT).until(() -> m.health().eligible());
      assertThat(m.health().checks().get(0).consecutiveSuccesses()).isGreaterThanOrEqualTo(2);
      // One change down, one change up: the listener heard each once.
      assertThat(changes).extracting(HealthMonitor.Health::eligible).containsExactly(false, true);
    } finally {
      server.stop(0);
    }
  }

  @Test
  void aStoppedServerAndAStalledOneAreBothFailures() throws Exception {
    // A stalled server: accepts connections and never answers.
    HttpServer stalled = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    stalled.createContext(
        "/",
        ex -> {
          try {
            Thread.sleep(60_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    stalled.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    stalled.start();
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (HealthMonitor m =
        new HealthMonitor(
            "n1",
            List.of(
                HealthChecks.http(
                    quick("stalled"),
                    URI.create("http://127.0.0.1:" + stalled.getAddress().getPort() + "/")),
                HealthChecks.tcp(quick("closed"), "127.0.0.1", closedPort)),
            POLICY,
            Ticker.system(),
            h -> {})) {
      m.start();
      await().atMost(WAIT).until(() -> m.health().checks().stream().noneMatch(c -> c.up()));
      assertThat(m.health().downReasons())
          .contains("stalled: ")
          .containsPattern("(no answer within 290 ms|HttpTimeoutException)")
          .contains("closed: connect to 127.0.0.1:" + closedPort);
    } finally {
      stalled.stop(0);
    }
  }

  @Test
  void aTcpCheckIsHealthyWhileThePortAccepts() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        HealthMonitor m =
            new HealthMonitor(
                "n1",
                List.of(HealthChecks.tcp(quick("port"), "127.0.0.1", s.getLocalPort())),
                POLICY,
                Ticker.system(),
                h -> {})) {
      m.start();
      await().atMost(WAIT).until(() -> m.health().checks().get(0).consecutiveSuccesses() >= 3);
      assertThat(m.health().eligible()).isTrue();
    }
  }

  @Test
  void anExecCheckFollowsTheExitStatusAndIsKilledWhenItOverruns(@TempDir Path dir)
      throws Exception {
    Path flag = dir.resolve("healthy");
    Files.writeString(flag, "");
    Path pidFile = dir.resolve("sleeper.pid");
    HealthCheck byFile =
        HealthChecks.exec(quick("file"), List.of("test", "-e", flag.toString()), null, List.of());
    HealthCheck slow =
        HealthChecks.exec(
            HealthCheck.Settings.of("slow", Duration.ofMillis(300), Duration.ofMillis(200))
                .eligibilityOnly(),
            // Each probe appends its pid: the monitor keeps probing while the test reads the file,
            // and a probe that had just truncated it (">") left it empty (seen in CI).
            List.of("sh", "-c", "echo $$ >> " + pidFile + "; exec sleep 30"),
            null,
            List.of());
    try (HealthMonitor m =
        new HealthMonitor("n1", List.of(byFile, slow), POLICY, Ticker.system(), h -> {})) {
      m.start();
      await()
          .atMost(WAIT)
          .until(() -> !m.health().checks().get(1).up() && m.health().checks().get(0).up());
      HealthMonitor.Health h = m.health();
      // Only a demoting check asks the active to hand over; the slow one gates eligibility.
      assertThat(h.eligible()).isFalse();
      assertThat(h.handOver()).isFalse();
      // The command's own deadline or the monitor's, whichever fires first.
      assertThat(h.checks().get(1).lastReason())
          .containsPattern("(did not exit|no answer) within 200 ms");
      // Every overrunning command was killed, not left behind.
      await().atMost(WAIT).until(() -> !probePids(pidFile).isEmpty());
      for (long pid : probePids(pidFile)) {
        await().atMost(WAIT).until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
      }

      Files.delete(flag);
      await().atMost(WAIT).until(() -> m.health().handOver());
      assertThat(m.health().checks().get(0).lastReason()).contains("test exited with status 1");
    }
  }

  @Test
  void aCheckThatThrowsIsAFailureAndFewerFailuresThanThePolicyChangeNothing() {
    AtomicBoolean throwing = new AtomicBoolean(false);
    AtomicInteger failuresLeft = new AtomicInteger(0);
    HealthCheck custom =
        new HealthCheck() {
          @Override
          public Settings settings() {
            return quick("custom");
          }

          @Override
          public HealthResult check() {
            if (throwing.get()) {
              throw new IllegalStateException("pool exhausted");
            }
            return failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0
                ? HealthResult.unhealthy("one bad answer")
                : HealthResult.ok();
          }
        };
    try (HealthMonitor m =
        new HealthMonitor("n1", List.of(custom), POLICY, Ticker.system(), h -> {})) {
      m.start();
      // Two failures in a row, fewer than failuresToDemote (3): the check stays up.
      failuresLeft.set(2);
      await().atMost(WAIT).until(() -> failuresLeft.get() == 0);
      await().atMost(WAIT).until(() -> m.health().checks().get(0).consecutiveSuccesses() >= 2);
      assertThat(m.health().eligible()).isTrue();

      throwing.set(true);
      await().atMost(WAIT).until(() -> !m.health().eligible());
      assertThat(m.health().downReasons()).contains("pool exhausted");
    }
  }

  /**
   * A down check that answers well once (fewer times than successesToRecover) is still down, and
   * still names why it went down. Before, its reason became the good answer's, so the hand-over
   * line read "unhealthy (jepsen-marker: )" in the Jepsen-style suite's flapping phase.
   */
  @Test
  void aDownCheckKeepsTheReasonItWentDownForUntilItIsUpAgain() {
    AtomicBoolean failing = new AtomicBoolean(true);
    AtomicInteger goodAnswers = new AtomicInteger();
    HealthCheck custom =
        new HealthCheck() {
          @Override
          public Settings settings() {
            return quick("custom");
          }

          @Override
          public HealthResult check() {
            if (failing.get()) {
              return HealthResult.unhealthy("database gone");
            }
            goodAnswers.incrementAndGet();
            failing.set(true); // one good answer, then failing again
            return HealthResult.ok();
          }
        };
    try (HealthMonitor m =
        new HealthMonitor("n1", List.of(custom), POLICY, Ticker.system(), h -> {})) {
      m.start();
      await().atMost(WAIT).until(() -> !m.health().eligible());
      failing.set(false);
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(5))
          .until(() -> m.health().checks().get(0).consecutiveSuccesses() == 1);
      assertThat(m.health().eligible()).isFalse();
      assertThat(m.health().downReasons()).isEqualTo("custom: database gone");
      assertThat(goodAnswers.get()).isEqualTo(1);
    }
  }

  @Test
  void badSettingsAreRefusedNamingTheCheck() {
    assertThatThrownBy(
            () -> HealthCheck.Settings.of("db", Duration.ofMillis(100), Duration.ofMillis(500)))
        .hasMessageContaining("'db'")
        .hasMessageContaining("longer than its interval");
    assertThatThrownBy(
            () -> HealthCheck.Settings.of("", Duration.ofSeconds(1), Duration.ofSeconds(1)))
        .hasMessageContaining("name ''");
    assertThatThrownBy(
            () ->
                HealthChecks.http(
                    HealthCheck.Settings.of("plane", Duration.ofSeconds(1), Duration.ofSeconds(1)),
                    URI.create("ftp://x/")))
        .hasMessageContaining("'plane'")
        .hasMessageContaining("ftp://x/");
    HealthCheck a =
        HealthChecks.tcp(
            HealthCheck.Settings.of("same", Duration.ofSeconds(1), Duration.ofSeconds(1)),
            "127.0.0.1",
            1);
    assertThatThrownBy(
            () -> new HealthMonitor("n1", List.of(a, a), POLICY, Ticker.system(), h -> {}))
        .hasMessageContaining("'same' appears twice");
  }

  /** The pids the slow check's probes wrote, one complete line each. */
  private static List<Long> probePids(Path file) throws java.io.IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    String text = Files.readString(file);
    int end = text.lastIndexOf('\n');
    if (end < 0) {
      return List.of();
    }
    return text.substring(0, end).lines().map(String::strip).map(Long::parseLong).toList();
  }
}
