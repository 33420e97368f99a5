package dev.baton.core.internal;

import static java.util.concurrent.TimeUnit.NANOSECONDS;

import dev.baton.core.BatonException;
import dev.baton.core.BatonTimeoutException;
import dev.baton.core.Handover;
import dev.baton.core.JournalEntry;
import dev.baton.core.Member;
import dev.baton.core.StepContext;
import dev.baton.core.SwitchActiveFailedException;
import dev.baton.core.internal.proto.ActivationRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A planned switch-over as any node asks for it ({@code Cluster.switchActive}): checks the target,
 * writes the switch request through Raft, and waits, woken by every applied entry, until the target
 * is active (its plan completed), has given the role up (the switch failed, naming the step), or
 * the time is up. The active's side (demote, then hand leadership over) is in the role controller.
 */
public final class Switchover {
  private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
  private static final long RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  /**
   * How far behind the leader's commit index a peer may be and still count as caught up for a
   * step-down: Ratis's own catch-up gap for a new member ({@code raft.server.staging.catchup.gap},
   * default 1000). The leadership transfer itself sends the rest before the peer is asked to run.
   */
  static final long CAUGHT_UP_GAP = 1000;

  private final NodeConfig config;
  private final RaftNode raft;
  private final BatonStateMachine stateMachine;

  public Switchover(NodeConfig config, RaftNode raft, BatonStateMachine stateMachine) {
    this.config = config;
    this.raft = raft;
    this.stateMachine = stateMachine;
  }

