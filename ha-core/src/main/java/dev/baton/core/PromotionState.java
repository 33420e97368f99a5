package dev.baton.core;

/** Where a node's promotion plan is, as {@link PromotionStatus#state()} reports it. */
public enum PromotionState {
  /** No plan has run on this node since it started. */
  IDLE,
  /**
   * The plan is running for the token in the status: {@link PromotionStatus#step()} is the step.
   */
  RUNNING,
  /** Every step completed; the node is active. */
  COMPLETED,
  /**
   * A step failed (a required one, after its attempts; or its start could not be journalled, or the
   * plan stopped unexpectedly): the node gives the role up and backs off. It stays FAILED through
   * the demotion that follows, so that status shows which step failed.
   */
  FAILED,
  /**
   * The plan stopped because the node lost the role (its lease ran out or it was interrupted)
   * before a step could start or finish; nothing failed, another node takes over.
   */
  ABANDONED,
  /** The demotion steps run (the actions undone in reverse order) before the lease ends. */
  DEMOTING,
  /** The demotion finished: the node is a standby again. */
  DEMOTED,
  /**
   * A value this client does not know: a newer member sent it. A client reads it as this rather
   * than failing, as the control API asks of every client (COMPATIBILITY.md); Baton never records
   * it.
   */
  UNKNOWN
}
