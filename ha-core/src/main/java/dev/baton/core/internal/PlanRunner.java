package dev.baton.core.internal;

import dev.baton.core.ActionContext;
import dev.baton.core.ActiveContext;
import dev.baton.core.JournalEntry;
import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.PromotionStatus;
import dev.baton.core.StaleTokenException;
import dev.baton.core.StandbyReason;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.JournalRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs the promotion plan when the node wins the role, and the demotion when it gives it up.
 *
 * <p>Promotion runs on the plan thread while the role controller keeps renewing the lease. Every
 * step is journaled (started, completed, failed) through Raft before the plan moves on, so a
 * successor sees how far its predecessor got (invariant I5). A step that throws {@link
 * StaleTokenException} is not retried: a fence already holds a newer token, so this node is not the
 * newest active and must stop.
 */
public class PlanRunner {
  private static final Logger LOG = LoggerFactory.getLogger(PlanRunner.class);

  private final PromotionPlan plan;
  private NodeConfig config;
  private RaftNode raft;
  private MonotonicClock clock;
  private MeterRegistry registry;
  private ExecutorService orchestrator;
  private ExecutorService workers;
  private volatile Thread orchestratorThread;
  private volatile Future<?> running;
  private volatile PromotionStatus status = PromotionStatus.IDLE;

  /**
   * The steps whose code is running now, by the worker thread that runs it: a step stays here until
   * its code returns, even after its caller timed it out or cancelled it (an action that ignores
   * interruption keeps running). The watchdog halts the process when one of them is still here at
   * the end of the lease.
   */
  private final Map<Thread, Running> inFlight = new ConcurrentHashMap<>();

  private final List<Thread> watchdogs = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** What the watchdog does at the end of a lease with a step still running. */
  private final Runnable halt = () -> Runtime.getRuntime().halt(70);

  /** One step's code running on a worker thread. */
  private record Running(long token, String step, ActionContext.Phase phase, boolean harmlessLate) {
    @Override
    public String toString() {
      return "'"
          + step
          + "' ("
          + phase.name().toLowerCase(java.util.Locale.ROOT)
          + ", token "
          + token
          + ")";
    }
  }

  public PlanRunner(PromotionPlan plan) {
    this.plan = plan;
  }

