package dev.baton.core;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * One activation of this node: its fencing token and a way to ask, at the moment of a side effect,
 * whether it still holds the role.
 *
 * <p>The lease check is only as good as the clock-rate bound it was built on; a pause between the
 * check and the effect can outlive the lease. For effects on shared resources, carry {@link
 * #token()} to a {@link Fence} that checks it: that holds regardless of timing.
 */
public interface ActiveContext {

  /** The fencing token of this activation: greater than every token issued before it. */
  long token();

  /** The id of this node. */
  String nodeId();

  /**
   * The node that was active before this activation: the newest earlier activation that completed
   * its promotion (its plan finished and it reported itself ACTIVE; {@link Activation#promoted()}
   * in {@link Cluster#history()}). An activation whose plan was abandoned, or that lost the role
   * before its plan finished, is passed over: it never became active. That node may be this one (it
   * held the role, lost it and won it back).
   *
   * <p>Empty when no activation before this one completed (this is the cluster's first, or every
   * earlier one was abandoned). When the activation history no longer reaches back far enough to
   * tell (it keeps the newest {@link BatonNode.Builder#historyLimit(int) historyLimit} records, and
   * a member upgraded from a release without it starts with none), it is the activation just before
   * this one, completed or not, as earlier releases named it.
   *
   * <p>It is what the cluster recorded, not what was done outside it: an abandoned plan may still
   * have made some of its steps' effects (a step that completed before a later one failed). A step
   * that must know where its own effect last landed reads {@link
   * ActionContext#lastCompletedToken()}.
   */
  Optional<String> previousActive();

  /**
   * The token of {@link #previousActive()}'s activation, or {@link BatonNode#NO_TOKEN} when it is
   * empty. Below {@link #token()}, and not always the token just before it (abandoned activations
   * in between are passed over).
   */
  long previousToken();

  /** Whether this activation still holds a valid lease at this instant. */
  boolean isLeaseValid();

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
