package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.PromotionStatus;
import dev.baton.core.StandbyReason;
import java.util.function.Consumer;

/** Runs the promotion plan when the node wins the role and the demotion when it gives it up. */
public class PlanRunner {

  /** Runs the plan for {@code activation}; calls {@code done} with whether it completed. */
  public void promote(
      RoleController.Activation activation, ActiveContext context, Consumer<Boolean> done) {
    done.accept(true);
  }

  /** Runs the demotion actions, returning by {@code deadlineNanos} (monotonic clock). */
  public void demote(
      RoleController.Activation activation,
      ActiveContext context,
      long deadlineNanos,
      StandbyReason reason) {}

  public PromotionStatus status() {
    return PromotionStatus.IDLE;
  }

  public void shutdown() {}
}