  /**
   * Moves the role to {@code targetNodeId}; see {@code Cluster.switchActive}.
   *
   * @param members the members as this node knows them
   * @param journal reads the promotion journal, to name the step of a failed switch
   */
  public long switchActive(
      List<Member> members,
      Supplier<List<JournalEntry>> journal,
      String targetNodeId,
      Duration timeout) {
    Member target =
        members.stream()
            .filter(m -> m.id().equals(targetNodeId))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "switch-active: '"
                            + targetNodeId
                            + "' is not a member of cluster "
                            + config.clusterId()));
    if (!target.eligible()) {
      throw new IllegalArgumentException(
          "switch-active: member '"
              + targetNodeId
              + "' may never become active ("
              + (target.witness() ? "witness" : "noActivate")
              + ")");
    }
    // A target whose own health checks hold it back would win leadership, decline the role and
    // hand it on: refuse at once, saying why, instead of timing out.
    Optional<String> unhealthy = HealthGate.publishedIneligibility(stateMachine, targetNodeId);
    if (unhealthy.isPresent()) {
      throw new IllegalArgumentException(
          "switch-active: member '"
              + targetNodeId
              + "' is unhealthy and would not activate ("
              + unhealthy.get()
              + "); repair it or choose a healthy member");
    }
    long before = stateMachine.highestToken();
    ActivationRecord now = stateMachine.activation();
    if (now.getNodeId().equals(targetNodeId) && !now.getResigned()) {
      return now.getToken();
    }
    String requestId = UUID.randomUUID().toString();
    // Woken by every entry this node applies, instead of polling: the activation record changes
    // only through the log. The bounded wait still notices a state installed from a snapshot,
    // which applies no entry.
    Semaphore applied = new Semaphore(0);
    BatonStateMachine.Observer wake = (command, result, index, term) -> applied.release();
    stateMachine.addObserver(wake);
    try {
      raft.write(Commands.switchRequest(targetNodeId, requestId, config.self().id()));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        ActivationRecord a = stateMachine.activation();
        if (a.getNodeId().equals(targetNodeId) && a.getToken() > before) {
          if (a.getPromoted() && !a.getResigned()) {
            LOG.info(
                "switch-active: {} is active with token {} (its promotion plan completed)",
                targetNodeId,
                a.getToken());
            return a.getToken();
          }
          if (a.getResigned()) {
            throw failedSwitch(journal, targetNodeId, a.getToken());
          }
        } else if (a.getToken() > before) {
          // Another node holds the newest activation. If the target won the role first, its plan
          // failed and it gave the role up, this node may have applied "target gave up" and "the
          // other node won" in one batch and never seen the target's activation resigned: the
          // journal still says so.
          Optional<Long> gaveUp = promotionFailedAfter(journal, targetNodeId, before);
          if (gaveUp.isPresent()) {
            throw failedSwitch(journal, targetNodeId, gaveUp.get());
          }
        }
        long left = deadline - System.nanoTime();
        if (left > 0 && applied.tryAcquire(Math.min(left, RECHECK_NANOS), NANOSECONDS)) {
          applied.drainPermits();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("switch-active to " + targetNodeId + ": interrupted", e);
    } finally {
      stateMachine.removeObserver(wake);
    }
    ActivationRecord a = stateMachine.activation();
    throw new BatonTimeoutException(
        "switch-active to "
            + targetNodeId
            + " did not complete within "
            + timeout.toMillis()
            + " ms; the newest activation is "
            + (a.getNodeId().isEmpty()
                ? "none"
                : a.getNodeId()
                    + " with token "
                    + a.getToken()
                    + (a.getResigned()
                        ? " (given up)"
                        : a.getPromoted() ? " (active)" : " (promotion plan still running)")));
  }

  /**
   * Step-down: moves the role from the active to the best peer, through the same planned path as a
   * switch-active.
   *
   * <p>A peer may take the role when it is an eligible member (not a witness, not {@code
   * noActivate}), in the current Raft configuration, and its published health lets it activate
   * (health gating's records; a member without a record counts as healthy). When this node is the
   * Raft leader (the active is, so {@code BatonNode.resign()} always is), it also knows which peers
   * are up and caught up, and passes over a peer that has not answered it within the maximum
   * election timeout (a transfer to it would time out) and one whose reported commit index is more
   * than {@link #CAUGHT_UP_GAP} entries behind its own. A node that does not lead cannot see that
   * and judges by membership and health only. Of the peers left, the one with the highest {@code
   * priority} wins, then the one with the highest commit index (as the leader knows it), then the
   * member list's order.
   *
   * @return the node that took the role and its token
   * @throws IllegalStateException if no node is active, or no peer may take the role; the message
   *     names each member passed over and why
   */
  public Handover stepDown(
      List<Member> members, Supplier<List<JournalEntry>> journal, Duration timeout) {
    ActivationRecord now = stateMachine.activation();
    if (now.getNodeId().isEmpty() || now.getResigned()) {
      throw new IllegalStateException(
          "step-down: no node is active in cluster "
              + config.clusterId()
              + "; nothing to hand over");
    }
    String active = now.getNodeId();
    boolean leading = raft.isLeader();
    Map<String, PeerContact> contacts = leading ? raft.peerContacts() : Map.of();
    Map<String, Long> commits = leading ? raft.commitIndexes() : Map.of();
    long ownCommit = commits.getOrDefault(config.self().id(), -1L);
    List<String> inConf = raft.configurationIds();
    List<Member> candidates = new ArrayList<>();
    List<String> passedOver = new ArrayList<>();
    for (Member m : members) {
      if (m.id().equals(active)) {
        continue;
      }
      if (!m.eligible()) {
        passedOver.add(m.id() + " (" + (m.witness() ? "witness" : "noActivate") + ")");
        continue;
      }
      if (!inConf.isEmpty() && !inConf.contains(m.id())) {
        passedOver.add(m.id() + " (not in the Raft configuration)");
        continue;
      }
      Optional<String> unhealthy = HealthGate.publishedIneligibility(stateMachine, m.id());
      if (unhealthy.isPresent()) {
        passedOver.add(m.id() + " (unhealthy: " + unhealthy.get() + ")");
        continue;
      }
      if (leading && !m.id().equals(config.self().id())) {
        PeerContact contact = contacts.get(m.id());
        if (contact == null || !contact.up()) {
          passedOver.add(
              m.id()
                  + " (down: "
                  + (contact == null
                      ? "no answer"
                      : "no answer for " + contact.sinceLastAnswer().toMillis() + " ms")
                  + " to the leader "
                  + config.self().id()
                  + ")");
          continue;
        }
        long commit = commits.getOrDefault(m.id(), -1L);
        if (ownCommit >= 0 && ownCommit - commit > CAUGHT_UP_GAP) {
          passedOver.add(
              m.id() + " (behind: commit index " + commit + ", the leader's " + ownCommit + ")");
          continue;
        }
      }
      candidates.add(m);
    }
    if (candidates.isEmpty()) {
      throw new IllegalStateException(
          "step-down: no member other than the active "
              + active
              + " may take the role"
              + (passedOver.isEmpty() ? "" : ": " + String.join(", ", passedOver))
              + "; the active stays");
    }
    // Stable: equal priority and commit index keep the member list's order.
    candidates.sort(
        Comparator.comparingInt(Member::priority)
            .thenComparingLong(m -> commits.getOrDefault(m.id(), -1L))
            .reversed());
    Member best = candidates.get(0);
    LOG.info(
        "step-down: handing the role from {} to {}{}",
        active,
        best.id(),
        passedOver.isEmpty() ? "" : " (passed over: " + String.join(", ", passedOver) + ")");
    long token = switchActive(members, journal, best.id(), timeout);
    return new Handover(best.id(), token);
  }

  /** The token of {@code nodeId}'s newest failed promotion above {@code before}, if any. */
  private static Optional<Long> promotionFailedAfter(
      Supplier<List<JournalEntry>> journal, String nodeId, long before) {
    Optional<Long> token = Optional.empty();
    for (JournalEntry e : journal.get()) {
      if (e.nodeId().equals(nodeId)
          && e.token() > before
          && e.phase() == StepContext.Phase.PROMOTE
          && e.outcome() == JournalEntry.Outcome.FAILED) {
        token = Optional.of(e.token());
      }
    }
    return token;
  }

  /** The failure of a switch whose target resigned, with the failed step from the journal. */
  private static SwitchActiveFailedException failedSwitch(
      Supplier<List<JournalEntry>> journal, String nodeId, long token) {
    JournalEntry failed = null;
    for (JournalEntry e : journal.get()) {
      if (e.nodeId().equals(nodeId)
          && e.token() == token
          && e.phase() == StepContext.Phase.PROMOTE
          && e.outcome() == JournalEntry.Outcome.FAILED) {
        failed = e;
      }
    }
    return failed == null
        ? new SwitchActiveFailedException(nodeId, token, null, null)
        : new SwitchActiveFailedException(
            nodeId, token, failed.step(), failed.error().orElse(null));
  }
}
