package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.JournalEntry;
import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.PromotionState;
import dev.baton.core.PromotionStatus;
import dev.baton.core.StaleTokenException;
import dev.baton.core.StandbyReason;
import dev.baton.core.StepContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the promotion plan when the node wins the role, and the demotion when it gives it up.
 *
 * <p>Promotion runs on the plan thread while the role controller keeps renewing the lease. Every
 * step is journaled (started, completed, failed) through Raft before the plan moves on, so a
 * successor sees how far its predecessor got (invariant I5). A step that throws {@link
 * StaleTokenException} is not retried: a fence already holds a newer token, so this node is not the
 * newest active and must stop.
 *
 * <p>Size: about 450 lines, 400 of them code. Running a step ({@link StepExecutor}), journaling it
 * ({@link Journal}), counting its outcome ({@link StepOutcomes}) and the pre-flight ({@link
 * StepPreflight}) are classes of their own; what stays is the plan thread, the promotion's pass
 * over the steps (retries, abandon, the fence steps) and the demotion's, which share that thread
 * and the status. The next cut, if it grows, is one class per pass ({@code runPlan}, {@code
 * demote}).
 */
public class PlanRunner {
  private static final Logger LOG = LoggerFactory.getLogger(PlanRunner.class);

  private final PromotionPlan plan;
  private final NodeConfig config;
  private final MonotonicClock clock;
  private final Journal journal;
  private final StepExecutor executor;
  private final StepOutcomes outcomes;
  private final ExecutorService orchestrator;
  // Null until the orchestrator's thread starts, and until the first promotion.
  private volatile @Nullable Thread orchestratorThread;
  private volatile @Nullable Future<?> running;
  private volatile PromotionStatus status = PromotionStatus.IDLE;

