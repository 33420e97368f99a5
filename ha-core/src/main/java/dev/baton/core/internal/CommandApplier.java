package dev.baton.core.internal;

import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.KvCas;
import dev.baton.core.internal.proto.KvEntryProto;
import dev.baton.core.internal.proto.LeaseRound;
import dev.baton.core.internal.proto.MaintenanceMode;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.QueryResult;
import dev.baton.core.internal.proto.SwitchRequest;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commands to state changes: what each kind of log entry does to the {@link ReplicatedState}. The
 * tokens (I1) are made here: an activation's token is its entry's log index. Called by {@link
 * BatonStateMachine#applyTransaction} under the state machine's lock, once per committed entry of a
 * format this code reads, in log order on Ratis's apply thread.
 */
final class CommandApplier {
  private static final Logger LOG = LoggerFactory.getLogger(CommandApplier.class);

  private final ReplicatedState state;
  private final KvWatches watches;
  private final AtomicLong membershipVersion;

  CommandApplier(ReplicatedState state, KvWatches watches, AtomicLong membershipVersion) {
    this.state = state;
    this.watches = watches;
    this.membershipVersion = membershipVersion;
  }

  /**
   * Applies {@code command}, the entry at {@code index} appended in {@code term}, and returns its
   * result; watch deliveries it causes are added to {@code events}, to run after the lock.
   */
  CommandResult apply(Command command, long index, long term, List<Runnable> events) {
    switch (command.getKindCase()) {
      case ACTIVATE -> {
        var a = command.getActivate();
        // The proposer names the term it leads; an entry appended in another term was not
        // proposed by that term's leader and must not activate anyone.
        if (a.getTerm() != term) {
          return refuse(
              "activation of " + a.getNodeId() + " for term " + a.getTerm() + " in term " + term);
        }
        ActivationRecord previous = state.activation;
        state.history.activated(a, index, term, previous, state.pendingSwitch);
        state.activation =
            ActivationRecord.newBuilder()
                .setNodeId(a.getNodeId())
                .setToken(index)
                .setTerm(term)
                .setPreviousNodeId(previous.getNodeId())
                .setPreviousToken(previous.getToken())
                .build();
        state.highestToken = Math.max(state.highestToken, index);
        state.history.newest(index).ifPresent(r -> watches.collectActivation(r, events));
        if (!state.pendingSwitch.getTargetNodeId().isEmpty()
            && state.pendingSwitch.getTargetNodeId().equals(a.getNodeId())) {
          state.pendingSwitch = SwitchRequest.getDefaultInstance();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case LEASE_ROUND -> {
        LeaseRound round = command.getLeaseRound();
        if (round.getTerm() != term) {
          return refuse("lease round for term " + round.getTerm());
        }
        if (round.getActiveToken() != 0
            && round.getActiveToken() == state.activation.getToken()
            && round.getNodeId().equals(state.activation.getNodeId())
            && !state.activation.getResigned()
            && !state.activation.getPromoted()) {
          state.activation = state.activation.toBuilder().setPromoted(true).build();
          state.history.promoted(
              round.getActiveToken(),
              round.hasFailoverNanos()
                  ? OptionalLong.of(round.getFailoverNanos())
                  : OptionalLong.empty());
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case RESIGN -> {
        var r = command.getResign();
        state.history.resigned(r.getNodeId(), r.getToken(), r.getReason());
        if (state.activation.getToken() == r.getToken()
            && state.activation.getNodeId().equals(r.getNodeId())) {
          state.activation = state.activation.toBuilder().setResigned(true).build();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case KV_READ -> {
        QueryResult answer = StateQueries.answer(state, command.getKvRead().getQuery());
        if (answer == null) {
          return refuse("read at entry " + index + " has no known kind");
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setRead(answer).build();
      }
      case KV_PUT -> {
        var p = command.getKvPut();
        String error = KeyValues.validate(p.getKey(), p.getValue().size());
        if (error != null) {
          return refuse(error);
        }
        KvEntryProto entry = put(p.getKey(), p.getValue(), index, events);
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setEntry(entry).build();
      }
      case KV_CAS -> {
        KvCas c = command.getKvCas();
        String error = KeyValues.validate(c.getKey(), c.getValue().size());
        if (error != null) {
          return refuse(error);
        }
        KvEntryProto current = state.kv.get(c.getKey());
        boolean matches;
        if (c.getByRevision()) {
          long currentRevision = current == null ? 0 : current.getRevision();
          matches = currentRevision == c.getExpectedRevision();
        } else if (c.getExpectAbsent()) {
          matches = current == null;
        } else {
          matches = current != null && current.getValue().equals(c.getExpectedValue());
        }
        if (!matches) {
          CommandResult.Builder r = CommandResult.newBuilder().setApplied(false).setIndex(index);
          if (current != null) {
            r.setEntry(current).setExisted(true);
          }
          return r.build();
        }
        KvEntryProto entry = put(c.getKey(), c.getValue(), index, events);
        return CommandResult.newBuilder().setApplied(true).setIndex(index).setEntry(entry).build();
      }
      case KV_DELETE -> {
        String key = command.getKvDelete().getKey();
        KvEntryProto removed = state.kv.remove(key);
        if (removed != null) {
          state.replayFloor = Math.max(state.replayFloor, index);
          KvEntry last = KeyValues.toEntry(removed);
          watches.collect(key, new KvEvent(KvEvent.Type.DELETE, last, index), events);
        }
        return CommandResult.newBuilder()
            .setApplied(true)
            .setIndex(index)
            .setExisted(removed != null)
            .build();
      }
      case MAINTENANCE -> {
        // Not an activation: the history and the activation record are left as they are.
        MaintenanceMode m = command.getMaintenance().toBuilder().setIndex(index).build();
        state.maintenance = m;
        LOG.info(
            "maintenance mode {} at log index {} (asked of {}{}, by its clock {}){}",
            m.getOn() ? "ON" : "OFF",
            index,
            m.getRequester().isEmpty() ? "an unnamed member" : m.getRequester(),
            m.getClient().isEmpty() ? "" : " by client " + m.getClient(),
            m.getProposedAtMs() == 0
                ? "unknown"
                : java.time.Instant.ofEpochMilli(m.getProposedAtMs()).toString(),
            m.getReason().isEmpty() ? "" : ": " + m.getReason());
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case SWITCH_REQUEST -> {
        state.pendingSwitch = command.getSwitchRequest();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case SET_MEMBERS -> {
        state.members = List.copyOf(command.getSetMembers().getMembersList());
        state.membersIndex = index;
        String requestId = command.getSetMembers().getRequestId();
        if (!requestId.isEmpty()) {
          if (state.pendingMembership.getRequestId().equals(requestId)) {
            state.pendingMembership = MembershipRequest.getDefaultInstance();
          }
          state.recordOutcome(requestId, true, "", command.getSetMembers().getWarning());
        }
        membershipVersion.incrementAndGet();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case MEMBERSHIP_REQUEST -> {
        MembershipRequest r = command.getMembershipRequest();
        if (r.getRequestId().isEmpty() || r.getMembersCount() == 0) {
          return refuse("a membership request needs an id and at least one member");
        }
        if (!state.pendingMembership.getRequestId().isEmpty()) {
          if (state.pendingMembership.getRequestId().equals(r.getRequestId())) {
            return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
          }
          return refuse(
              "membership change ("
                  + state.pendingMembership.getDescription()
                  + ") is still in progress; try again once it is done");
        }
        if (r.getBaseMembersIndex() != state.membersIndex) {
          return refuse(
              "the member list changed (at log index "
                  + state.membersIndex
                  + ") after this request read it; read the members again and retry");
        }
        state.pendingMembership = r;
        membershipVersion.incrementAndGet();
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case MEMBERSHIP_DONE -> {
        var d = command.getMembershipDone();
        if (state.pendingMembership.getRequestId().equals(d.getRequestId())) {
          state.pendingMembership = MembershipRequest.getDefaultInstance();
          state.recordOutcome(d.getRequestId(), false, d.getError());
          membershipVersion.incrementAndGet();
        }
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      case JOURNAL -> {
        state.appendJournal(command.getJournal());
        state.history.journal(command.getJournal());
        return CommandResult.newBuilder().setApplied(true).setIndex(index).build();
      }
      default -> {
        return refuse("entry " + index + " has no known command kind");
      }
    }
  }

  private KvEntryProto put(
      String key, com.google.protobuf.ByteString value, long index, List<Runnable> events) {
    KvEntryProto current = state.kv.get(key);
    KvEntryProto entry =
        KvEntryProto.newBuilder()
            .setKey(key)
            .setValue(value)
            .setRevision(index)
            .setCreateRevision(current == null ? index : current.getCreateRevision())
            .build();
    state.kv.put(key, entry);
    watches.collect(key, new KvEvent(KvEvent.Type.PUT, KeyValues.toEntry(entry), index), events);
    return entry;
  }

  static CommandResult refuse(String reason) {
    return CommandResult.newBuilder().setApplied(false).setRefusal(reason).build();
  }
}
