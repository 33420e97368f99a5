package dev.baton.core.internal;

import dev.baton.core.StandbyReason;
import dev.baton.core.internal.proto.SwitchRequest;
import java.util.Optional;

/**
 * The pending switch request (a planned switch-active, or a failback's request), as the role
 * controller's step carries it out. The active hands the role to the request's target once the
 * target is ready ({@link SwitchTargetReadiness}, step 4 of docs/lease.md), giving it up with
 * reason {@code FAILBACK} for a failback's request and {@code SWITCH_ACTIVE} otherwise; a leader
 * that holds no role hands leadership to the target rather than activate only to hand the role over
 * again. Attempts are counted by {@link SwitchBookkeeping}. The hand-over itself (demote, bar the
 * term, transfer) stays {@link RoleController}'s. Used only by the controller's thread.
 */
final class PendingSwitch {
  /** A hand-over to carry out now: to {@code target}, giving the role up with {@code reason}. */
  record HandOver(String target, StandbyReason reason) {}

  private final RaftNode raft;
  private final SwitchBookkeeping switches;
  private final SwitchTargetReadiness readiness;

  PendingSwitch(NodeConfig config, RaftNode raft, SwitchBookkeeping switches, long renewNanos) {
    this.raft = raft;
    this.switches = switches;
    this.readiness = new SwitchTargetReadiness(config, raft, renewNanos);
  }

  /** The request pending in the replicated state (read once per step). */
  SwitchRequest read() {
    return raft.stateMachine().pendingSwitch();
  }

  /** Whether {@code pending} targets another node and has attempts left on this node. */
  boolean open(SwitchRequest pending) {
    return switches.open(pending);
  }

  /**
   * For the active in {@code term}: the hand-over {@code pending} asks for, once its target is
   * ready (the attempt is counted then), else empty.
   */
  Optional<HandOver> forActive(SwitchRequest pending, long now, long term) {
    if (switches.open(pending)
        && readiness.targetAnswers(pending, now, term)
        && switches.take(pending)) {
      return Optional.of(
          new HandOver(
              pending.getTargetNodeId(),
              pending.getReason().equals(Commands.FAILBACK)
                  ? StandbyReason.FAILBACK
                  : StandbyReason.SWITCH_ACTIVE));
    }
    return Optional.empty();
  }

  /**
   * For a leader that holds no role, ready, with {@code pending} open ({@link LeaderWithoutRole}):
   * the hand-over of leadership to the target (the attempt counted), or empty when none is left.
   */
  Optional<HandOver> forLeader(SwitchRequest pending) {
    if (switches.take(pending)) {
      return Optional.of(new HandOver(pending.getTargetNodeId(), StandbyReason.SWITCH_ACTIVE));
    }
    return Optional.empty();
  }
}
