package dev.baton.core.internal;

import dev.baton.core.FailbackPolicy;
import dev.baton.core.Member;
import dev.baton.core.Ticker;
import dev.baton.core.internal.proto.MaintenanceMode;
import io.micrometer.core.instrument.Counter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What failback by priority ({@link FailbackPolicy}) decides for the role controller, on the
 * active's thread, as {@link HealthHandOver} decides a health move: whether the active hands the
 * role to a member with a higher priority now, and to whom. When it does, it asks for the hand-over
 * through the log, as a switch-active does: a switch request naming the member, with reason {@link
 * Commands#FAILBACK}. From there the role controller's planned path carries it out (wait for the
 * target's Raft server, demote, resign with reason {@code FAILBACK}, transfer leadership), the
 * history records the target's activation as a {@code FAILBACK}, and while the request is pending a
 * leader that is not its target passes leadership on instead of activating: a leadership transfer
 * that fails under load does not put a third member through an activation.
 *
 * <p>It is decided on the active because the active is the Raft leader (it demotes the moment it no
 * longer leads its activation's term): only the leader hears from every follower, so only it knows
 * who is up ({@link PeerContact}) and caught up (commit indexes, {@link Switchover#CAUGHT_UP_GAP});
 * and only the active may start the planned path, which must demote before it transfers
 * (docs/lease.md, step 4). Deciding elsewhere would need a request through the log and a second
 * node's view of who is up, which the leader has first-hand.
 *
 * <p>Each look judges every eligible member with a strictly higher priority than the active (as the
 * replicated member list says): in the Raft configuration, answered this leader within {@code
 * electionTimeoutMax}, commit index within {@link Switchover#CAUGHT_UP_GAP} of the leader's, and
 * eligible by its published health record. {@link FailbackHoldDown} keeps the hold-downs. While
 * maintenance mode is on nothing is held and nothing moves.
 */
final class FailbackHandOver {
  private static final Logger LOG = LoggerFactory.getLogger(FailbackHandOver.class);
  private final Counter failbacks;

  private final NodeConfig config;
  private final RaftNode raft;
  private final FailbackPolicy policy;
  private final FailbackHoldDown holdDown;
  private boolean suspended;
  // The failback request last proposed, until it applies or fails: not asked for twice meanwhile.
  private CompletableFuture<?> asking = CompletableFuture.completedFuture(null);

  FailbackHandOver(
      NodeConfig config, RaftNode raft, FailbackPolicy policy, Ticker ticker, Counter failbacks) {
    this.failbacks = failbacks;
    this.config = config;
    this.raft = raft;
    this.policy = policy;
    this.holdDown = new FailbackHoldDown(config.self().id(), policy.holdDown(), ticker);
  }

  /**
   * One look by the active of {@code token}, on the role controller's thread, while no switch
   * request is pending that this node would act on: when a member's hold-down has run out, asks for
   * the role to move to it (a switch request with reason {@code FAILBACK}, proposed by this node),
   * once until that request has applied or failed.
   *
   * @return the member it asked for, or empty when it did not ask now
   */
  Optional<String> askIfDue(long token) {
    if (!policy.enabled() || !asking.isDone()) {
      return Optional.empty();
    }
    Optional<String> target = targetForActive(token);
    target.ifPresent(this::ask);
    return target;
  }

  private void ask(String target) {
    String requestId = UUID.randomUUID().toString();
    String self = config.self().id();
    asking =
        raft.submitLocal(Commands.failbackRequest(target, requestId, self))
            .whenComplete(
                (r, e) -> {
                  if (e != null || !r.getApplied()) {
                    LOG.warn(
                        "{}: failback to {}: the switch request was not written ({}); asking again"
                            + " at the next look",
                        self,
                        target,
                        e != null ? e.toString() : r.getRefusal());
                  }
                });
  }

  private Optional<String> targetForActive(long token) {
    MaintenanceMode m = raft.stateMachine().maintenance();
    if (m.getOn()) {
      if (!suspended) {
        suspended = true;
        holdDown.clear();
        LOG.info(
            "{}: failback suspended: maintenance mode is on; every hold-down starts again once it"
                + " is off",
            config.self().id());
      }
      return Optional.empty();
    }
    if (suspended) {
      suspended = false;
      LOG.info("{}: failback resumed: maintenance mode is off", config.self().id());
    }
    List<Member> members = MemberView.members(config, raft.stateMachine());
    int own = config.self().priority();
    for (Member m2 : members) {
      if (m2.id().equals(config.self().id())) {
        own = m2.priority();
      }
    }
    final int ownPriority = own;
    if (members.stream().noneMatch(x -> x.eligible() && x.priority() > ownPriority)) {
      // The usual case, checked cheaply: nobody to fail back to.
      holdDown.look(token, ownPriority, List.of());
      return Optional.empty();
    }
    if (!raft.isLeader()) {
      return Optional.empty();
    }
    Map<String, PeerContact> contacts = raft.peerContacts();
    Map<String, Long> commits = raft.commitIndexes();
    long ownCommit = commits.getOrDefault(config.self().id(), -1L);
    List<String> inConf = raft.configurationIds();
    BatonStateMachine sm = raft.stateMachine();
    List<FailbackHoldDown.Candidate> seen = new ArrayList<>();
    for (Member c : members) {
      if (!c.eligible() || c.id().equals(config.self().id()) || c.priority() <= ownPriority) {
        continue;
      }
      long revision = sm.localRevision(HealthGate.PREFIX + c.id()).orElse(0);
      seen.add(
          new FailbackHoldDown.Candidate(
              c.id(), c.priority(), notReady(c, contacts, commits, ownCommit, inConf), revision));
    }
    Optional<String> target = holdDown.look(token, ownPriority, seen);
    target.ifPresent(
        t -> {
          failbacks.increment();
          LOG.warn(
              "{}: failback: {} has been up, caught up and healthy for {} ms and has a higher"
                  + " priority; asking for a switch to it (reason FAILBACK) through the planned"
                  + " switch path",
              config.self().id(),
              t,
              policy.holdDown().toMillis());
        });
    return target;
  }

  private String notReady(
      Member c,
      Map<String, PeerContact> contacts,
      Map<String, Long> commits,
      long ownCommit,
      List<String> inConf) {
    if (!inConf.contains(c.id())) {
      return "not in the Raft configuration";
    }
    PeerContact contact = contacts.get(c.id());
    if (contact == null || !contact.up()) {
      return contact == null
          ? "down: no answer to the leader"
          : "down: no answer to the leader for " + contact.sinceLastAnswer().toMillis() + " ms";
    }
    long commit = commits.getOrDefault(c.id(), -1L);
    if (commit < 0 || ownCommit < 0 || ownCommit - commit > Switchover.CAUGHT_UP_GAP) {
      return "behind: commit index " + commit + ", the leader's " + ownCommit;
    }
    Optional<String> unhealthy = HealthGate.publishedIneligibility(raft.stateMachine(), c.id());
    if (unhealthy.isPresent()) {
      return "unhealthy: " + unhealthy.get();
    }
    return "";
  }
}
