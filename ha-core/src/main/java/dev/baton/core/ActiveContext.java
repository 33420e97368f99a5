package dev.baton.core;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * One activation of this node: its fencing token and a way to ask, at the moment of a side effect,
 * whether it still holds the role.
 *
 * <p>The lease check is only as good as the clock-rate bound it was built on; a pause between the
 * check and the effect can outlive the lease. For effects on shared resources, carry {@link
 * #token()} to a {@link Fence} that checks it: that holds regardless of timing.
 *
 * <p>Its token, node, previous active and lease check are those of {@link ActivationInfo}, which a
 * plan step's {@link StepContext} shares.
 */
public interface ActiveContext extends ActivationInfo {

  /** How much of the lease remains at this instant (zero when it has ended). */
  Duration leaseRemaining();

  /**
   * Returns normally if the lease is valid now.
   *
   * @throws NotActiveException naming the token, when this activation is over
   */
  void checkLease();

  /**
   * Completes when this activation is over, with the reason the node gave the role up: the same
   * reason, at the same moment, as {@link RoleListener#onStandby(StandbyReason)}, which is before
   * the lease ends whenever the node can notice (like etcd's {@code Session.Done()}). Once it has
   * completed, {@link #isLeaseValid()} is false; the converse need not hold for a moment, since the
   * lease can end (a pause, leadership lost) before the node notices.
   *
   * <p>It completes on a thread that is not the node's own, so what is chained on it cannot delay
   * the demotion. A process that dies or is paused past its lease never completes it: that is what
   * a {@link Fence} is for. The stage is read-only.
   */
  CompletionStage<StandbyReason> ended();
}
