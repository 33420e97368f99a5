package dev.baton.core.internal;

import dev.baton.core.internal.proto.SwitchRequest;

/**
 * What the role controller remembers about handing the role on: how many times it has tried the
 * pending switch-active request, and the term in which it last tried to hand the role on at all.
 *
 * <p>Attempts: a request targets another node until that node's activation clears it; a transfer
 * that failed (the target was slow to catch up, an election collided) is tried again, up to {@link
 * #MAX_SWITCH_ATTEMPTS} times per request and node; only attempts made while this node was a ready
 * leader count. Only the controller's thread touches them.
 *
 * <p>The term bar: a node that tried to hand the role on (a switch-active, a failed promotion) in a
 * term never activates again in that term. A StartLeaderElection sent by that transfer can still
 * arrive late, and a target elected through it skips pre-vote (docs/lease.md, step 4), so a lease
 * taken in the same term would not be protected. It steps down instead, and activates in a later
 * term if it wins again. The bar is set from any thread and read by the controller's.
 */
final class SwitchBookkeeping {
  static final int MAX_SWITCH_ATTEMPTS = 5;

  private final String selfId;
  private String switchRequestId = "";
  private int switchAttempts;
  private long noActivationUpToTerm = -1;

  SwitchBookkeeping(String selfId) {
    this.selfId = selfId;
  }

  /** Whether to act on {@code pending} now; if so, counts the attempt. */
  boolean take(SwitchRequest pending) {
    if (!open(pending)) {
      return false;
    }
    switchAttempts++;
    return true;
  }

  /** Whether a pending request targets another node and has attempts left on this node. */
  boolean open(SwitchRequest pending) {
    if (pending.getTargetNodeId().isEmpty() || pending.getTargetNodeId().equals(selfId)) {
      return false;
    }
    if (!pending.getRequestId().equals(switchRequestId)) {
      switchRequestId = pending.getRequestId();
      switchAttempts = 0;
    }
    return switchAttempts < MAX_SWITCH_ATTEMPTS;
  }

  /**
   * No more attempts on {@code pending} from this node: its target led the cluster and gave
   * leadership up without taking the role ({@link LeaderWithoutRole}).
   */
  void abandon(SwitchRequest pending) {
    if (open(pending)) {
      switchAttempts = MAX_SWITCH_ATTEMPTS;
    }
  }

  /** Records that this node is about to hand the role on in {@code term}. */
  synchronized void barActivationUpTo(long term) {
    if (term > noActivationUpToTerm) {
      noActivationUpToTerm = term;
    }
  }

  /** Whether this node tried to hand the role on in {@code term} (or a later one). */
  synchronized boolean activationBarred(long term) {
    return term <= noActivationUpToTerm;
  }
}
