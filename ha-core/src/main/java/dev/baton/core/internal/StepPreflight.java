package dev.baton.core.internal;

import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.StepContext;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job: runs each promotion step's pre-flight check once (a fence's, or an action's that
 * overrides {@link PromotionAction#preflight()}), each bounded by its step's timeout, and logs and
 * counts whether it passed. {@link PlanRunner} runs it on its plan thread; it never throws.
 */
final class StepPreflight {
  // The plan runner's logger, as before this class was cut out of it: log settings keep working.
  private static final Logger LOG = LoggerFactory.getLogger(PlanRunner.class);

  private final PromotionPlan plan;
  private final StepExecutor executor;
  private final StepOutcomes outcomes;
  private final String nodeId;

  StepPreflight(PromotionPlan plan, StepExecutor executor, StepOutcomes outcomes, String nodeId) {
    this.plan = plan;
    this.executor = executor;
    this.outcomes = outcomes;
    this.nodeId = nodeId;
  }

  void run() {
    for (PromotionPlan.Stage step : plan.stages()) {
      Optional<Callable<Void>> check = check(step);
      if (check.isEmpty()) {
        continue; // nothing to check (an exec hook, say): say nothing rather than "passed"
      }
      long started = System.nanoTime();
      try {
        executor.call(
            check.get(), step.name(), 0, StepContext.Phase.PROMOTE, true, step.policy().timeout());
        outcomes.count(step.name(), "preflight-passed");
        LOG.info(
            "{}: pre-flight of step '{}' passed in {} ms",
            nodeId,
            step.name(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        outcomes.count(step.name(), "preflight-failed");
        LOG.warn(
            "{}: pre-flight of step '{}' FAILED: {}; a promotion of this node would likely fail"
                + " at this step",
            nodeId,
            step.name(),
            StepOutcomes.describe(e));
      }
    }
  }

  /** A fence's check, or an action's that overrides {@link PromotionAction#preflight()}. */
  private static Optional<Callable<Void>> check(PromotionPlan.Stage step) {
    if (step instanceof PromotionPlan.FenceStage fence) {
      return Optional.of(
          () -> {
            fence.fence().preflight();
            return null;
          });
    }
    if (step instanceof PromotionPlan.ActionStage action && overridesPreflight(action.action())) {
      return Optional.of(
          () -> {
            action.action().preflight();
            return null;
          });
    }
    return Optional.empty();
  }

  private static boolean overridesPreflight(PromotionAction action) {
    try {
      return action.getClass().getMethod("preflight").getDeclaringClass() != PromotionAction.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }
}