  /** Connects the runner to its node (called once, before the node starts). */
  public void attach(
      NodeConfig config, RaftNode raft, MonotonicClock clock, MeterRegistry registry) {
    this.config = config;
    this.raft = raft;
    this.clock = clock;
    this.registry = registry;
    this.orchestrator =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "baton-plan-" + config.self().id());
              t.setDaemon(true);
              orchestratorThread = t;
              return t;
            });
    this.workers =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "baton-action-" + config.self().id());
              t.setDaemon(true);
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
    orchestrator.submit(this::runPreflight);
  }

  private void runPreflight() {
    for (PromotionPlan.Step step : plan.steps()) {
      if (!step.isFence() && !overridesPreflight(step.action())) {
        continue; // nothing to check (an exec hook, say): say nothing rather than "passed"
      }
      long started = System.nanoTime();
      try {
        call(
            () -> {
              if (step.isFence()) {
                step.fence().preflight();
              } else {
                step.action().preflight();
              }
              return null;
            },
            step,
            0,
            ActionContext.Phase.PROMOTE,
            true,
            step.policy().timeout());
        count(step.name(), "preflight-passed");
        LOG.info(
            "{}: pre-flight of step '{}' passed in {} ms",
            nodeId(),
            step.name(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        count(step.name(), "preflight-failed");
        LOG.warn(
            "{}: pre-flight of step '{}' FAILED: {}; a promotion of this node would likely fail"
                + " at this step",
            nodeId(),
            step.name(),
            describe(e));
      }
    }
  }

  private static boolean overridesPreflight(PromotionAction action) {
    try {
      return action.getClass().getMethod("preflight").getDeclaringClass() != PromotionAction.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /** Runs the plan for {@code activation}; calls {@code done} with whether it completed. */
  public void promote(
      RoleController.Activation activation, ActiveContext active, Consumer<Boolean> done) {
    if (plan.isEmpty()) {
      done.accept(true);
      return;
    }
    status =
        new PromotionStatus(activation.token(), "RUNNING", Optional.empty(), 0, Optional.empty());
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
      String what = safeDescribe(t);
      status =
          new PromotionStatus(
              a.token(),
              "FAILED",
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
        if (!"FAILED".equals(status.state()) && !"ABANDONED".equals(status.state())) {
          status =
              new PromotionStatus(
                  a.token(), "FAILED", status.step(), status.attempt(), status.lastError());
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
    for (PromotionPlan.Step step : plan.steps()) {
      boolean ok = false;
      boolean stale = false;
      for (int attempt = 1; attempt <= step.policy().maxAttempts(); attempt++) {
        if (!active.isLeaseValid() || Thread.currentThread().isInterrupted()) {
          status =
              new PromotionStatus(
                  a.token(), "ABANDONED", Optional.of(step.name()), attempt, lastError);
          LOG.info("{}: promotion for token {} abandoned: the role was lost", nodeId(), a.token());
          return;
        }
        status =
            new PromotionStatus(a.token(), "RUNNING", Optional.of(step.name()), attempt, lastError);
        if (!journal(
            a.token(),
            step.name(),
            ActionContext.Phase.PROMOTE,
            attempt,
            JournalEntry.Outcome.STARTED,
            null,
            true)) {
          status =
              new PromotionStatus(
                  a.token(),
                  "FAILED",
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
        try {
          runStep(
              step,
              context(
                  a, active, step, attempt, ActionContext.Phase.PROMOTE, step.policy().timeout()),
              step.policy().timeout());
          ok = true;
          count(step.name(), "completed");
          LOG.info(
              "{}: step '{}' completed for token {} (attempt {})",
              nodeId(),
              step.name(),
              a.token(),
              attempt);
          journal(
              a.token(),
              step.name(),
              ActionContext.Phase.PROMOTE,
              attempt,
              JournalEntry.Outcome.COMPLETED,
              null,
              true);
          break;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          status =
              new PromotionStatus(
                  a.token(), "ABANDONED", Optional.of(step.name()), attempt, lastError);
          return;
        } catch (Exception e) {
          String message = describe(e);
          lastError = Optional.of(step.name() + ": " + message);
          count(step.name(), "failed");
          LOG.warn(
              "{}: step '{}' failed for token {} (attempt {} of {}): {}",
              nodeId(),
              step.name(),
              a.token(),
              attempt,
              step.policy().maxAttempts(),
              message);
          journal(
              a.token(),
              step.name(),
              ActionContext.Phase.PROMOTE,
              attempt,
              JournalEntry.Outcome.FAILED,
              message,
              true);
          status =
              new PromotionStatus(
                  a.token(), "RUNNING", Optional.of(step.name()), attempt, lastError);
          if (rootCause(e) instanceof StaleTokenException) {
            stale = true;
            break;
          }
          if (attempt < step.policy().maxAttempts() && !pause(backoff(step.policy(), attempt))) {
            return;
          }
        }
      }
      if (!ok) {
        if (step.policy().required() || stale) {
          status =
              new PromotionStatus(
                  a.token(),
                  "FAILED",
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
    status = new PromotionStatus(a.token(), "COMPLETED", Optional.empty(), 0, lastError);
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
      startWatchdog(a, deadlineNanos);
    }
    // A failed promotion stays visible in status after the demotion that follows it.
    final String endState = "FAILED".equals(status.state()) ? "FAILED" : "DEMOTED";
    final Optional<String> failedStep =
        "FAILED".equals(status.state()) ? status.step() : Optional.empty();
    List<PromotionPlan.Step> actions = new ArrayList<>();
    for (PromotionPlan.Step s : plan.steps()) {
      if (!s.isFence()) {
        actions.add(0, s);
      }
    }
    if (actions.isEmpty()) {
      status = new PromotionStatus(a.token(), endState, failedStep, 0, status.lastError());
      return;
    }
    for (PromotionPlan.Step step : actions) {
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
              a.token(), "DEMOTING", Optional.of(step.name()), 1, status.lastError());
      try {
        runDemotion(
            step,
            context(a, active, step, 1, ActionContext.Phase.DEMOTE, timeout),
            timeout,
            fencesOnly);
        count(step.name(), "demoted");
        journal(
            a.token(),
            step.name(),
            ActionContext.Phase.DEMOTE,
            1,
            JournalEntry.Outcome.COMPLETED,
            null,
            false);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        String message = describe(e);
        LOG.warn(
            "{}: demotion step '{}' failed for token {}: {}",
            nodeId(),
            step.name(),
            a.token(),
            message);
        journal(
            a.token(),
            step.name(),
            ActionContext.Phase.DEMOTE,
            1,
            JournalEntry.Outcome.FAILED,
            message,
            false);
      }
    }
    status = new PromotionStatus(a.token(), endState, failedStep, 0, status.lastError());
  }

  private static boolean onlyFences(PromotionPlan.Step step) {
    return !step.isFence() && step.action().demoteOnlyFences();
  }

  /**
   * At {@code deadlineNanos}, halts the process if any step of activation {@code a} (or an older
   * one) is still running, except demotion steps that only fence. Steps that start later are not a
   * concern: a promotion step checks the lease on its worker thread before it runs, and other
   * demotion steps are skipped once the lease is over.
   */
  private void startWatchdog(RoleController.Activation a, long deadlineNanos) {
    Thread t =
        new Thread(
            () -> {
              try {
                watch(a, deadlineNanos);
              } finally {
                watchdogs.remove(Thread.currentThread());
              }
            },
            "baton-watchdog-" + nodeId() + "-" + a.token());
    t.setDaemon(true);
    watchdogs.add(t);
    t.start();
  }

  private void watch(RoleController.Activation a, long deadlineNanos) {
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
      if (run.token() <= a.token() && !run.harmlessLate()) {
        still.add(run);
      }
    }
    if (still.isEmpty()) {
      return;
    }
    LOG.error(
        "{}: WATCHDOG: the lease for token {} has ended and step {} is still running;"
            + " halting the process",
        nodeId(),
        a.token(),
        still);
    halt.run();
  }

  private void runStep(PromotionPlan.Step step, ActionContext ctx, Duration timeout)
      throws Exception {
    call(
        () -> {
          // Checked on the worker, after it is registered as running: either the watchdog sees it
          // running, or it sees the lease over and does not act.
          if (!ctx.isLeaseValid()) {
            throw new InterruptedException(
                "the lease for token " + ctx.token() + " ended before step '" + step.name() + "'");
          }
          if (step.isFence()) {
            step.fence().advance(ctx.token(), ctx);
          } else {
            step.action().promote(ctx);
          }
          return null;
        },
        step,
        ctx.token(),
        ActionContext.Phase.PROMOTE,
        false,
        timeout);
  }

  private void runDemotion(
      PromotionPlan.Step step, ActionContext ctx, Duration timeout, boolean fencesOnly)
      throws Exception {
    call(
        () -> {
          step.action().demote(ctx);
          return null;
        },
        step,
        ctx.token(),
        ActionContext.Phase.DEMOTE,
        fencesOnly,
        timeout);
  }

  /**
   * Runs {@code body} on a worker thread with the step in the MDC (and the token, unless 0),
   * bounded by {@code timeout}; unwraps the body's exception.
   */
  private void call(
      java.util.concurrent.Callable<Void> body,
      PromotionPlan.Step step,
      long token,
      ActionContext.Phase phase,
      boolean harmlessLate,
      Duration timeout)
      throws Exception {
    Future<Void> f =
        workers.submit(
            () -> {
              Thread self = Thread.currentThread();
              if (token != 0) {
                inFlight.put(self, new Running(token, step.name(), phase, harmlessLate));
              }
              MDC.put("baton.node", nodeId());
              if (token != 0) {
                MDC.put("baton.token", Long.toString(token));
              }
              MDC.put("baton.step", step.name());
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
          "step '" + step.name() + "' timed out after " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    } catch (CancellationException e) {
      throw new InterruptedException("step '" + step.name() + "' was cancelled");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }

  private ActionContext context(
      RoleController.Activation a,
      ActiveContext active,
      PromotionPlan.Step step,
      int attempt,
      ActionContext.Phase phase,
      Duration timeout) {
    long deadline = clock.nanoTime() + timeout.toNanos();
    Logger log = LoggerFactory.getLogger("dev.baton.action." + step.name());
    return new ActionContext() {
      @Override
      public long token() {
        return a.token();
      }

      @Override
      public String clusterId() {
        return config.clusterId();
      }

      @Override
      public String nodeId() {
        return config.self().id();
      }

      @Override
      public Optional<String> previousActive() {
        return a.previousActive();
      }

      @Override
      public long previousToken() {
        return a.previousToken();
      }

      @Override
      public Phase phase() {
        return phase;
      }

      @Override
      public int attempt() {
        return attempt;
      }

      @Override
      public Duration deadline() {
        return Duration.ofNanos(deadline - clock.nanoTime());
      }

      @Override
      public OptionalLong lastCompletedToken() {
        return raft.stateMachine().localState(false).getJournalList().stream()
            .filter(r -> r.getAction().equals(step.name()))
            .filter(r -> r.getPhase().equals(ActionContext.Phase.PROMOTE.name()))
            .filter(r -> r.getOutcome().equals(JournalEntry.Outcome.COMPLETED.name()))
            .mapToLong(JournalRecord::getToken)
            .max();
      }

      @Override
      public boolean isLeaseValid() {
        return active.isLeaseValid();
      }

      @Override
      public Logger log() {
        return log;
      }

      @Override
      public String toString() {
        return "ActionContext["
            + step.name()
            + ", token "
            + a.token()
            + ", "
            + phase
            + ", attempt "
            + attempt
            + "]";
      }
    };
  }

  /** Records a step's outcome through Raft; when {@code wait}, returns whether it committed. */
  private boolean journal(
      long token,
      String step,
      ActionContext.Phase phase,
      int attempt,
      JournalEntry.Outcome outcome,
      String error,
      boolean wait) {
    Command command =
        Commands.journal(
            JournalRecord.newBuilder()
                .setNodeId(config.self().id())
                .setToken(token)
                .setAction(step)
                .setPhase(phase.name())
                .setAttempt(attempt)
                .setOutcome(outcome.name())
                .setSuccess(outcome == JournalEntry.Outcome.COMPLETED)
                .setError(error == null ? "" : error)
                .setMonotonicTimeMs(TimeUnit.NANOSECONDS.toMillis(clock.nanoTime())));
    var future = raft.submitLocal(command);
    if (!wait) {
      return true;
    }
    try {
      return future.get(config.operationTimeout().toMillis(), TimeUnit.MILLISECONDS).getApplied();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      LOG.warn(
          "{}: could not journal step '{}' for token {}: {}", nodeId(), step, token, e.toString());
      return false;
    }
  }

  private static long backoff(dev.baton.core.StepPolicy p, int attempt) {
    long base = p.initialBackoff().toMillis() << Math.min(20, attempt - 1);
    long cap = Math.min(base, p.maxBackoff().toMillis());
    // Full jitter: two nodes retrying the same failing resource do not keep colliding.
    return cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap / 2, cap + 1);
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

  private void count(String step, String outcome) {
    if (registry != null) {
      Counter.builder("baton.promotion.steps")
          .description("promotion and demotion step outcomes")
          .tags(
              "cluster",
              config.clusterId(),
              "node",
              config.self().id(),
              "step",
              step,
              "outcome",
              outcome)
          .register(registry)
          .increment();
    }
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      if (t instanceof StaleTokenException) {
        return t;
      }
      t = t.getCause();
    }
    return t;
  }

  /** A description of {@code t} that never throws, even when its own methods do. */
  private static String safeDescribe(Throwable t) {
    try {
      return t.getClass().getName() + ": " + describe(t);
    } catch (RuntimeException e) {
      return t.getClass().getName();
    }
  }

  private static String describe(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  private String nodeId() {
    return config.self().id();
  }

  public PromotionStatus status() {
    return status;
  }

  public void shutdown() {
    for (Thread w : watchdogs) {
      w.interrupt();
    }
    watchdogs.clear();
    if (orchestrator != null) {
      orchestrator.shutdownNow();
      workers.shutdownNow();
    }
  }
}
