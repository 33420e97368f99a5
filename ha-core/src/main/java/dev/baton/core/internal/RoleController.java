package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.Role;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.server.DivisionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, on every node, whether this node is active, and keeps that belief safe.
 *
 * <p>The rules (docs/lease.md is the argument; the step numbers refer to it):
 *
 * <ol>
 *   <li>Only an eligible Raft leader activates, by committing an {@code Activate} entry in its own
 *       term; the entry's log index is the activation's token (invariant I1).
 *   <li>The lease runs from the local monotonic time at which a round was <em>sent</em> that a
 *       majority then acknowledged: the activation entry itself (a committed entry proves that a
 *       majority appended it after the send), then Ratis's AppendEntries rounds (heartbeats), which
 *       this node asks for every {@code renewInterval} and which a majority acknowledged with
 *       SUCCESS in the activation's term (step 1). Renewal writes no log entry.
 *   <li>{@link RoleState#isActive()} is a pure function of the role and the lease expiry, evaluated
 *       at the instant it is asked: no thread has to run for the belief to end on time (step 5).
 *   <li>With less than {@code demotionReserve} left and no renewal, the node demotes: listeners
 *       hear {@code onStandby} and demotion actions run before the lease ends (step 5).
 *   <li>Before handing leadership to another node (switch-active, close), the node demotes and
 *       stops believing, because a transfer skips pre-vote (step 4).
 * </ol>
 *
 * <p>The lease arithmetic is {@link Lease}, the application's listeners are {@link RoleListeners},
 * the switch-active attempts and the term bar are {@link SwitchBookkeeping}, the ways leadership is
 * passed on (to a peer, to a target, by stepping down, each rate-limited) and the backoff after a
 * failed promotion are {@link LeadershipHandOff}, what health gating decides (activate or not, hand
 * over for health or not) is {@link HealthHandOver}, whether the active fails back to a member with
 * a higher priority is {@link FailbackHandOver}, the context an activation hands out is {@link
 * ActivationContext} (its end, {@link EndSignal}), when and of whom heartbeats are asked is {@link
 * HeartbeatAsks}, the entry that reports an activation ACTIVE is {@link ActiveReport}, the
 * activation's entry is proposed and read back by {@link ActivationProposal}, when a committed
 * activation takes the role (only with margin) is {@link MarginWait}, the pending switch request is
 * carried out by {@link PendingSwitch} (whether its target is ready: {@link
 * SwitchTargetReadiness}), whether the active hands the role on at a step is {@link
 * ActiveHandOver}, what a Raft leader that holds no role does is {@link LeaderWithoutRole}, the
 * thread, its wake-ups and its tick are {@link RoleLoop}, and the entries it proposes come from
 * {@link Commands}.
 *
 * <p>The role's state (the role, the current activation and its token, its end signal with the
 * reason the role was given up, the lease) and the reads the application makes of it ({@link
 * RoleState#isActive()}, {@link RoleState#activeContext()}, …) are {@link RoleState}; its lock is
 * the lock of every transition here, each holding it over the same span as before the state was cut
 * out. What stays here is the transitions (activate, take, renew, demote, hand over, close) and the
 * step that chooses among them, which share that lock and one thread.
 *
 * <p>Size: about 470 lines, 320 of them code; the rest is this map and the Javadoc that ties each
 * transition to its step of docs/lease.md. The transitions are kept together on purpose: each holds
 * the same lock in the same order, and reading them side by side is how that order is checked.
 */
public final class RoleController {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);
  // Why a PROMOTING or ACTIVE node has a current activation (for requireNonNull).
  private static final String WITH_ACTIVATION =
      "PROMOTING and ACTIVE are entered only with an activation (RoleState.promoting), and the"
          + " current activation is never cleared";

  /** One activation of this node. */
  public record Activation(
      long token, long term, Optional<String> previousActive, long previousToken) {}

  private final NodeConfig config;
  private final RaftNode raft;
  private final MonotonicClock clock;
  private final PlanRunner plan;
  private final NodeMetrics metrics;
  private final Lease lease;
  private final long renewNanos;
  private final long reserveNanos;

  // The role, the activation, its end signal and the lease, with the reads made of them; its lock
  // is the lock of every transition here (RoleState's header says what it guards).
  private final RoleState state;
  private final Object lock;
  private final RoleLoop loop;
  private final RoleListeners listeners = new RoleListeners();
  private final LeadershipHandOff handOff;
  private final HealthHandOver healthHandOver;
  private final HeartbeatAsks asks;
  private final ActiveReport report;
  private final ActiveHandOver activeHandOver;
  private final LeaderWithoutRole leaderWithoutRole;
  private final MarginWait margin;
  private final ActivationProposal proposal;
  // How long a ready leader's activation may fail to commit before it hands leadership on.
  private final long activationGiveUpNanos;
  private final FailoverTime failoverTime;

  // Guarded by lock (or only touched by the controller thread).
  private long notBefore;
  private volatile boolean closing;

  public RoleController(
      NodeConfig config,
      RaftNode raft,
      MonotonicClock clock,
      PlanRunner plan,
      NodeMetrics metrics,
      HealthGate health,
      FailbackHandOver failback) {
    this.config = config;
    this.raft = raft;
    this.clock = clock;
    this.plan = plan;
    this.metrics = metrics;
    this.lease = new Lease(clock, config.timing().lease());
    this.state = new RoleState(config.self().id(), config.self().eligible(), raft, lease);
    this.lock = state.lock();
    SwitchBookkeeping switches = new SwitchBookkeeping(config.self().id());
    this.handOff = new LeadershipHandOff(config, raft, switches, clock.nanoTime());
    this.healthHandOver =
        new HealthHandOver(health, handOff, () -> raft.stateMachine().maintenance());
    this.renewNanos = config.timing().renewInterval().toNanos();
    this.reserveNanos = config.timing().demotionReserve().toNanos();
    this.proposal =
        new ActivationProposal(
            config.self().id(), raft, config.timing().electionTimeoutMin(), clock);
    this.activationGiveUpNanos = config.timing().electionTimeoutMax().multipliedBy(4).toNanos();
    this.margin =
        new MarginWait(
            config.self().id(), raft, clock, lease.lengthNanos(), reserveNanos, renewNanos);
    this.loop = new RoleLoop(config, this::step, this::busy);
    PendingSwitch pendingSwitch = new PendingSwitch(config, raft, switches, renewNanos);
    this.activeHandOver = new ActiveHandOver(pendingSwitch, healthHandOver, failback);
    this.leaderWithoutRole =
        new LeaderWithoutRole(
            config.self().id(),
            config.timing().electionTimeoutMax().multipliedBy(2).toNanos(),
            config.self().eligible(),
            pendingSwitch,
            switches,
            handOff,
            healthHandOver);
    this.asks =
        new HeartbeatAsks(raft, renewNanos, TimeUnit.MILLISECONDS.toNanos(loop.tickMillis()));
    this.report =
        new ActiveReport(
            state, raft, clock, config.self().id(), renewNanos, lease.lengthNanos(), loop::wake);
    this.failoverTime = new FailoverTime(config.self().id(), raft.stateMachine(), lease, metrics);
    this.notBefore = clock.nanoTime();
    raft.stateMachine().addLeaderChangeListener(loop::wake);
    raft.stateMachine().addObserver((command, result, index, term) -> loop.wake());
  }

  public void start() {
    loop.start();
  }

  /** The role, the activation and the lease, and the reads the node makes of them. */
  public RoleState state() {
    return state;
  }

  public void addListener(RoleListener listener, Executor executor) {
    synchronized (lock) {
      Activation a = state.current();
      listeners.add(listener, executor, state.isActive() && a != null ? state.context(a) : null);
    }
  }

  public void removeListener(RoleListener listener) {
    listeners.remove(listener);
  }

  // ---------------------------------------------------------------- the step, run by RoleLoop

  /**
   * Whether the loop must tick every {@code tickMillis}: while this node holds the role, is between
   * roles, closes or leads ({@link RoleLoop}: a follower that holds no role is woken by events).
   */
  private boolean busy() {
    Role r = state.held();
    if (r == Role.ACTIVE || r == Role.PROMOTING || r == Role.DEMOTING || closing) {
      return true;
    }
    return raft.isLeader();
  }

  private void step() {
    final long now = clock.nanoTime();
    final DivisionInfo info;
    try {
      info = raft.info();
    } catch (RuntimeException e) {
      return;
    }
    final boolean leader = info.isLeader();
    final long term = info.getCurrentTerm();
    metrics.term(term);
    final Role r = state.held();

    if (r == Role.ACTIVE || r == Role.PROMOTING) {
      Activation a = Objects.requireNonNull(state.current(), WITH_ACTIVATION);
      if (!leader || term != a.term()) {
        demote(StandbyReason.LEADERSHIP_LOST);
        return;
      }
      // Renew first from the heartbeats already acknowledged (step 1), then judge what is left:
      // a lease that a majority's acknowledgement has already extended is not given up.
      renewFromHeartbeats(a);
      if (lease.endsWithin(now, reserveNanos)) {
        demote(StandbyReason.LEASE_EXPIRING);
        return;
      }
      // Only the active hands the role on (a switch, health, failback: ActiveHandOver).
      Optional<PendingSwitch.HandOver> due =
          r == Role.ACTIVE ? activeHandOver.due(now, a) : Optional.empty();
      if (due.isPresent()) {
        handOver(due.get().target(), due.get().reason());
        return;
      }
      maybeRenew(now, a);
      return;
    }
    if (margin.isWaiting()) {
      margin.step(leader, term, closing || !loop.running()).ifPresent(this::take);
      return;
    }
    if (r == Role.DEMOTING || !leader || closing) {
      if (r == Role.STANDBY && !leader) {
        leaderWithoutRole.following(info);
        healthHandOver.notLeading();
        failoverTime.following(info, now);
      }
      return;
    }
    // A Raft leader that holds no role: activate, or pass leadership on.
    leaderWithoutRole.step(
        info,
        now,
        now - notBefore < 0,
        h -> handOver(h.target(), h.reason()),
        fallback -> activate(term, fallback));
  }

  private void activate(long term, HealthHandOver.Fallback fallback) {
    // The lease can start no earlier than the reading taken before the entry was handed to Ratis
    // (step 1), which the proposal returns with the activation.
    Optional<ActivationProposal.Committed> committed = proposal.propose(term);
    if (committed.isEmpty()) {
      giveUpIfActivationStuck(term);
      return;
    }
    Activation a = committed.get().activation();
    healthHandOver.activated(a.token(), fallback);
    margin.committed(a, committed.get().sent()).ifPresent(this::take);
  }

  /**
   * A ready leader whose activation has not committed for four times the maximum election timeout
   * (4.8 s by default; a commit under heavy load takes a second or two) does not sit on leadership:
   * while it leads and heartbeats, no other node is elected, so the cluster would have no active
   * for as long as its append path stays stuck (issue 33's stuck switch). It bars the term (no
   * activation in it, as after any hand-on: step 4 of docs/lease.md) and hands leadership to an
   * eligible peer; if none takes it, the bar makes it step down at the next step, and the next
   * activation, by any node, is in a newer term.
   */
  private void giveUpIfActivationStuck(long term) {
    long now = clock.nanoTime();
    long failing = proposal.failingFor(term, now);
    if (failing < activationGiveUpNanos) {
      return;
    }
    LOG.warn(
        "{}: the activation in term {} has not committed in {} ms (handed to Ratis {} times):"
            + " handing leadership on instead of holding it without the role",
        config.self().id(),
        term,
        TimeUnit.NANOSECONDS.toMillis(failing),
        proposal.submissions());
    proposal.gaveUp();
    handOff.barCurrentTerm();
    handOff.toAnyPeer();
    loop.wake();
  }

  /**
   * Takes the role of the committed activation that {@link MarginWait} lets through, with a lease
   * running from its start (a send time a majority acknowledged in the activation's term), and
   * starts its promotion plan.
   */
  private void take(MarginWait.Take t) {
    Activation a = t.activation();
    synchronized (lock) {
      if (closing || !loop.running()) {
        return;
      }
      lease.start(t.start());
      asks.activationSent(t.start());
      report.activationSent(t.start());
      state.promoting(a);
    }
    // The previous active as the activation's context names it: the last one that completed its
    // promotion (an abandoned activation in between is passed over), as listeners and steps see.
    ActiveContext context = state.context(a);
    Optional<String> previous = context.previousActive();
    metrics.activated(a.token(), previous.filter(p -> !p.equals(config.self().id())).isPresent());
    LOG.info(
        "{}: won the role in term {} with token {} (previous active: {} token {}); {} ms of lease"
            + " left{}",
        config.self().id(),
        a.term(),
        a.token(),
        previous.orElse("none"),
        context.previousToken(),
        TimeUnit.NANOSECONDS.toMillis(lease.remaining().toNanos()),
        t.waitedNanos() > 0
            ? ", after waiting " + TimeUnit.NANOSECONDS.toMillis(t.waitedNanos()) + " ms for margin"
            : "");
    plan.promote(a, context, ok -> promotionFinished(a, ok));
  }

  private void promotionFinished(Activation a, boolean ok) {
    if (!ok) {
      if (demoteIfCurrent(a, StandbyReason.PROMOTION_FAILED)) {
        // This node backs off; the loop hands leadership to a peer so that another node can try
        // now (LeadershipHandOff.maybeToAnyPeerWhileBackingOff). If no transfer succeeds, this node
        // does not take the role again in this term.
        handOff.barCurrentTerm();
        loop.wake();
      }
      return;
    }
    OptionalLong failover = failoverTime.measure(a.token(), clock.nanoTime());
    synchronized (lock) {
      if (state.current() != a || state.held() != Role.PROMOTING) {
        return;
      }
      state.role(Role.ACTIVE);
      lock.notifyAll();
      if (!state.isActive()) {
        // The lease lapsed while the plan ran; the next step demotes.
        loop.wake();
        return;
      }
      LOG.info("{}: ACTIVE with token {}", config.self().id(), a.token());
      report.planCompleted(a.token(), failover);
      loop.wake();
      listeners.active(state.context(a));
    }
    metrics.role(Role.ACTIVE);
    failoverTime.record(failover);
  }

  /**
   * Step 1 of docs/lease.md, from Ratis's heartbeats: the lease is renewed to the latest send time
   * of an AppendEntries round that a majority (this node included) acknowledged with SUCCESS in the
   * activation's term ({@link RaftNode#majorityAckedSendTime(long)}), and this node asks Ratis for
   * such a round every {@code renewInterval} ({@link RaftNode#triggerHeartbeats()}). No log entry
   * is written for renewal; the only {@code LeaseRound} entry of an activation is the one that
   * reports it ACTIVE ({@link ActiveReport}).
   */
  private void maybeRenew(long now, Activation a) {
    // The renewal itself ran at the top of the step (renewFromHeartbeats); here the next round is
    // asked for (HeartbeatAsks) and the activation reported.
    asks.maybeAsk(now, a.term());
    report.maybeSend(now, a);
  }

  private void renewFromHeartbeats(Activation a) {
    OptionalLong acked = raft.majorityAckedSendTime(a.term());
    if (acked.isPresent()) {
      synchronized (lock) {
        state.renewIfHolding(a, acked.getAsLong());
      }
    }
  }

  private boolean demoteIfCurrent(Activation a, StandbyReason reason) {
    synchronized (lock) {
      if (state.current() != a || (state.held() != Role.ACTIVE && state.held() != Role.PROMOTING)) {
        return false;
      }
    }
    demote(reason);
    return true;
  }

  /**
   * Gives the role up: from here {@link RoleState#isActive()} is false, listeners hear onStandby,
   * and the demotion actions run bounded by what is left of the lease.
   *
   * @return the resignation entry's write (completes when it has applied on this node), or a
   *     completed future when none is written
   */
  private CompletableFuture<?> demote(StandbyReason reason) {
    final Activation a;
    final CompletableFuture<StandbyReason> ended;
    synchronized (lock) {
      Role r = state.held();
      if (r != Role.ACTIVE && r != Role.PROMOTING) {
        return CompletableFuture.completedFuture(null);
      }
      a = Objects.requireNonNull(state.current(), WITH_ACTIVATION);
      ended = state.endSignal().ended();
      state.role(Role.DEMOTING);
      lock.notifyAll();
      listeners.standby(reason);
    }
    // Off this thread and outside the lock: what an application chains on it cannot delay the
    // demotion that follows.
    ended.completeAsync(() -> reason);
    long deadline = lease.end();
    LOG.info(
        "{}: giving up the role (token {}): {}; {} ms of lease left",
        config.self().id(),
        a.token(),
        reason,
        Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - clock.nanoTime())));
    metrics.role(Role.DEMOTING);
    plan.demote(a, state.context(a), deadline, reason);
    synchronized (lock) {
      state.role(Role.STANDBY);
      if (reason == StandbyReason.PROMOTION_FAILED) {
        handOff.backoffStarted(clock.nanoTime());
      }
      lock.notifyAll();
    }
    metrics.role(Role.STANDBY);
    if (reason != StandbyReason.LEADERSHIP_LOST) {
      return raft.submitLocal(Commands.resign(config.self().id(), a.token(), reason.name()));
    }
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Demotes, then hands Raft leadership to {@code target} (switch-active, health hand-over, a
   * failback), once the resignation entry has applied here ({@link #awaitResignation}).
   */
  private void handOver(String target, StandbyReason reason) {
    CompletableFuture<?> resigned = demote(reason);
    handOff.barCurrentTerm();
    awaitResignation(resigned, target);
    Duration transferTimeout = config.timing().electionTimeoutMax().multipliedBy(2);
    synchronized (lock) {
      // Do not take the role back while the transfer is under way.
      notBefore = clock.nanoTime() + transferTimeout.toNanos();
    }
    handOff.toTarget(target, transferTimeout);
  }

  /**
   * Waits (at most {@code electionTimeoutMax}) until the resignation entry that {@link #demote}
   * wrote has applied on this node, so that it is in the log before the transfer starts. Ratis's
   * transfer sends the target StartLeaderElection with the leader's last entry as it is at that
   * moment, and the target's election skips pre-vote but not the log check: an entry appended after
   * that moment (the resignation, submitted asynchronously a moment before) reached the other
   * voters but not the target, so both refused its votes ("our last entry … > candidate's last
   * entry"), the transfer timed out after {@code 2 × electionTimeoutMax} and the switch was tried
   * again (issue 33: four of twenty switches in the README's bench, 3.2–3.7 s write gaps). Once the
   * entry has applied here, Ratis's transfer waits until the target holds it too.
   */
  private void awaitResignation(CompletableFuture<?> resigned, String target) {
    Duration bound = config.timing().electionTimeoutMax();
    try {
      resigned.get(bound.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn(
          "{}: the resignation did not apply within {} ms ({}); handing leadership to {} anyway",
          config.self().id(),
          bound.toMillis(),
          e instanceof TimeoutException ? "timed out" : e.getCause(),
          target);
    }
  }

  // ---------------------------------------------------------------- shutdown

  /** Graceful: gives the role up and hands leadership to an eligible peer, then stops the loop. */
  public void close() {
    boolean wasHolding;
    // One lock: an activation sets PROMOTING under it after checking closing, so either it sees
    // closing and stops, or this sees the role it took and demotes it.
    synchronized (lock) {
      closing = true;
      Role r = state.held();
      wasHolding = r == Role.ACTIVE || r == Role.PROMOTING;
    }
    if (wasHolding) {
      awaitResignation(demote(StandbyReason.CLOSING), "an eligible peer");
    }
    handOff.toAnyPeer();
    stopLoop();
    synchronized (lock) {
      state.role(Role.STOPPED);
      lock.notifyAll();
    }
  }

  /** Stops the loop without demoting: the in-memory belief is frozen as a crash would leave it. */
  public void crash() {
    stopLoop();
  }

  private void stopLoop() {
    loop.stop();
    plan.shutdown();
  }
}
