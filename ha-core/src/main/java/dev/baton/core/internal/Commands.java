package dev.baton.core.internal;

import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.KvRead;
import dev.baton.core.internal.proto.LeaseRound;
import dev.baton.core.internal.proto.MaintenanceMode;
import dev.baton.core.internal.proto.MembershipDone;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.Resign;
import dev.baton.core.internal.proto.SetMembers;
import dev.baton.core.internal.proto.SwitchRequest;
import java.util.OptionalLong;

/**
 * The one place that makes the entries this node proposes to the log, each stamped with the state
 * machine's {@link BatonStateMachine#FORMAT_VERSION}: an entry without it, or with another, is
 * refused by every member, so no caller may build one by hand.
 */
public final class Commands {
  private Commands() {}

  /** An empty command of this format, for the KV's several kinds of write. */
  static Command.Builder builder() {
    return Command.newBuilder().setFormatVersion(BatonStateMachine.FORMAT_VERSION);
  }

  /**
   * This node, leader in {@code term}, takes the role: the entry's index becomes its token. The
   * entry carries this node's wall clock for the activation history, for people to read; nothing
   * orders or decides by it.
   */
  static Command activate(String nodeId, long term) {
    return builder()
        .setActivate(
            Activate.newBuilder()
                .setNodeId(nodeId)
                .setTerm(term)
                .setProposedAtMs(System.currentTimeMillis()))
        .build();
  }

  /**
   * A lease round: written once per activation, with {@code activeToken}, to report the node ACTIVE
   * (docs/lease.md, step 1: renewal itself comes from heartbeats and writes nothing).
   */
  static Command leaseRound(String nodeId, long term, long activeToken) {
    return leaseRound(nodeId, term, activeToken, OptionalLong.empty());
  }

  /**
   * The report that the node is ACTIVE with {@code activeToken}, carrying the failover time it
   * measured ({@link FailoverTime}), in ns, when it measured one.
   */
  static Command leaseRound(
      String nodeId, long term, long activeToken, OptionalLong failoverNanos) {
    LeaseRound.Builder round =
        LeaseRound.newBuilder().setNodeId(nodeId).setTerm(term).setActiveToken(activeToken);
    failoverNanos.ifPresent(round::setFailoverNanos);
    return builder().setLeaseRound(round).build();
  }

  /** The active with {@code token} gives the role up, for {@code reason}. */
  static Command resign(String nodeId, long token, String reason) {
    return builder()
        .setResign(Resign.newBuilder().setNodeId(nodeId).setToken(token).setReason(reason))
        .build();
  }

  /** An operator's request that {@code targetNodeId} become active. */
  public static Command switchRequest(String targetNodeId, String requestId) {
    return switchRequest(targetNodeId, requestId, "");
  }

  /** {@link SwitchRequest#getReason()} of a failback by priority. */
  static final String FAILBACK = "FAILBACK";

  /**
   * The active {@code requester}'s request that {@code targetNodeId}, a member with a higher
   * priority, become active (failback by priority): a switch request with reason {@link #FAILBACK}.
   */
  static Command failbackRequest(String targetNodeId, String requestId, String requester) {
    return builder()
        .setSwitchRequest(
            SwitchRequest.newBuilder()
                .setTargetNodeId(targetNodeId)
                .setRequestId(requestId)
                .setRequester(requester)
                .setReason(FAILBACK))
        .build();
  }

  /**
   * An operator's request that {@code targetNodeId} become active, received by member {@code
   * requester} (the history names it).
   */
  public static Command switchRequest(String targetNodeId, String requestId, String requester) {
    return builder()
        .setSwitchRequest(
            SwitchRequest.newBuilder()
                .setTargetNodeId(targetNodeId)
                .setRequestId(requestId)
                .setRequester(requester))
        .build();
  }

  /**
   * An operator's request, received by member {@code requester} (from control-API client {@code
   * client}, empty when none is named), to turn maintenance mode on or off. It carries this node's
   * wall clock for people to read; the order of changes is their log index.
   */
  static Command maintenance(boolean on, String reason, String requester, String client) {
    return builder()
        .setMaintenance(
            MaintenanceMode.newBuilder()
                .setOn(on)
                .setReason(reason)
                .setRequester(requester)
                .setClient(client)
                .setProposedAtMs(System.currentTimeMillis()))
        .build();
  }

  /** A promotion or demotion step's outcome (I5). */
  static Command journal(JournalRecord.Builder record) {
    return builder().setJournal(record).build();
  }

  /**
   * A linearizable read, answered when the entry applies: what {@link RaftNode#read} does where the
   * read index cannot serve (a follower, a leader not yet ready or no longer leading).
   */
  static Command kvRead(Query query) {
    return builder().setKvRead(KvRead.newBuilder().setQuery(query)).build();
  }

  /** A membership change for the leader to carry out. */
  static Command membershipRequest(MembershipRequest.Builder request) {
    return builder().setMembershipRequest(request).build();
  }

  /** The leader's record that a membership change is done: the new member records. */
  static Command setMembers(SetMembers.Builder members) {
    return builder().setSetMembers(members).build();
  }

  /** The leader's record that a membership change failed. */
  static Command membershipFailed(String requestId, String error) {
    return builder()
        .setMembershipDone(MembershipDone.newBuilder().setRequestId(requestId).setError(error))
        .build();
  }
}
