package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthChecks;
import dev.baton.core.HealthPolicy;
import dev.baton.core.Ticker;
import dev.baton.core.internal.HealthMonitor;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The http check is warmed once before its first counted probe (issue 31). A sidecar's JVM pays for
 * its first HTTP request once (the client's classes, its selector thread, the connection: 200-300
 * ms measured on a loaded 2-core machine, 3-30 ms for the next requests), which a short timeout
 * counted as a failure, and with {@code failuresToDemote: 1} as a node going down at start. This
 * test JVM has loaded the client long ago, so the one-time cost is made by the server here: its
 * first answer takes longer than the check's timeout, the later ones are quick. The warm-up takes
 * that first answer; every counted probe succeeds.
 *
 * <p>Here rather than in ha-core's tests only because those are being reworked at the same time; it
 * uses ha-core's public classes alone.
 */
class HealthCheckWarmUpTest {

  @Test
  void theFirstRequestsOneTimeCostIsPaidByTheWarmUpNotCountedAsAFailure() throws Exception {
    // The one-time cost: the first answer takes longer than the check's 250 ms timeout.
    Plane plane = new Plane(Duration.ofMillis(500));
    HealthCheck check =
        HealthChecks.http(
            HealthCheck.Settings.of("plane", Duration.ofMillis(300), Duration.ofMillis(250)),
            plane.url());
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
      assertThat(plane.requests.get()).isGreaterThanOrEqualTo(4);
    } finally {
      plane.close();
    }
  }
}
