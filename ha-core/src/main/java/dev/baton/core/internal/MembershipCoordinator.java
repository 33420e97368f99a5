package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.BatonTimeoutException;
import dev.baton.core.Member;
import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.MemberRecord;
import dev.baton.core.internal.proto.MembershipOutcome;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.SetMembers;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership changes without the Raft admin service: any member writes a {@code MembershipRequest}
 * through the log (as switch-active does), and the leader carries it out in-process: it changes the
 * Raft configuration, then records the new member list with the request's id. A leader that loses
 * leadership half-way leaves the request pending; the next leader finds it in the replicated state
 * and finishes it (changing the configuration to what it already is succeeds at once). A failure is
 * recorded too, so the requester hears it.
 *
 * <p>So the admin service can be refused to every caller on the network (RaftPortGuard) and Baton's
 * member list and Raft's configuration change together, through one path.
 */
public final class MembershipCoordinator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipCoordinator.class);
  // The longest the requester's wait goes without looking, when no entry applies (a snapshot).
  private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final NodeConfig config;
  private final RaftNode raft;
  private final ScheduledExecutorService executor;
  private final AtomicBoolean queued = new AtomicBoolean();
  private volatile String inFlight = "";

  public MembershipCoordinator(NodeConfig config, RaftNode raft) {
    this.config = config;
    this.raft = raft;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-membership-" + config.self().id());
              t.setDaemon(true);
              return t;
            });
  }

  public void start() {
    BatonStateMachine sm = raft.stateMachine();
    sm.addLeaderChangeListener(this::kick);
    sm.addObserver(
        (command, result, index, term) -> {
          if (command.hasMembershipRequest() && result.getApplied()) {
            kick();
          }
        });
    // A safety net for a request whose kick was lost (the leader was not ready yet, say).
    executor.scheduleWithFixedDelay(this::kick, 1, 1, TimeUnit.SECONDS);
  }

  /** How long the leader may take to change the configuration (a new member must catch up). */
  private Duration changeTimeout() {
    return config.operationTimeout().multipliedBy(3);
  }

  /**
   * Adds {@code member} to {@code current} (the members as this node knows them), refusing an id or
   * an address that is already a member's.
   */
  public void add(List<Member> current, Member member) {
    for (Member m : current) {
      if (m.id().equals(member.id())) {
        throw new IllegalArgumentException("add member: '" + member.id() + "' is already a member");
      }
      if (m.address().equals(member.address())) {
        throw new IllegalArgumentException(
            "add member: address " + member.address() + " is already used by member " + m.id());
      }
    }
    List<Member> next = new ArrayList<>(current);
    next.add(member);
    change(next, "add " + member.id());
    LOG.info("membership change done: add {}", member.id());
  }

  /**
   * Removes {@code memberId} from {@code current}, refusing the active node (by the newest {@code
   * activation}) and a removal that would leave no member that may become active.
   */
  public void remove(List<Member> current, ActivationRecord activation, String memberId) {
    if (current.stream().noneMatch(m -> m.id().equals(memberId))) {
      throw new IllegalArgumentException("remove member: '" + memberId + "' is not a member");
    }
    if (activation.getNodeId().equals(memberId) && !activation.getResigned()) {
      throw new IllegalArgumentException(
          "remove member: '"
              + memberId
              + "' is the active node (token "
              + activation.getToken()
              + "); switch-active to another node first");
    }
    List<Member> next = current.stream().filter(m -> !m.id().equals(memberId)).toList();
    if (next.stream().noneMatch(Member::eligible)) {
      throw new IllegalArgumentException(
          "remove member: removing '"
              + memberId
              + "' would leave no member that may become active");
    }
    change(next, "remove " + memberId);
    LOG.info("membership change done: remove {}", memberId);
  }

  /**
   * Makes {@code next} the cluster's members, from any node: returns once the leader has changed
   * the Raft configuration and this node has applied the new member list.
   *
   * @throws IllegalArgumentException if the cluster refused the request (another change is under
   *     way, or the members changed meanwhile)
   * @throws BatonException if the leader could not change the configuration
   * @throws BatonTimeoutException if it did not finish in time
   */
  public void change(List<Member> next, String what) {
    BatonStateMachine sm = raft.stateMachine();
    String requestId = UUID.randomUUID().toString();
    MembershipRequest.Builder request =
        MembershipRequest.newBuilder()
            .setRequestId(requestId)
            .setDescription(what)
            .setBaseMembersIndex(sm.membersIndex());
    next.forEach(m -> request.addMembers(MemberView.toRecord(m)));
    CommandResult r = raft.write(Commands.membershipRequest(request));
    if (!r.getApplied()) {
      throw new IllegalArgumentException("membership change (" + what + "): " + r.getRefusal());
    }
    Duration timeout = changeTimeout().multipliedBy(2).plus(config.operationTimeout());
    long deadline = System.nanoTime() + timeout.toNanos();
    // Woken by every entry this node applies, instead of polling every 10 ms: the outcome is
    // recorded only through the log (SetMembers or MembershipFailed). Registered before the first
    // look, so an outcome applied after it wakes the wait; the bounded wait still notices a state
    // installed from a snapshot, which applies no entry (as Switchover's wait does).
    Semaphore applied = new Semaphore(0);
    BatonStateMachine.Observer wake = (command, result, index, term) -> applied.release();
    sm.addObserver(wake);
    try {
      while (System.nanoTime() - deadline < 0) {
        Optional<MembershipOutcome> outcome = sm.membershipOutcome(requestId);
        if (outcome.isPresent()) {
          if (!outcome.get().getOk()) {
            throw new BatonException(
                "membership change (" + what + ") failed: " + outcome.get().getError());
          }
          if (!outcome.get().getWarning().isEmpty()) {
            // Made, but not yet safe to build on: the caller must hear it, not only the leader's
            // log.
            throw new BatonTimeoutException(
                "membership change (" + what + "): " + outcome.get().getWarning());
          }
          return;
        }
        long left = deadline - System.nanoTime();
        if (left > 0 && applied.tryAcquire(Math.min(left, RECHECK_NANOS), TimeUnit.NANOSECONDS)) {
          applied.drainPermits();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("membership change (" + what + "): interrupted", e);
    } finally {
      sm.removeObserver(wake);
    }
    throw new BatonTimeoutException(
        "membership change ("
            + what
            + ") did not complete within "
            + timeout.toMillis()
            + " ms; it stays pending until the leader finishes or fails it");
  }

  private void kick() {
    if (queued.compareAndSet(false, true)) {
      try {
        executor.execute(
            () -> {
              queued.set(false);
              try {
                carryOut();
              } catch (RuntimeException e) {
                LOG.warn("{}: membership coordinator step failed", config.self().id(), e);
              }
            });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        queued.set(false);
      }
    }
  }

  /** On the leader: carries out the pending request, if there is one. */
  private void carryOut() {
    if (!raft.isLeaderReady()) {
      return;
    }
    MembershipRequest pending = raft.stateMachine().pendingMembership();
    if (pending.getRequestId().isEmpty() || pending.getRequestId().equals(inFlight)) {
      return;
    }
    inFlight = pending.getRequestId();
    try {
      List<Member> target = new ArrayList<>();
      for (MemberRecord r : pending.getMembersList()) {
        target.add(MemberView.fromRecord(r));
      }
      LOG.info(
          "{}: changing the Raft configuration ({}) to {}",
          config.self().id(),
          pending.getDescription(),
          target.stream().map(Member::id).toList());
      List<String> before = raft.configurationIds();
      String error = null;
      long retryUntil = System.nanoTime() + changeTimeout().toNanos();
      for (int attempt = 1; ; attempt++) {
        try {
          raft.setConfigurationLocal(target, changeTimeout());
          error = null;
          break;
        } catch (IOException e) {
          error = e.getMessage();
          if (!raft.isLeader()) {
            // The next leader finds the request pending and carries it out.
            LOG.info(
                "{}: lost leadership while changing the configuration ({}): {}",
                config.self().id(),
                pending.getDescription(),
                error);
            return;
          }
          if (String.valueOf(error).contains("Found duplicated element")
              // the same exception again, its message dropped by the JVM after many throws
              || String.valueOf(error).endsWith("java.lang.IllegalStateException")) {
            // Ratis 3.3 keeps a log appender for a peer removed while leadership changed during
            // the removal's joint consensus; adding that peer back then fails at once, every time,
            // in this leader term (seen in the Jepsen-style suite's membership fault). A new term
            // starts with appenders for the current configuration only: step down and leave the
            // request pending for the next leader, this node included.
            LOG.warn(
                "{}: {}: Raft refused it ({}); stepping down so that the next leader carries it out",
                config.self().id(),
                pending.getDescription(),
                error);
            try {
              raft.stepDown(changeTimeout());
            } catch (IOException stepDown) {
              LOG.info("{}: step-down failed: {}", config.self().id(), stepDown.getMessage());
            }
            return;
          }
          if (String.valueOf(error).contains("NOPROGRESS") && retryUntil - System.nanoTime() > 0) {
            // Ratis gives up staging a new member that has not answered for two of its maximum
            // timeouts. A joiner that was just started (a cold JVM, its quiet period, its first TLS
            // handshake) can take that long to answer its first append; give it until the change
            // timeout before reporting the add as failed.
            LOG.info(
                "{}: {} did not answer yet while being added ({}); staging it again",
                config.self().id(),
                pending.getDescription(),
                error);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
            continue;
          }
          if (attempt >= 5 || !String.valueOf(error).contains("in progress")) {
            break;
          }
          // The previous leader's change is still being committed: wait for it.
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(300L * attempt));
        }
      }
      if (error != null && !mayRecordFailure(target, pending.getDescription(), error)) {
        return;
      }
      if (error != null && sameVoters(raft.configurationIds(), target)) {
        // The call failed, but Raft's configuration is the target: the change was made.
        LOG.info(
            "{}: {}: the call failed ({}), yet the Raft configuration is already {}; recording it",
            config.self().id(),
            pending.getDescription(),
            error,
            raft.configurationIds());
        error = null;
      }
      String warning = "";
      if (error == null) {
        warning = awaitNewVoters(target, before, pending.getDescription());
      }
      Command done;
      if (error == null) {
        done =
            Commands.setMembers(
                SetMembers.newBuilder()
                    .addAllMembers(pending.getMembersList())
                    .setRequestId(pending.getRequestId())
                    .setWarning(warning));
      } else {
        LOG.warn(
            "{}: membership change ({}) failed: {}",
            config.self().id(),
            pending.getDescription(),
            error);
        done = Commands.membershipFailed(pending.getRequestId(), error);
      }
      try {
        CommandResult r =
            raft.submitLocal(done).get(config.operationTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (r.getApplied() && error == null) {
          LOG.info("{}: membership change done: {}", config.self().id(), pending.getDescription());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        // Leadership moved before it committed; the next leader finishes the request.
        LOG.info(
            "{}: could not record the end of membership change ({}): {}",
            config.self().id(),
            pending.getDescription(),
            e.toString());
      }
    } finally {
      inFlight = "";
    }
  }

  /**
   * Whether a failed configuration change may be recorded as failed (or found done): not while this
   * node is closing (its coordinator thread was interrupted: the next leader carries the request
   * out), and not while Raft's configuration is joint. A joint configuration is in the log, and
   * Raft finishes it whatever became of the call; recording the request as failed then left Baton's
   * member list and Raft's configuration apart for good (a removed member still listed, and refused
   * as "already a member" when added back). The request stays pending and is carried out again on
   * the next kick, once the configuration is stable.
   */
  private boolean mayRecordFailure(List<Member> target, String what, String error) {
    if (Thread.currentThread().isInterrupted()) {
      LOG.info("{}: closing during membership change ({}): {}", config.self().id(), what, error);
      return false;
    }
    if (raft.configurationInTransition()) {
      LOG.info(
          "{}: membership change ({}) to {}: the call failed ({}), but the change is in the Raft log"
              + " and Raft finishes it; checking again once it has",
          config.self().id(),
          what,
          target.stream().map(Member::id).toList(),
          error);
      return false;
    }
    return true;
  }

  private static boolean sameVoters(List<String> configuration, List<Member> target) {
    return new java.util.HashSet<>(configuration)
        .equals(target.stream().map(Member::id).collect(java.util.stream.Collectors.toSet()));
  }

  /**
   * Ratis commits a configuration that adds a voter on a majority that may not include it, and its
   * catch-up check lets a new member in up to a thousand entries behind. Until the new member holds
   * the configuration entry it does not know it is a voter: it answers no vote, yet counts in the
   * majority. An operator who adds a node and then removes or loses another (a replacement is add,
   * then remove) would be left without a quorum. So the change is reported done only once every new
   * voter has reported a commit index at or past the configuration entry. When one has not within
   * the change timeout, the change is still recorded (Raft's configuration has the member), and the
   * caller is told through the returned warning: the add fails with a {@link BatonTimeoutException}
   * that names the member, so an operator does not remove another one next.
   *
   * @return empty when every new voter confirmed (or this node no longer leads); else the warning
   */
  private String awaitNewVoters(List<Member> target, List<String> before, String what) {
    List<String> added =
        target.stream().map(Member::id).filter(id -> !before.contains(id)).toList();
    if (added.isEmpty()) {
      return "";
    }
    long confIndex = raft.configurationIndex();
    long deadline = System.nanoTime() + changeTimeout().toNanos();
    List<String> behind = added;
    while (raft.isLeader()) {
      Map<String, Long> commits = raft.commitIndexes();
      behind = added.stream().filter(id -> commits.getOrDefault(id, -1L) < confIndex).toList();
      if (behind.isEmpty()) {
        LOG.info(
            "{}: new voter(s) {} hold the configuration entry (index {}) and vote",
            config.self().id(),
            added,
            confIndex);
        return "";
      }
      if (System.nanoTime() - deadline >= 0) {
        break;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    if (raft.isLeader()) {
      LOG.warn(
          "{}: membership change ({}): {} did not confirm the new configuration (index {}) within"
              + " {} ms; until it does it counts in the majority but cannot vote, so do not stop"
              + " or remove another member yet",
          config.self().id(),
          what,
          behind,
          confIndex,
          changeTimeout().toMillis());
      return String.join(", ", behind)
          + " is in the Raft configuration and the member list now, but did not confirm the new"
          + " configuration (index "
          + confIndex
          + ") within "
          + changeTimeout().toMillis()
          + " ms: until it does it counts in the majority but cannot vote, so do not stop or"
          + " remove another member until it has caught up with the leader (check its log and its"
          + " link to the leader)";
    }
    return "";
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
