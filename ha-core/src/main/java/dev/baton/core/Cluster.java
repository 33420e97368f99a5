package dev.baton.core;

import java.time.Duration;
import java.util.List;

/**
 * What is cluster-wide rather than one node's, asked through any node: {@link BatonNode#cluster()}.
 * Moving the role between nodes ({@link #switchActive}, {@link #stepDown}), the members ({@link
 * #members}, {@link #addMember}, {@link #removeMember}), the cluster's maintenance mode, and the
 * replicated records of what happened ({@link #history()}, {@link #journal()}). Every member holds
 * the same of each once caught up, and any member may be asked to change them: each change goes
 * through Raft.
 *
 * <p>What stays on {@link BatonNode}: this node's lifecycle, role, token, lease and listeners, its
 * {@link BatonNode#status() status}, the {@link BatonNode#kv() KV store} and its {@link
 * BatonNode#watch watch}, and {@link BatonNode#resign()}, which only the active itself may ask.
 *
 * <p>The reads ({@link #members()}, {@link #maintenance()}, {@link #history()}, {@link #journal()})
 * are local: as the node asked has applied the log, not linearizable. Every method throws {@link
 * IllegalStateException} while the node asked is not started yet. Handed out by the node, not an
 * SPI: implementing it yourself gives you no node.
 */
public interface Cluster {

  /**
   * Planned switchover: moves the role to {@code targetNodeId}. The current active demotes
   * (listeners hear onStandby, demotion actions run) <em>before</em> it hands Raft leadership over,
   * and the target then activates with a higher token and runs its promotion plan. Any node may be
   * asked. Returns once the target is active: its plan has completed and it has said so through
   * Raft (one entry, written once its plan completes), so when this returns the writer has moved.
   *
   * <p>A target that is not ready yet (restarted a moment ago: its Raft server keeps quiet for
   * {@code electionTimeoutMin}, then has to catch up on what was written while it was down) is
   * waited for, not refused: the active stays active, its lease renewed as usual, until the target
   * has answered it and holds every entry the active had when it saw the request, at most {@code 2
   * × electionTimeoutMax}, and only then demotes and hands leadership over, in one transfer.
   * Waiting is what a rolling restart needs (restart a node, switch to it, restart the old one),
   * and it costs no availability, since the role does not move until the target can take it; a
   * refusal would only make the caller retry. A target still silent after that bound is handed the
   * role anyway, as before (the transfer then fails and a new election picks the next active).
   *
   * @return the target's new token
   * @throws IllegalArgumentException if the target is not a member or may not become active
   * @throws SwitchActiveFailedException if the target won the role but gave it up again before it
   *     became active (a required promotion step failed); it names the step and its error
   * @throws BatonTimeoutException if the switch did not complete within {@code timeout}
   */
  long switchActive(String targetNodeId, Duration timeout);

  /**
   * Step-down: moves the role from the active to the best peer without naming it (an eligible
   * member other than the active, healthy by its published checks, with the highest priority),
   * through the planned path of {@link #switchActive}. Any node may be asked; asked of the Raft
   * leader (the active is), it also passes over peers that are down or behind, as {@link
   * BatonNode#resign(Duration)} does. The active itself calls {@link BatonNode#resign()}.
   *
   * @return the node that took the role and its new token
   * @throws IllegalStateException if no node is active, or no other member may take the role (each
   *     member passed over is named with why)
   * @throws SwitchActiveFailedException if the chosen peer's promotion failed
   * @throws BatonTimeoutException if the hand-over did not complete within {@code timeout}
   */
  Handover stepDown(Duration timeout);

  /** The members as the cluster knows them (as the node asked has applied them). */
  List<Member> members();

  /**
   * Adds a voter or witness while the cluster runs. Start the new node first, built with {@link
   * BatonNode.Builder#joining(boolean) joining(true)} and the full new member list; this call then
   * makes the cluster include it (Raft catches it up before it counts in the majority).
   */
  void addMember(Member member);

  /**
   * Removes a member while the cluster runs. The active node cannot be removed: switch the role
   * away from it first.
   */
  void removeMember(String memberId);

  /**
   * The cluster's maintenance mode as the node asked has applied it ({@link Maintenance#NEVER_SET}
   * when no one ever set it). Local, not linearizable: a member that is behind may not show the
   * newest change yet; every member holds the same once caught up.
   */
  Maintenance maintenance();

  /**
   * Turns the cluster's maintenance mode on or off, as Patroni's {@code pause} / {@code resume} do,
   * but with a different rule for a dead active; see {@link Maintenance} for exactly what it
   * suspends (role moves for health) and what it does not (a planned switch-active or resign, the
   * replacement of an active that died). Any node may be asked; the change goes through Raft, is
   * kept in snapshots and survives a full restart. Turning it on when it is on replaces the reason
   * (and who set it, and when); turning it off when it is off changes nothing but those. It is not
   * an activation: the {@link #history() history} does not record it.
   *
   * <p>Returns once the change is committed and, within the {@link
   * BatonNode.Builder#operationTimeout(Duration) operation timeout}, applied on the node asked, so
   * that {@link #maintenance()} there shows it.
   *
   * @param on true to turn maintenance mode on, false to turn it off
   * @param reason why, for people reading status and logs (may be empty); one line, at most {@link
   *     Maintenance#MAX_REASON_LENGTH} characters
   * @return the state the change made, with the node asked as {@code setBy} and its wall clock as
   *     {@code setAt}
   * @throws IllegalArgumentException if {@code reason} is too long or holds a control character;
   *     nothing changed
   * @throws BatonTimeoutException if no leader committed the change within the operation timeout
   *     (it may still commit later)
   */
  Maintenance maintenance(boolean on, String reason);

  /**
   * The activation history as the node asked has applied it, oldest first, in token order: who took
   * the role, with which token, why, and how each promotion step went. Every member holds the same
   * records (they are replicated through Raft, kept in snapshots, and survive restarts); the newest
   * {@link BatonNode.Builder#historyLimit(int) historyLimit} are kept. Local, not linearizable: a
   * member that is behind may not have the newest yet.
   */
  List<Activation> history();

  /**
   * The promotion journal as the node asked has applied it (the most recent records, oldest first):
   * every step's start, completion and failure, for every activation.
   */
  List<JournalEntry> journal();
}
