package dev.baton.core.internal;

import java.util.OptionalLong;

/**
 * The one {@code LeaseRound} entry of an activation, sent once the promotion plan has completed: it
 * tells the cluster that this node is ACTIVE (switch-active waits for it). Retried every {@code
 * renewInterval} until it applies; one unanswered for a lease length counts as lost. Its commit
 * also renews the lease from its send time, as any majority-acknowledged round may. It carries the
 * failover time this node measured ({@link FailoverTime}), so that the history records it on every
 * member.
 *
 * <p>Its state is guarded by the role's lock ({@link RoleState#lock()}), like the role and
 * activation it reads.
 */
final class ActiveReport {
  private final RoleState state;
  private final Object lock;
  private final RaftNode raft;
  private final MonotonicClock clock;
  private final String selfId;
  private final long renewNanos;
  private final long lostAfterNanos;
  private final Runnable wake;

  // Guarded by lock. soon: the plan has just completed, so the report goes out at the next look;
  // reportedToken: the token last reported.
  private boolean soon;
  private boolean inFlight;
  private long sentAt;
  private long reportedToken;
  // The failover time measured for completedToken's activation (FailoverTime), sent in its report.
  private long completedToken;
  private OptionalLong failoverNanos = OptionalLong.empty();

  /**
   * @param state the role, the activation and the lease; its lock guards this report's state
   * @param lostAfterNanos how long a report may stay unanswered before another is sent (the lease
   *     length)
   * @param wake run when a report is answered, so that the controller looks again
   */
  ActiveReport(
      RoleState state,
      RaftNode raft,
      MonotonicClock clock,
      String selfId,
      long renewNanos,
      long lostAfterNanos,
      Runnable wake) {
    this.state = state;
    this.lock = state.lock();
    this.raft = raft;
    this.clock = clock;
    this.selfId = selfId;
    this.renewNanos = renewNanos;
    this.lostAfterNanos = lostAfterNanos;
    this.wake = wake;
  }

  /** An activation was sent at {@code sent}: no report is in flight for it. Holding the lock. */
  void activationSent(long sent) {
    inFlight = false;
    sentAt = sent;
  }

  /**
   * The promotion plan of {@code token}'s activation has completed: the report goes out at the next
   * look, with the failover time measured for it, if any. Holding the lock.
   */
  void planCompleted(long token, OptionalLong failoverNanos) {
    soon = true;
    completedToken = token;
    this.failoverNanos = failoverNanos;
  }

  /** Sends the report of {@code a} if it is due: once per activation, while ACTIVE. */
  void maybeSend(long now, RoleController.Activation a) {
    OptionalLong failover;
    synchronized (lock) {
      if (!state.isActiveAs(a) || reportedToken == a.token()) {
        return;
      }
      if (inFlight && now - sentAt < lostAfterNanos) {
        return;
      }
      if (!soon && now - sentAt < renewNanos) {
        return;
      }
      inFlight = true;
      soon = false;
      failover = completedToken == a.token() ? failoverNanos : OptionalLong.empty();
    }
    final long sent = clock.nanoTime();
    synchronized (lock) {
      sentAt = sent;
    }
    raft.submitLocal(Commands.leaseRound(selfId, a.term(), a.token(), failover))
        .whenComplete(
            (result, error) -> {
              synchronized (lock) {
                if (sentAt == sent) {
                  inFlight = false;
                }
                if (error == null && result.getApplied() && state.isCurrent(a)) {
                  reportedToken = a.token();
                  state.renewIfHolding(a, sent);
                }
              }
              wake.run();
            });
  }
}
