package dev.baton.core;

import java.util.Optional;

/**
 * Where the promotion plan is on this node.
 *
 * @param token the activation the plan runs for ({@link BatonNode#NO_TOKEN} when none has run)
 * @param state where the plan is (see {@link PromotionState})
 * @param step the action now running or last run, if any
 * @param attempt that action's attempt number
 * @param lastError the last error of any action, if any
 */
public record PromotionStatus(
    long token,
    PromotionState state,
    Optional<String> step,
    int attempt,
    Optional<String> lastError) {

  public static final PromotionStatus IDLE =
      new PromotionStatus(0, PromotionState.IDLE, Optional.empty(), 0, Optional.empty());
}
