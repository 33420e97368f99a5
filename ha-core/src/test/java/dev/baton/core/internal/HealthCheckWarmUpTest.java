package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.baton.core.HealthCheck;
import dev.baton.core.HealthChecks;
import dev.baton.core.HealthPolicy;
import dev.baton.core.Ticker;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The http check is warmed once before its first counted probe (issue 31). A sidecar's JVM pays for
 * its first HTTP request once (the client's classes, its selector thread, the connection: 200-300
 * ms measured on a loaded 2-core machine, 3-30 ms for the next requests), which a short timeout
 * counted as a failure, and with {@code failuresToDemote: 1} as a node going down at start. This
 * test JVM may have loaded the client already, so the one-time cost is made by the server here: its
 * first answer takes longer than the check's timeout, the later ones are quick. The warm-up takes
 * that first answer; every counted probe succeeds.
 */
class HealthCheckWarmUpTest {

  @Test
  void theFirstRequestsOneTimeCostIsPaidByTheWarmUpNotCountedAsAFailure() throws Exception {
    // The one-time cost: the first answer takes longer than the check's 250 ms timeout.
    AtomicInteger requests = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/healthz",
        ex -> {
          if (requests.getAndIncrement() == 0) {
            try {
              Thread.sleep(500);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          byte[] body = "ok".getBytes();
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
    HealthCheck check =
        HealthChecks.http(
            HealthCheck.Settings.of("plane", Duration.ofMillis(300), Duration.ofMillis(250)),
            URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/healthz"));
    List<HealthMonitor.Health> changes = new CopyOnWriteArrayList<>();
    try (HealthMonitor m =
        new HealthMonitor(
            "n1",
            List.of(check),
            new HealthPolicy(1, 1, Duration.ZERO),
            Ticker.system(),
            changes::add)) {
      m.start();
      await("three counted probes succeeded")
          .atMost(Duration.ofSeconds(20))
          .until(() -> m.health().checks().get(0).consecutiveSuccesses() >= 3);
      // With failuresToDemote 1, a first probe that had paid the cost would have taken the check
      // (and the node's eligibility) down once.
      assertThat(changes).as("health changes since start").isEmpty();
      assertThat(m.health().checks().get(0).probed()).isTrue();
      assertThat(requests.get()).isGreaterThanOrEqualTo(4);
    } finally {
      server.stop(0);
    }
  }
}
