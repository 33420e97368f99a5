package dev.baton.core.internal;

import dev.baton.core.internal.proto.SwitchRequest;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.ratis.server.DivisionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a Raft leader that holds no role does at a step of the role controller: hand leadership to a
 * pending switch's target ({@link PendingSwitch}), pass it to any peer when this node is not
 * eligible or backs off after a failed promotion ({@link LeadershipHandOff}), wait while it is not
 * ready or its own transfer is under way, ask health gating whether it may activate ({@link
 * HealthHandOver}), step down in a term in which it tried to hand the role on (the term bar of
 * {@link SwitchBookkeeping}, step 4 of docs/lease.md), and otherwise activate. It only decides;
 * activating and handing over are {@link RoleController}'s transitions, which it is handed. Used
 * only by the controller's thread.
 */
final class LeaderWithoutRole {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final String selfId;
  private final long notReadyWarnNanos;
  private final boolean eligible;
  private final PendingSwitch pendingSwitch;
  private final SwitchBookkeeping switches;
  private final LeadershipHandOff handOff;
  private final HealthHandOver healthHandOver;

  // The id of the pending switch request whose target this node has seen lead ("" if none).
  private String targetLedFor = "";
  // The term in which this leader was first seen not ready, since when, and whether it was said.
  private long notReadyTerm = -1;
  private long notReadySince;
  private boolean notReadyWarned;

  /**
   * @param notReadyWarnNanos after this long as a leader that is not ready (its first entry of the
   *     term not applied here), one WARN says so: a leader normally gets ready within a round trip,
   *     and until then it neither activates nor hands over, silently otherwise
   */
  LeaderWithoutRole(
      String selfId,
      long notReadyWarnNanos,
      boolean eligible,
      PendingSwitch pendingSwitch,
      SwitchBookkeeping switches,
      LeadershipHandOff handOff,
      HealthHandOver healthHandOver) {
    this.selfId = selfId;
    this.notReadyWarnNanos = notReadyWarnNanos;
    this.eligible = eligible;
    this.pendingSwitch = pendingSwitch;
    this.switches = switches;
    this.handOff = handOff;
    this.healthHandOver = healthHandOver;
  }

  /**
   * One step of this node as a Raft leader (ready or not) that holds no role and does not close.
   *
   * @param transferUnderWay whether a transfer this node started may still be under way (its
   *     time-out has not passed): it neither transfers again nor activates before that
   * @param handOver carries out a switch's hand-over (demote, bar the term, transfer)
   * @param activate activates on the ground health gating gave
   */
  void step(
      DivisionInfo info,
      long now,
      boolean transferUnderWay,
      Consumer<PendingSwitch.HandOver> handOver,
      Consumer<HealthHandOver.Fallback> activate) {
    final long term = info.getCurrentTerm();
    watchReadiness(info, term, now);
    SwitchRequest pending = pendingSwitch.read();
    if (pendingSwitch.open(pending) && pending.getRequestId().equals(targetLedFor)) {
      // The target led after the request and leadership is here now, with the request still open:
      // the target did not take the role (its activation did not commit, its health held it
      // back, it lost leadership). Handing leadership back would only go round until the
      // attempts run out, with no active meanwhile: this node gives the switch up and may
      // activate itself.
      LOG.warn(
          "{}: giving up the switch to {}: it led the cluster after the request and did not take"
              + " the role",
          selfId,
          pending.getTargetNodeId());
      switches.abandon(pending);
    }
    if (pendingSwitch.open(pending)) {
      // A switch is pending and this leader is not active: hand leadership to the target rather
      // than activate only to hand it over again. Ratis refuses a transfer from a leader that is
      // not ready yet (its first entry of the term not committed): wait for that, and for the
      // previous transfer's time-out, without counting an attempt.
      if (!info.isLeaderReady() || transferUnderWay) {
        return;
      }
      Optional<PendingSwitch.HandOver> toTarget = pendingSwitch.forLeader(pending);
      if (toTarget.isPresent()) {
        handOver.accept(toTarget.get());
        return;
      }
    }
    if (!eligible) {
      handOff.maybeToAnyPeer(now);
      return;
    }
    if (handOff.backingOff(now)) {
      handOff.maybeToAnyPeerWhileBackingOff(now, info.isLeaderReady());
      return;
    }
    if (!info.isLeaderReady() || transferUnderWay) {
      return;
    }
    Optional<HealthHandOver.Fallback> fallback = healthHandOver.beforeActivating(now, term);
    if (fallback.isEmpty()) {
      return;
    }
    if (switches.activationBarred(term)) {
      handOff.maybeStepDown(now, term);
      return;
    }
    activate.accept(fallback.get());
  }

  /**
   * A step of this node as a follower: notes whether the leader it follows is the target of the
   * pending switch, so that it does not hand leadership back to a target that let it go ({@link
   * #step}).
   */
  void following(DivisionInfo info) {
    SwitchRequest pending = pendingSwitch.read();
    if (!pending.getTargetNodeId().isEmpty()
        && pending.getTargetNodeId().equals(String.valueOf(info.getLeaderId()))) {
      targetLedFor = pending.getRequestId();
    }
  }

  private void watchReadiness(DivisionInfo info, long term, long now) {
    if (info.isLeaderReady()) {
      if (notReadyTerm == term && notReadyWarned) {
        LOG.info(
            "{}: Raft leader of term {} is ready after {} ms",
            selfId,
            term,
            TimeUnit.NANOSECONDS.toMillis(now - notReadySince));
      }
      notReadyTerm = -1;
      return;
    }
    if (notReadyTerm != term) {
      notReadyTerm = term;
      notReadySince = now;
      notReadyWarned = false;
      return;
    }
    if (!notReadyWarned && now - notReadySince >= notReadyWarnNanos) {
      notReadyWarned = true;
      LOG.warn(
          "{}: Raft leader of term {} for {} ms but not ready: the term's first entry has not"
              + " applied here (applied index {}); it neither activates nor hands over until it"
              + " has",
          selfId,
          term,
          TimeUnit.NANOSECONDS.toMillis(now - notReadySince),
          info.getLastAppliedIndex());
    }
  }
}