  public PlanRunner(
      PromotionPlan plan,
      NodeConfig config,
      RaftNode raft,
      MonotonicClock clock,
      NodeMetrics metrics) {
    this.plan = plan;
    this.config = config;
    this.clock = clock;
    this.journal = new Journal(config, raft, clock);
    this.executor = new StepExecutor(config.self().id(), clock);
    this.outcomes = new StepOutcomes(config, metrics);
    this.orchestrator =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "baton-plan-" + config.self().id());
              t.setDaemon(true);
              orchestratorThread = t;
              return t;
            });
  }

  /**
   * Runs every step's pre-flight check once, in the background, on the thread that runs the plan: a
   * promotion that starts meanwhile waits for it (each check is bounded by its step's timeout).
   * Failures are logged and counted, never thrown.
   */
  public void preflight() {
    if (plan.isEmpty()) {
      return;
    }
    orchestrator.submit(new StepPreflight(plan, executor, outcomes, nodeId())::run);
  }

  /** Runs the plan for {@code activation}; calls {@code done} with whether it completed. */
  public void promote(
      RoleController.Activation activation, ActiveContext active, Consumer<Boolean> done) {
    if (plan.isEmpty()) {
      done.accept(true);
      return;
    }
    status =
        new PromotionStatus(
            activation.token(), PromotionState.RUNNING, Optional.empty(), 0, Optional.empty());
    running = orchestrator.submit(() -> runPromotion(activation, active, done));
  }

  /**
   * Runs the plan and reports its outcome exactly once, on every way out: a promotion that stops
   * for any reason but completion (a journal write that failed, the role lost, an exception outside
   * the expected path) reports {@code false}, so that the role controller gives the role up and
   * another node can try, rather than staying PROMOTING while it renews its lease.
   */
  private void runPromotion(
      RoleController.Activation a, ActiveContext active, Consumer<Boolean> done) {
    AtomicBoolean reported = new AtomicBoolean();
    Consumer<Boolean> once =
        ok -> {
          if (reported.compareAndSet(false, true)) {
            done.accept(ok);
          }
        };
    try {
      runPlan(a, active, once);
    } catch (Throwable t) {
      String what = StepOutcomes.safeDescribe(t);
      status =
          new PromotionStatus(
              a.token(),
              PromotionState.FAILED,
              status.step(),
              status.attempt(),
              Optional.of("unexpected: " + what));
      try {
        LOG.error(
            "{}: promotion for token {} stopped unexpectedly; giving the role up",
            nodeId(),
            a.token(),
            t);
      } catch (RuntimeException e) {
        // the throwable cannot even be printed (its getMessage throws, say)
        LOG.error(
            "{}: promotion for token {} stopped unexpectedly ({}); giving the role up",
            nodeId(),
            a.token(),
            what);
      }
    } finally {
      if (!reported.get()) {
        if (status.state() != PromotionState.FAILED && status.state() != PromotionState.ABANDONED) {
          status =
              new PromotionStatus(
                  a.token(),
                  PromotionState.FAILED,
                  status.step(),
                  status.attempt(),
                  status.lastError());
        }
        LOG.warn(
            "{}: promotion for token {} did not complete ({}); giving the role up",
            nodeId(),
            a.token(),
            status.state());
        once.accept(false);
      }
    }
  }

  private void runPlan(RoleController.Activation a, ActiveContext active, Consumer<Boolean> done) {
    Optional<String> lastError = Optional.empty();
    for (PromotionPlan.Stage step : plan.stages()) {
      boolean ok = false;
      boolean stale = false;
      for (int attempt = 1; attempt <= step.policy().maxAttempts(); attempt++) {
        if (!active.isLeaseValid() || Thread.currentThread().isInterrupted()) {
          status =
              new PromotionStatus(
                  a.token(),
                  PromotionState.ABANDONED,
                  Optional.of(step.name()),
                  attempt,
                  lastError);
          LOG.info("{}: promotion for token {} abandoned: the role was lost", nodeId(), a.token());
          return;
        }
        status =
            new PromotionStatus(
                a.token(), PromotionState.RUNNING, Optional.of(step.name()), attempt, lastError);
        Journal.Entry entry =
            Journal.Entry.promote(a.token(), step.name(), attempt, JournalEntry.Outcome.STARTED);
        if (!journal.recordAndWait(entry)) {
          status =
              new PromotionStatus(
                  a.token(),
                  PromotionState.FAILED,
                  Optional.of(step.name()),
                  attempt,
                  Optional.of(step.name() + ": could not journal the step's start"));
          LOG.error(
              "{}: could not journal the start of step '{}' for token {}; giving the role up",
              nodeId(),
              step.name(),
              a.token());
          return;
        }
        long attemptStarted = clock.nanoTime();
        try {
          runStep(
              step,
              context(active, step, attempt, StepContext.Phase.PROMOTE, step.policy().timeout()),
              step.policy().timeout());
          ok = true;
          outcomes.count(step.name(), "completed");
          outcomes.time(step.name(), "promote", "completed", clock.nanoTime() - attemptStarted);
          LOG.info(
              "{}: step '{}' completed for token {} (attempt {})",
              nodeId(),
              step.name(),
              a.token(),
              attempt);
          journal.recordAndWait(
              Journal.Entry.promote(
                  a.token(), step.name(), attempt, JournalEntry.Outcome.COMPLETED));
          break;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          status =
              new PromotionStatus(
                  a.token(),
                  PromotionState.ABANDONED,
                  Optional.of(step.name()),
                  attempt,
                  lastError);
          return;
        } catch (Exception e) {
          String message = StepOutcomes.describe(e);
          lastError = Optional.of(step.name() + ": " + message);
          outcomes.count(step.name(), "failed");
          outcomes.time(step.name(), "promote", "failed", clock.nanoTime() - attemptStarted);
          LOG.warn(
              "{}: step '{}' failed for token {} (attempt {} of {}): {}",
              nodeId(),
              step.name(),
              a.token(),
              attempt,
              step.policy().maxAttempts(),
              message);
          journal.recordAndWait(entry.failedWith(message));
          status =
              new PromotionStatus(
                  a.token(), PromotionState.RUNNING, Optional.of(step.name()), attempt, lastError);
          if (StepOutcomes.rootCause(e) instanceof StaleTokenException) {
            stale = true;
            break;
          }
          if (attempt < step.policy().maxAttempts()
              && !pause(step.policy().backoff().delay(attempt).toMillis())) {
            return;
          }
        }
      }
      if (!ok) {
        if (step.policy().required() || stale) {
          status =
              new PromotionStatus(
                  a.token(),
                  PromotionState.FAILED,
                  Optional.of(step.name()),
                  step.policy().maxAttempts(),
                  lastError);
          LOG.error(
              "{}: required step '{}' failed for token {}; giving the role up: {}",
              nodeId(),
              step.name(),
              a.token(),
              lastError.orElse("?"));
          done.accept(false);
          return;
        }
        LOG.warn(
            "{}: best-effort step '{}' failed for token {}; the plan goes on",
            nodeId(),
            step.name(),
            a.token());
      }
    }
    status =
        new PromotionStatus(a.token(), PromotionState.COMPLETED, Optional.empty(), 0, lastError);
    done.accept(true);
  }

  /**
   * Runs the demotion actions in reverse order, returning by {@code deadlineNanos} (the lease's end
   * on the node's monotonic clock), except for the steps that only fence ({@link
   * PromotionAction#demoteOnlyFences()}): they always run, with their own timeout, even once the
   * lease is over, since they are harmless late and needed most then (after a pause).
   *
   * <p>With the watchdog on, any step of this activation (promotion or demotion, including one
   * whose caller gave up on it: timed out, or cancelled with an interrupt the action ignored) whose
   * code is still running when the lease ends halts the process. The watchdog is not stopped by
   * this method returning: at the deadline it looks at what is actually still running.
   */
  public void demote(
      RoleController.Activation a, ActiveContext active, long deadlineNanos, StandbyReason reason) {
    Future<?> r = running;
    if (r != null && !r.isDone() && Thread.currentThread() != orchestratorThread) {
      r.cancel(true);
    }
    if (plan.watchdog() && !plan.isEmpty()) {
      executor.startWatchdog(a.token(), deadlineNanos);
    }
    // A failed promotion stays visible in status after the demotion that follows it.
    final PromotionState endState =
        status.state() == PromotionState.FAILED ? PromotionState.FAILED : PromotionState.DEMOTED;
    final Optional<String> failedStep =
        status.state() == PromotionState.FAILED ? status.step() : Optional.empty();
    List<PromotionPlan.ActionStage> actions = new ArrayList<>();
    for (PromotionPlan.Stage s : plan.stages()) {
      if (s instanceof PromotionPlan.ActionStage action) {
        actions.add(0, action);
      }
    }
    if (actions.isEmpty()) {
      status = new PromotionStatus(a.token(), endState, failedStep, 0, status.lastError());
      return;
    }
    for (PromotionPlan.ActionStage step : actions) {
      boolean fencesOnly = onlyFences(step);
      long left = deadlineNanos - clock.nanoTime();
      Duration timeout;
      if (fencesOnly) {
        timeout = step.policy().timeout();
        if (left <= 0) {
          LOG.warn(
              "{}: lease over before demotion step '{}' for token {}; it only fences, so it runs"
                  + " anyway",
              nodeId(),
              step.name(),
              a.token());
        }
      } else {
        if (left <= 0) {
          LOG.warn(
              "{}: lease over before demotion step '{}' for token {}; skipped",
              nodeId(),
              step.name(),
              a.token());
          continue;
        }
        // Stop waiting a little before the lease ends, so that an action that honours the
        // interrupt has returned by then and the watchdog finds nothing running.
        long margin = Math.min(TimeUnit.MILLISECONDS.toNanos(50), left / 5);
        timeout =
            Duration.ofNanos(
                Math.max(1, Math.min(step.policy().timeout().toNanos(), left - margin)));
      }
      status =
          new PromotionStatus(
              a.token(), PromotionState.DEMOTING, Optional.of(step.name()), 1, status.lastError());
      long demotionStarted = clock.nanoTime();
      try {
        runDemotion(
            step, context(active, step, 1, StepContext.Phase.DEMOTE, timeout), timeout, fencesOnly);
        outcomes.count(step.name(), "demoted");
        outcomes.time(step.name(), "demote", "completed", clock.nanoTime() - demotionStarted);
        journal.record(
            Journal.Entry.demote(a.token(), step.name(), JournalEntry.Outcome.COMPLETED));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        String message = StepOutcomes.describe(e);
        outcomes.time(step.name(), "demote", "failed", clock.nanoTime() - demotionStarted);
        LOG.warn(
            "{}: demotion step '{}' failed for token {}: {}",
            nodeId(),
            step.name(),
            a.token(),
            message);
        journal.record(
            Journal.Entry.demote(a.token(), step.name(), JournalEntry.Outcome.FAILED)
                .failedWith(message));
      }
    }
    status = new PromotionStatus(a.token(), endState, failedStep, 0, status.lastError());
  }

  private static boolean onlyFences(PromotionPlan.ActionStage step) {
    return step.action().demoteOnlyFences();
  }

  private void runStep(PromotionPlan.Stage step, StepContext ctx, Duration timeout)
      throws Exception {
    executor.call(
        () -> {
          // Checked on the worker, after it is registered as running: either the watchdog sees it
          // running, or it sees the lease over and does not act.
          if (!ctx.isLeaseValid()) {
            throw new InterruptedException(
                "the lease for token " + ctx.token() + " ended before step '" + step.name() + "'");
          }
          if (step instanceof PromotionPlan.FenceStage fence) {
            fence.fence().advance(ctx.token(), ctx);
          } else if (step instanceof PromotionPlan.ActionStage action) {
            action.action().promote(ctx);
          }
          return null;
        },
        step.name(),
        ctx.token(),
        StepContext.Phase.PROMOTE,
        false,
        timeout);
  }

  private void runDemotion(
      PromotionPlan.ActionStage step, StepContext ctx, Duration timeout, boolean fencesOnly)
      throws Exception {
    executor.call(
        () -> {
          step.action().demote(ctx);
          return null;
        },
        step.name(),
        ctx.token(),
        StepContext.Phase.DEMOTE,
        fencesOnly,
        timeout);
  }

  /** What one attempt of {@code step} is told: its activation is {@code active}'s. */
  private StepContext context(
      ActiveContext active,
      PromotionPlan.Stage step,
      int attempt,
      StepContext.Phase phase,
      Duration timeout) {
    return new StepAttempt(config, active, journal, clock, step.name(), attempt, phase, timeout);
  }

  private static boolean pause(long millis) {
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private String nodeId() {
    return config.self().id();
  }

  public PromotionStatus status() {
    return status;
  }

  public void shutdown() {
    executor.shutdown();
    orchestrator.shutdownNow();
  }
}
