package dev.baton.core.internal;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.HealthResult;
import dev.baton.core.Ticker;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a node's {@link HealthCheck}s and turns their answers into the node's health under a {@link
 * HealthPolicy}: a check goes down after {@code failuresToDemote} unhealthy answers in a row and
 * comes up again after {@code successesToRecover} healthy ones. Every check starts up: a node that
 * has not been probed yet is not held back (with every node sick at once, the cluster must still
 * have an active; see docs/lease.md on health gating).
 *
 * <p>The node is eligible while every check is up; it should hand over an active role while any
 * demoting check is down. Each change of either, and each check's change, is logged once and given
 * to the listener (on the monitor's own thread).
 */
public final class HealthMonitor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HealthMonitor.class);

  /** One check's state, as status shows it. */
  public record CheckState(
      String name,
      boolean demotes,
      boolean up,
      boolean probed,
      boolean lastHealthy,
      String lastReason,
      long lastProbeNanos,
      int consecutiveFailures,
      int consecutiveSuccesses) {}

  /**
   * The node's health.
   *
   * @param eligible every check is up: the node may become active
   * @param handOver a demoting check is down: an active should hand the role over
   * @param checks each check's state, in the order given
   */
  public record Health(boolean eligible, boolean handOver, List<CheckState> checks) {
    /** The names of the checks that are down, with their last reason, for messages. */
    public String downReasons() {
      List<String> down = new ArrayList<>();
      for (CheckState c : checks) {
        if (!c.up()) {
          down.add(c.name() + ": " + c.lastReason());
        }
      }
      return String.join("; ", down);
    }
  }

  private final String nodeId;
  private final List<HealthCheck> checks;
  private final HealthPolicy policy;
  private final Ticker ticker;
  private final Consumer<Health> listener;
  private final Map<String, CheckState> states = new LinkedHashMap<>();
  private final Set<String> running = new HashSet<>();
  private final ScheduledExecutorService scheduler;
  private final ExecutorService probes;
  private Health last;

  public HealthMonitor(
      String nodeId,
      List<HealthCheck> checks,
      HealthPolicy policy,
      Ticker ticker,
      Consumer<Health> listener) {
    this.nodeId = nodeId;
    this.checks = List.copyOf(checks);
    this.policy = policy;
    this.ticker = ticker;
    this.listener = listener;
    Set<String> names = new HashSet<>();
    for (HealthCheck c : this.checks) {
      String name = c.settings().name();
      if (!names.add(name)) {
        throw new IllegalArgumentException("health check name '" + name + "' appears twice");
      }
      states.put(
          name, new CheckState(name, c.settings().demotes(), true, false, true, "", 0, 0, 0));
    }
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-health-" + nodeId);
              t.setDaemon(true);
              return t;
            });
    this.probes =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "baton-health-probe-" + nodeId);
              t.setDaemon(true);
              return t;
            });
    this.last = snapshot();
  }

  /**
   * Starts probing: each check once its {@link HealthCheck#warmUp() warm-up} has returned (or after
   * {@link HealthCheck#WARM_UP_LIMIT}), then every interval. A check that starts up stays up until
   * its probes say otherwise, so the warm-up holds nothing back.
   */
  public void start() {
    for (HealthCheck c : checks) {
      long every = c.settings().interval().toNanos();
      probes.execute(
          () -> {
            warmUp(c);
            try {
              scheduler.scheduleAtFixedRate(() -> launch(c), 0, every, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
              // closed while warming up
            }
          });
    }
  }

  private void warmUp(HealthCheck c) {
    Future<?> f;
    try {
      f =
          probes.submit(
              () -> {
                c.warmUp();
                return null;
              });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return; // closed
    }
    try {
      f.get(HealthCheck.WARM_UP_LIMIT.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      LOG.info(
          "{}: health check '{}': warm-up still running after {} s; probing anyway",
          nodeId,
          c.settings().name(),
          HealthCheck.WARM_UP_LIMIT.toSeconds());
    } catch (ExecutionException e) {
      LOG.debug("{}: health check '{}': warm-up failed: {}", nodeId, c.settings().name(), e);
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
    }
  }

  /** The node's health now. */
  public synchronized Health health() {
    return snapshot();
  }

  private void launch(HealthCheck c) {
    String name = c.settings().name();
    synchronized (this) {
      // An overrunning probe is still being interrupted: do not pile another on top of it.
      if (!running.add(name)) {
        return;
      }
    }
    Future<HealthResult> f = probes.submit(c::check);
    // Wait for the answer on a probe thread, not on the scheduler, so one slow check cannot delay
    // the others.
    probes.execute(
        () -> {
          HealthResult r;
          try {
            r = f.get(c.settings().timeout().toNanos(), TimeUnit.NANOSECONDS);
            if (r == null) {
              r = HealthResult.unhealthy("the check returned no result");
            }
          } catch (TimeoutException e) {
            f.cancel(true);
            r =
                HealthResult.unhealthy(
                    "no answer within " + c.settings().timeout().toMillis() + " ms");
          } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            r = HealthResult.unhealthy("the check failed: " + cause);
          } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            return;
          } finally {
            synchronized (this) {
              running.remove(name);
            }
          }
          record(c, r);
        });
  }

  private void record(HealthCheck c, HealthResult r) {
    Health changed = null;
    synchronized (this) {
      String name = c.settings().name();
      CheckState s =
          Objects.requireNonNull(
              states.get(name), "the constructor puts a state for every check it runs");
      int failures = r.healthy() ? 0 : s.consecutiveFailures() + 1;
      int successes = r.healthy() ? s.consecutiveSuccesses() + 1 : 0;
      boolean up = s.up();
      if (up && failures >= policy.failuresToDemote()) {
        up = false;
        LOG.warn(
            "{}: health check '{}' is DOWN after {} failures in a row: {}",
            nodeId,
            name,
            failures,
            r.reason());
      } else if (!up && successes >= policy.successesToRecover()) {
        up = true;
        LOG.info("{}: health check '{}' is up again after {} successes", nodeId, name, successes);
      }
      // While the check is still down, a good answer does not replace the reason it went down
      // for: messages about a down check ("handing the role to …") name what is wrong.
      String reason = r.healthy() && !up ? s.lastReason() : r.reason();
      states.put(
          name,
          new CheckState(
              name,
              s.demotes(),
              up,
              true,
              r.healthy(),
              reason,
              ticker.read(),
              failures,
              successes));
      Health now = snapshot();
      if (now.eligible() != last.eligible() || now.handOver() != last.handOver()) {
        changed = now;
      }
      last = now;
    }
    if (changed != null) {
      LOG.info(
          "{}: health: {}{}",
          nodeId,
          changed.eligible() ? "eligible" : "NOT eligible",
          changed.handOver() ? ", an active must hand over (" + changed.downReasons() + ")" : "");
      try {
        listener.accept(changed);
      } catch (RuntimeException e) {
        LOG.warn("{}: health listener failed: {}", nodeId, e.toString());
      }
    }
  }

  private Health snapshot() {
    boolean eligible = true;
    boolean handOver = false;
    for (CheckState s : states.values()) {
      if (!s.up()) {
        eligible = false;
        handOver |= s.demotes();
      }
    }
    return new Health(eligible, handOver, List.copyOf(states.values()));
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    probes.shutdownNow();
  }
}
