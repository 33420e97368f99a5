package dev.baton.core;

/** Why a node is, or became, standby. */
public enum StandbyReason {
  /** The node is starting and has not been active yet. */
  STARTING,
  /** The node lost Raft leadership (another node was elected, or it stepped down). */
  LEADERSHIP_LOST,
  /** The node could not renew its lease in time (partition, overload, pause). */
  LEASE_EXPIRING,
  /** A planned switch-active moved the role to another node. */
  SWITCH_ACTIVE,
  /** A required promotion action failed; the node backs off so another node may try. */
  PROMOTION_FAILED,
  /**
   * A demoting health check of this active went down and it handed the role to a healthy peer
   * through the planned switch path (see {@link BatonNode.Builder#healthChecks}).
   */
  UNHEALTHY,
  /**
   * Failback by priority: a member with a higher priority had been up, caught up and healthy for
   * the hold-down, and this active handed the role to it through the planned switch path (see
   * {@link FailbackPolicy}).
   */
  FAILBACK,
  /** The node is closing. */
  CLOSING
}
