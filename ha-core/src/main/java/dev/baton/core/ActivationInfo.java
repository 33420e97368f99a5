package dev.baton.core;

import java.util.Optional;

/**
 * What the node tells about one activation of its own, to the application ({@link ActiveContext})
 * and to a plan's steps ({@link StepContext}) alike: its fencing token, this node, the active
 * before it, and whether the lease still holds at this instant.
 *
 * <p>Both views extend this one rather than one extending the other: a step is not handed the
 * application's means of waiting on the role ({@link ActiveContext#ended()}, {@link
 * ActiveContext#checkLease()}), and the application has no phase, attempt or deadline. It is handed
 * out by the node, not an SPI: a method may be added to it.
 */
public interface ActivationInfo {

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
   * that must know where its own effect last landed reads {@link StepContext#lastCompletedToken()}.
   */
  Optional<String> previousActive();

  /**
   * The token of {@link #previousActive()}'s activation, or {@link BatonNode#NO_TOKEN} when it is
   * empty. Below {@link #token()}, and not always the token just before it (abandoned activations
   * in between are passed over).
   */
  long previousToken();

  /**
   * Whether this activation still holds a valid lease at this instant. A step that is about to make
   * a side effect that the fences do not protect should check this first.
   */
  boolean isLeaseValid();
}
