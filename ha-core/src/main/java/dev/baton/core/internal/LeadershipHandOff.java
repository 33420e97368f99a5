package dev.baton.core.internal;

import dev.baton.core.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a leader that must not activate passes Raft leadership on: to an eligible peer (a witness, a
 * node backing off after a failed promotion, an unhealthy node, a graceful close), to a named
 * target (switch-active, a health hand-over), or by stepping down. Each way is rate-limited so that
 * a leader that keeps failing to hand over does not start a storm of elections.
 *
 * <p>Before any transfer the caller bars activation in the current term ({@link #barCurrentTerm}):
 * a transfer's late StartLeaderElection skips pre-vote (docs/lease.md step 4), so the role is taken
 * again, by anyone, only in a newer term. Used by the role controller's thread (and by close).
 */
final class LeadershipHandOff {
  private static final Logger LOG = LoggerFactory.getLogger(LeadershipHandOff.class);

  private final NodeConfig config;
  private final RaftNode raft;
  private final SwitchBookkeeping switches;
  private final long minGap;

  private long lastToAnyPeer;
  private long lastStepDown;
  private long lastUnhealthy;
  private long lastWhileBackingOff;
  private long backingOffGap;
  // After a failed promotion: no activation before backoffUntil, and while leader meanwhile,
  // leadership is offered to an eligible peer (maybeToAnyPeerWhileBackingOff).
  private long backoffUntil;
  // The last hand-off of leadership for this node's health: its term, and the highest token then
  // (-1: none since this node was last eligible).
  private long unhealthyHandOffTerm = -1;
  private long unhealthyHandOffToken;

  LeadershipHandOff(NodeConfig config, RaftNode raft, SwitchBookkeeping switches, long now) {
    this.config = config;
    this.raft = raft;
    this.switches = switches;
    this.minGap = config.timing().electionTimeoutMin().toNanos();
    this.lastToAnyPeer = now - minGap;
    this.lastStepDown = now - minGap;
    this.lastUnhealthy = now - minGap;
    this.backoffUntil = now;
  }

  /** Records that this node is about to hand the role on in its current term. */
  void barCurrentTerm() {
    long term;
    try {
      term = raft.info().getCurrentTerm();
    } catch (RuntimeException e) {
      return;
    }
    switches.barActivationUpTo(term);
  }

  /**
   * Transfers leadership to the best eligible peer that takes it.
   *
   * @return whether a peer took leadership (false too when this node is not leader)
   */
  boolean toAnyPeer() {
    try {
      if (!raft.info().isLeader()) {
        return false;
      }
    } catch (RuntimeException e) {
      return false;
    }
    for (Member m : eligiblePeers()) {
      try {
        LOG.info("{}: handing leadership to {}", id(), m.id());
        raft.transferLeadership(m.id(), config.timing().electionTimeoutMax());
        return true;
      } catch (Exception e) {
        LOG.debug("{}: hand-off to {} failed: {}", id(), m.id(), e.toString());
      }
    }
    return false;
  }

  /**
   * A witness or never-activate leader hands leadership to an eligible peer, at most once per
   * minimum election timeout.
   */
  void maybeToAnyPeer(long now) {
    if (now - lastToAnyPeer < minGap) {
      return;
    }
    lastToAnyPeer = now;
    toAnyPeer();
  }

  /** Transfers leadership to {@code target}, logging a failure (switch-active, health). */
  void toTarget(String target, Duration timeout) {
    try {
      LOG.info("{}: handing leadership to {}", id(), target);
      raft.transferLeadership(target, timeout);
    } catch (Exception e) {
      LOG.warn("{}: leadership transfer to {} failed: {}", id(), target, e.toString());
    }
  }

  /**
   * A failed promotion starts a backoff of {@code failureBackoff}: the next offer of leadership
   * goes out at once.
   */
  void backoffStarted(long now) {
    backoffUntil = now + config.failureBackoff().toNanos();
    lastWhileBackingOff = now;
    backingOffGap = 0;
  }

  /** Whether a failed promotion's backoff still runs: no activation until it ends. */
  boolean backingOff(long now) {
    return now - backoffUntil < 0;
  }

  /**
   * A leader backing off after its promotion failed does not sit on leadership: an eligible peer
   * could take the role now. Its first hand-over can find no peer able to take leadership (down, or
   * the transfer timed out under load); it tries again, at gaps that double from electionTimeoutMax
   * up to four times that, so that nodes that all fail to promote pass leadership around slowly
   * rather than in a storm of elections.
   */
  void maybeToAnyPeerWhileBackingOff(long now, boolean leaderReady) {
    if (!leaderReady || now - lastWhileBackingOff < backingOffGap) {
      return;
    }
    lastWhileBackingOff = now;
    long max = config.timing().electionTimeoutMax().toNanos();
    backingOffGap = backingOffGap == 0 ? max : Math.min(backingOffGap * 2, 4 * max);
    if (!toAnyPeer()) {
      LOG.info(
          "{}: backing off after a failed promotion; no eligible peer took leadership, trying"
              + " again in {} ms",
          id(),
          TimeUnit.NANOSECONDS.toMillis(backingOffGap));
    }
  }

  /**
   * Effect (a) of health gating: an unhealthy leader that is not active hands leadership to a
   * healthy peer instead of activating. The term is barred first, so if the transfer fails this
   * node steps down and the next activation, by anyone, is in a newer term.
   */
  void maybeUnhealthyTo(long now, String target, String downReasons) {
    if (now - lastUnhealthy < minGap) {
      return;
    }
    lastUnhealthy = now;
    barCurrentTerm();
    try {
      unhealthyHandOffTerm = raft.info().getCurrentTerm();
      unhealthyHandOffToken = raft.stateMachine().highestToken();
    } catch (RuntimeException e) {
      unhealthyHandOffTerm = -1;
    }
    try {
      LOG.info(
          "{}: unhealthy ({}): not activating; handing leadership to {}",
          id(),
          downReasons,
          target);
      raft.transferLeadership(target, config.timing().electionTimeoutMax());
    } catch (Exception e) {
      LOG.info("{}: leadership transfer to {} failed: {}", id(), target, e.toString());
    }
  }

  /**
   * Whether leadership came back, in a term after this node handed it on for its health, with no
   * activation anywhere in between: the peer it was handed to did not take the role either (its
   * health record lagged behind its checks, or it fell sick too), so passing it on again would only
   * go round. The caller then activates although unhealthy: an active is better than none, and as
   * an active it still hands the role to a healthy peer (at most once per minMoveInterval).
   */
  boolean unhealthyHandOffCameBack(long term) {
    return unhealthyHandOffTerm >= 0
        && term > unhealthyHandOffTerm
        && raft.stateMachine().highestToken() == unhealthyHandOffToken;
  }

  /** This node is eligible again (or activated): a later hand-off for health starts afresh. */
  void forgetUnhealthyHandOff() {
    unhealthyHandOffTerm = -1;
  }

  /**
   * A leader that tried to hand the role on in this term steps down rather than activating in it,
   * so that the role is taken, by this node or another, only in a new term.
   */
  void maybeStepDown(long now, long term) {
    if (now - lastStepDown < minGap) {
      return;
    }
    lastStepDown = now;
    LOG.info(
        "{}: tried to hand the role on in term {}; stepping down instead of activating in it",
        id(),
        term);
    try {
      raft.stepDown(config.timing().electionTimeoutMax());
    } catch (Exception e) {
      LOG.warn("{}: step-down in term {} failed: {}", id(), term, e.toString());
    }
  }

  /** Eligible members other than this node that are in the Raft configuration, best first. */
  List<Member> eligiblePeers() {
    List<String> inConf = raft.configurationIds();
    List<Member> out = new ArrayList<>();
    for (Member m : MemberView.members(config, raft.stateMachine())) {
      if (m.eligible() && !m.id().equals(config.self().id()) && inConf.contains(m.id())) {
        out.add(m);
      }
    }
    out.sort(Comparator.comparingInt(Member::priority).reversed());
    return out;
  }

  private String id() {
    return config.self().id();
  }
}
