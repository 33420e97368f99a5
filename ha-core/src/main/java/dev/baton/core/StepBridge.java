package dev.baton.core;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;

/**
 * The default methods that bridge the {@link StepContext} signatures of {@link PromotionAction} and
 * {@link Fence} and their deprecated {@link ActionContext} ones, so that an implementation of
 * either runs whichever the caller calls. Removed with {@link ActionContext} (0.4 at the earliest).
 *
 * <p>The new default hands the old method a {@link View} made by that same step; the old default
 * unwraps a view and calls the new method. A view that comes back to the step that made it means
 * the step implements neither method.
 */
@SuppressWarnings("deprecation") // the bridge to the deprecated ActionContext signatures
final class StepBridge {
  private StepBridge() {}

  /** {@code context} as an {@link ActionContext}, for {@code step}'s old-style method. */
  static ActionContext toOld(Object step, StepContext context) {
    return new View(step, context);
  }

  /**
   * {@code context} as a {@link StepContext} for {@code step}'s new-style method, or empty when it
   * is {@code step}'s own view (it overrides neither method).
   */
  static Optional<StepContext> toNew(Object step, ActionContext context) {
    if (context instanceof View v) {
      return v.step() == step ? Optional.empty() : Optional.of(v.context());
    }
    return Optional.of(context);
  }

  /**
   * As {@link #toNew}, failing when {@code step} implements neither {@code method}: its signature
   * {@code method(<params>StepContext)} nor {@code method(<params>ActionContext)}.
   */
  static StepContext toNewOrFail(Object step, ActionContext context, String method, String params) {
    return toNew(step, context)
        .orElseThrow(
            () ->
                new UnsupportedOperationException(
                    step.getClass().getName()
                        + " implements neither "
                        + method
                        + "("
                        + params
                        + "StepContext) nor the deprecated "
                        + method
                        + "("
                        + params
                        + "ActionContext)"));
  }

  /** A {@link StepContext} seen as an {@link ActionContext}, by the step whose default made it. */
  private record View(Object step, StepContext context) implements ActionContext {
    @Override
    public long token() {
      return context.token();
    }

    @Override
    public String nodeId() {
      return context.nodeId();
    }

    @Override
    public Optional<String> previousActive() {
      return context.previousActive();
    }

    @Override
    public long previousToken() {
      return context.previousToken();
    }

    @Override
    public boolean isLeaseValid() {
      return context.isLeaseValid();
    }

    @Override
    public String clusterId() {
      return context.clusterId();
    }

    @Override
    public Phase phase() {
      return context.phase();
    }

    @Override
    public int attempt() {
      return context.attempt();
    }

    @Override
    public Duration deadline() {
      return context.deadline();
    }

    @Override
    public OptionalLong lastCompletedToken() {
      return context.lastCompletedToken();
    }

    @Override
    public Logger log() {
      return context.log();
    }

    @Override
    public String toString() {
      return context.toString();
    }
  }
}
