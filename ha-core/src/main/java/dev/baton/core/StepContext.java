package dev.baton.core;

import java.time.Duration;
import java.util.OptionalLong;
import org.slf4j.Logger;

/**
 * What one attempt of a plan's step (a {@link PromotionAction} or a {@link Fence}) is told when it
 * runs: its {@linkplain ActivationInfo activation} (token, node, previous active, lease), and its
 * own phase, attempt, deadline, journal and logger. Handed out by the node; a test builds a plain
 * value of it (the testing module, {@code baton-testing}, has one: {@code
 * dev.baton.testing.steps.TestStepContext}).
 *
 * <p>Replaces {@link ActionContext} (since 0.3), which declares the same methods.
 */
public interface StepContext extends ActivationInfo {

  /** Whether the step is promoting (becoming active) or demoting (giving the role up). */
  enum Phase {
    PROMOTE,
    DEMOTE
  }

  /** The id of the cluster. */
  String clusterId();

  /** Which phase this run is in. */
  Phase phase();

  /** 1 for the first attempt, 2 for the first retry, and so on. */
  int attempt();

  /** How long this attempt may still take; zero or negative once its deadline has passed. */
  Duration deadline();

  /**
   * The highest token with which this step completed according to the cluster's journal, if it ever
   * did. A step uses it to skip work a predecessor already did (idempotency).
   */
  OptionalLong lastCompletedToken();

  /** A logger whose messages carry the node, step and token. */
  Logger log();
}
