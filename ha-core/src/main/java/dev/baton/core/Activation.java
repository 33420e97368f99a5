package dev.baton.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One activation in the cluster's history ({@link Cluster#history()}), as replicated through Raft:
 * every member holds the same records, they survive snapshots and restarts, and the oldest are
 * dropped beyond {@link BatonNode.Builder#historyLimit(int) historyLimit}.
 *
 * <p>Activations are ordered by {@link #token()}, never by {@link #proposedAt()}: that is the wall
 * clock of the node that proposed the activation, shown for people, and two nodes' clocks may
 * disagree by any amount.
 *
 * @param nodeId the node that took the role
 * @param token its fencing token (the activation entry's Raft log index)
 * @param term the Raft term it was won in
 * @param proposedAt the proposer's wall clock when it proposed the activation (empty in entries
 *     written by a release without history)
 * @param reason why the role moved
 * @param requester for {@link Reason#SWITCH_ACTIVE}: the member whose API received the request,
 *     when known
 * @param previousNodeId the active before it, if there was one
 * @param previousToken the previous active's token, {@link BatonNode#NO_TOKEN} for none
 * @param promoted its promotion plan completed and it reported itself ACTIVE
 * @param resigned why its node gave the role up (a {@link StandbyReason} name), if it did; empty
 *     while it holds the role and when it lost the role without resigning (a crash, a lost lease)
 * @param steps the attempts of its promotion steps, in the order they ran
 * @param failoverDuration for a {@link Reason#FAILOVER}: how long the failover took as this node
 *     measured it on its own monotonic clock, from the previous active's lease end (placed from the
 *     last heartbeat it received from that node, plus the lease) to its turning ACTIVE; the figure
 *     of {@code baton_failover_duration_seconds}. Empty when unknown: another reason, a node that
 *     did not follow the previous active (it restarted since), a promotion not completed, or a
 *     record written by a release without the field. Only the new active can measure it, since no
 *     two nodes' clocks compare; it reaches every member with its report that it is ACTIVE. Added
 *     after 0.2.0; the constructor without it remains.
 */
public record Activation(
    String nodeId,
    long token,
    long term,
    Optional<Instant> proposedAt,
    Reason reason,
    Optional<String> requester,
    Optional<String> previousNodeId,
    long previousToken,
    boolean promoted,
    Optional<String> resigned,
    List<Step> steps,
    Optional<Duration> failoverDuration) {

  public Activation {
    steps = List.copyOf(steps);
    failoverDuration = Objects.requireNonNull(failoverDuration, "failoverDuration");
  }

  /**
   * An activation without a failover time: the constructor of releases before {@link
   * #failoverDuration()}, kept so that code that builds one compiles unchanged.
   */
  public Activation(
      String nodeId,
      long token,
      long term,
      Optional<Instant> proposedAt,
      Reason reason,
      Optional<String> requester,
      Optional<String> previousNodeId,
      long previousToken,
      boolean promoted,
      Optional<String> resigned,
      List<Step> steps) {
    this(
        nodeId,
        token,
        term,
        proposedAt,
        reason,
        requester,
        previousNodeId,
        previousToken,
        promoted,
        resigned,
        steps,
        Optional.empty());
  }

  /** Why the role moved to this activation. */
  public enum Reason {
    /** The cluster's first activation. */
    START,
    /**
     * The previous active lost the role without handing it over: it crashed, lost its lease or
     * leadership, was closed (as in a full restart), or its promotion failed.
     */
    FAILOVER,
    /** A planned switch-active or step-down moved the role here. */
    SWITCH_ACTIVE,
    /** The previous active's health checks failed and it handed the role over. */
    HEALTH,
    /**
     * Failback by priority moved the role here: read from the previous active's resignation with
     * reason {@code FAILBACK} ({@link FailbackPolicy}).
     */
    FAILBACK,
    /**
     * A value this client does not know: a newer member sent it. A client reads it as this rather
     * than failing, as the control API asks of every client (COMPATIBILITY.md); Baton never records
     * it.
     */
    UNKNOWN
  }

  /**
   * One attempt of a promotion step.
   *
   * @param name the step's name
   * @param attempt the attempt number, from 1
   * @param outcome STARTED while it has no outcome recorded (it is running, or its node stopped),
   *     else COMPLETED or FAILED
   * @param duration from its start to its outcome, measured on the node that ran it; empty while it
   *     has no outcome
   * @param error the error of a failed attempt
   */
  public record Step(
      String name,
      int attempt,
      JournalEntry.Outcome outcome,
      Optional<Duration> duration,
      Optional<String> error) {}
}
