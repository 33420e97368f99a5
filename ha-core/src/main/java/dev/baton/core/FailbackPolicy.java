package dev.baton.core;

import java.time.Duration;
import java.util.Objects;

/**
 * Failback by priority (opt-in; off by default): when a member with a strictly higher {@link
 * Member#priority() priority} than the active has been up, caught up and healthy for {@code
 * holdDown} without a break, the active hands the role to it through the planned switch path
 * ({@link StandbyReason#FAILBACK}; the activation history records {@link
 * Activation.Reason#FAILBACK}).
 *
 * <p>What counts, as the active (the Raft leader) sees it: the member is eligible and in the Raft
 * configuration; it answered the leader within {@code electionTimeoutMax}; its commit index is
 * within 1,000 entries of the leader's (the caught-up rule of a step-down); and its published
 * health record says eligible (a member without health checks has none and counts as healthy). Any
 * break starts its hold-down again: a moment down or behind, a record that says unhealthy, and any
 * new health record it publishes (a member publishes only when its health changes and once at each
 * start, so a flap that came and went between two looks still counts). The role never moves between
 * equal priorities. While {@link Cluster#maintenance(boolean, String) maintenance mode} is on, no
 * failback happens and every hold-down starts again once it is off.
 *
 * @param enabled whether the active fails back to a higher-priority member
 * @param holdDown how long such a member must be up, caught up and healthy without a break;
 *     positive
 */
public record FailbackPolicy(boolean enabled, Duration holdDown) {
  /** The hold-down when none is given: 30 s. */
  public static final Duration DEFAULT_HOLD_DOWN = Duration.ofSeconds(30);

  /** No failback (the default): the role stays where it is until something else moves it. */
  public static final FailbackPolicy DISABLED = new FailbackPolicy(false, DEFAULT_HOLD_DOWN);

  /**
   * @throws IllegalArgumentException if {@code holdDown} is zero or negative, naming it
   */
  public FailbackPolicy {
    Objects.requireNonNull(holdDown, "failback.holdDown");
    if (holdDown.isZero() || holdDown.isNegative()) {
      throw new IllegalArgumentException(
          "failback.holdDown "
              + holdDown.toMillis()
              + " ms is not positive: a member must be up and healthy for some time before the"
              + " role fails back to it (default "
              + DEFAULT_HOLD_DOWN.toSeconds()
              + " s)");
    }
  }

  /** Failback enabled, after {@code holdDown}. */
  public static FailbackPolicy after(Duration holdDown) {
    return new FailbackPolicy(true, holdDown);
  }
}
