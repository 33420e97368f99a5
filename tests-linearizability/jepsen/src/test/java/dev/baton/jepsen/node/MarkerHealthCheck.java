package dev.baton.jepsen.node;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.HealthResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The health nemesis's lever: a {@link HealthCheck} that answers unhealthy while the file {@code
 * unhealthy} exists in the node's directory (bind-mounted from the host, the same way the harness
 * asks a node to hold a transaction with {@code hold-txn}). Each change of its answer is recorded
 * as a {@code health} event, so the timeline shows when the node itself saw the fault.
 *
 * <p>Timing: probed every 200 ms; with {@link #POLICY} two failures in a row (about 0.4 s) make the
 * node unhealthy, two successes healthy again, and health moves the role at most once per 5 s, so a
 * move fits in one fault of a short run while a flapping marker still meets the interval.
 */
public final class MarkerHealthCheck implements HealthCheck {
  public static final String MARKER = "unhealthy";

  /** The policy the suite's nodes run with when the health nemesis is configured. */
  public static final HealthPolicy POLICY = new HealthPolicy(2, 2, Duration.ofSeconds(5));

  /** How often the node probes the marker. */
  public static final Duration INTERVAL = Duration.ofMillis(200);

  private static final Settings SETTINGS =
      Settings.of("jepsen-marker", INTERVAL, Duration.ofMillis(150));

  /**
   * How long the health nemesis's flap keeps the marker in place: long enough for {@link #POLICY}'s
   * {@code failuresToDemote} probes in a row to see it, whatever the phase of the probes against
   * the toggle, with one interval to spare for a late probe on a loaded host.
   */
  public static Duration flapUnhealthyFor() {
    return INTERVAL.multipliedBy(POLICY.failuresToDemote() + 1L);
  }

  /**
   * How long the flap keeps the marker away: long enough for {@code successesToRecover} probes in a
   * row, so the check recovers before the marker comes back and then fails again.
   */
  public static Duration flapHealthyFor() {
    return INTERVAL.multipliedBy(POLICY.successesToRecover() + 1L);
  }

  private final Path marker;
  private final EventLog log;
  private volatile Boolean last;

  MarkerHealthCheck(Path dir, EventLog log) {
    this.marker = dir.resolve(MARKER);
    this.log = log;
  }

  @Override
  public Settings settings() {
    return SETTINGS;
  }

  @Override
  public HealthResult check() {
    boolean healthy = !Files.exists(marker);
    if (last == null || last != healthy) {
      last = healthy;
      log.write("health", "healthy", healthy);
    }
    return healthy ? HealthResult.ok() : HealthResult.unhealthy("marker " + marker + " present");
  }
}
