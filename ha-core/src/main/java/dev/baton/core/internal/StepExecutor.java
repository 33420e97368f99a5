package dev.baton.core.internal;

import dev.baton.core.StepContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs the code of promotion and demotion steps on worker threads, each bounded by its timeout, and
 * keeps the watchdog: at the end of a lease, a step of that activation whose code is still running
 * (even one whose caller gave up on it) halts the process.
 */
final class StepExecutor {
  private static final Logger LOG = LoggerFactory.getLogger(StepExecutor.class);

  /** One step's code running on a worker thread. */
  private record Running(long token, String step, StepContext.Phase phase, boolean harmlessLate) {
    @Override
    public String toString() {
      return "'" + step + "' (" + phase.name().toLowerCase(Locale.ROOT) + ", token " + token + ")";
    }
  }

  private final String nodeId;
  private final MonotonicClock clock;
  private final ExecutorService workers;

  /**
   * The steps whose code is running now, by the worker thread that runs it: a step stays here until
   * its code returns, even after its caller timed it out or cancelled it (an action that ignores
   * interruption keeps running). The watchdog halts the process when one of them is still here at
   * the end of the lease.
   */
  private final Map<Thread, Running> inFlight = new ConcurrentHashMap<>();

  private final List<Thread> watchdogs = new CopyOnWriteArrayList<>();

  /** What the watchdog does at the end of a lease with a step still running. */
  private final Runnable halt = () -> Runtime.getRuntime().halt(70);

  StepExecutor(String nodeId, MonotonicClock clock) {
    this.nodeId = nodeId;
    this.clock = clock;
    this.workers =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "baton-action-" + nodeId);
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Runs {@code body} on a worker thread with the step in the MDC (and the token, unless 0),
   * bounded by {@code timeout}; unwraps the body's exception. A step with a token is watched until
   * its code returns; {@code harmlessLate} steps (demotions that only fence) never halt the node.
   */
  void call(
      Callable<Void> body,
      String step,
      long token,
      StepContext.Phase phase,
      boolean harmlessLate,
      Duration timeout)
      throws Exception {
    Future<Void> f =
        workers.submit(
            () -> {
              Thread self = Thread.currentThread();
              if (token != 0) {
                inFlight.put(self, new Running(token, step, phase, harmlessLate));
              }
              MDC.put("baton.node", nodeId);
              if (token != 0) {
                MDC.put("baton.token", Long.toString(token));
              }
              MDC.put("baton.step", step);
              try {
                return body.call();
              } finally {
                MDC.clear();
                inFlight.remove(self);
              }
            });
    try {
      f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new TimeoutException(
          "step '" + step + "' timed out after " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    } catch (CancellationException e) {
      throw new InterruptedException("step '" + step + "' was cancelled");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }

  /**
   * At {@code deadlineNanos}, halts the process if any step of the activation with {@code token}
   * (or an older one) is still running, except demotion steps that only fence. Steps that start
   * later are not a concern: a promotion step checks the lease on its worker thread before it runs,
   * and other demotion steps are skipped once the lease is over.
   */
  void startWatchdog(long token, long deadlineNanos) {
    Thread t =
        new Thread(
            () -> {
              try {
                watch(token, deadlineNanos);
              } finally {
                watchdogs.remove(Thread.currentThread());
              }
            },
            "baton-watchdog-" + nodeId + "-" + token);
    t.setDaemon(true);
    watchdogs.add(t);
    t.start();
  }

  private void watch(long token, long deadlineNanos) {
    long left;
    while ((left = deadlineNanos - clock.nanoTime()) > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(left);
      } catch (InterruptedException e) {
        return; // the runner is shutting down with the node
      }
    }
    List<Running> still = new ArrayList<>();
    for (Running run : inFlight.values()) {
      if (run.token() <= token && !run.harmlessLate()) {
        still.add(run);
      }
    }
    if (still.isEmpty()) {
      return;
    }
    LOG.error(
        "{}: WATCHDOG: the lease for token {} has ended and step {} is still running;"
            + " halting the process",
        nodeId,
        token,
        still);
    halt.run();
  }

  void shutdown() {
    for (Thread w : watchdogs) {
      w.interrupt();
    }
    watchdogs.clear();
    workers.shutdownNow();
  }
}
