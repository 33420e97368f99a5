package dev.baton.core;

import java.time.Duration;

/**
 * How one step of a {@link PromotionPlan} runs: its timeout per attempt, how many attempts, the
 * exponential backoff between them (with equal jitter: see {@link #backoff()}), and whether the
 * plan may go on without it.
 *
 * @param timeout how long one attempt may take; the action's thread is interrupted after it
 * @param maxAttempts attempts in all (1 = no retry)
 * @param initialBackoff the pause before the first retry; doubled each time up to maxBackoff
 * @param maxBackoff the longest pause between attempts
 * @param required a required step that fails aborts the activation (the node gives the role up and
 *     backs off); a best-effort step that fails is recorded and the plan goes on
 */
public record StepPolicy(
    Duration timeout,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    boolean required) {

  public StepPolicy {
    if (timeout == null || timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("step timeout must be positive, got " + timeout);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("step maxAttempts must be at least 1, got " + maxAttempts);
    }
    if (initialBackoff == null || initialBackoff.isNegative()) {
      throw new IllegalArgumentException("step initialBackoff must be zero or positive");
    }
    if (maxBackoff == null || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException(
          "step maxBackoff ("
              + maxBackoff
              + ") must be at least initialBackoff ("
              + initialBackoff
              + ")");
    }
  }

  /** Required; 30 s per attempt, 3 attempts, backoff 200 ms doubling up to 5 s. */
  public static StepPolicy mustSucceed() {
    return new StepPolicy(
        Duration.ofSeconds(30), 3, Duration.ofMillis(200), Duration.ofSeconds(5), true);
  }

  /** Like {@link #mustSucceed()}, but a failure is recorded and the plan goes on. */
  public static StepPolicy bestEffort() {
    return mustSucceed().withRequired(false);
  }

  /** The pauses between attempts: from initialBackoff, doubling up to maxBackoff, equal jitter. */
  public Backoff backoff() {
    return new Backoff(initialBackoff, maxBackoff, true);
  }

  public StepPolicy withTimeout(Duration newTimeout) {
    return new StepPolicy(newTimeout, maxAttempts, initialBackoff, maxBackoff, required);
  }

  public StepPolicy withMaxAttempts(int attempts) {
    return new StepPolicy(timeout, attempts, initialBackoff, maxBackoff, required);
  }

  public StepPolicy withBackoff(Duration initial, Duration max) {
    return new StepPolicy(timeout, maxAttempts, initial, max, required);
  }

  public StepPolicy withRequired(boolean isRequired) {
    return new StepPolicy(timeout, maxAttempts, initialBackoff, maxBackoff, isRequired);
  }
}
