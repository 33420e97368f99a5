package dev.baton.core.internal;

import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.KvEntryProto;
import dev.baton.core.internal.proto.MaintenanceMode;
import dev.baton.core.internal.proto.MemberRecord;
import dev.baton.core.internal.proto.MembershipOutcome;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.core.internal.proto.SwitchRequest;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The replicated state's fields, and their one serialised form, the {@link Snapshot}: the current
 * activation and the highest token, member metadata, the promotion journal, the activation history,
 * the pending switch and membership requests, maintenance mode, and the key-value store.
 *
 * <p>Not thread-safe: {@link BatonStateMachine} guards every access with its lock. {@link
 * CommandApplier} changes it, {@link SnapshotStore} persists what {@link #toSnapshot} returns, and
 * {@link StateQueries} reads it. The field order of {@link #toSnapshot} is the snapshot's byte
 * layout: SnapshotCompatibilityTest holds it fixed.
 */
final class ReplicatedState {
  /** How many journal records the state keeps (the oldest are dropped first). */
  static final int JOURNAL_CAPACITY = 2000;

  /** How many membership outcomes the state keeps, for requesters to find theirs. */
  static final int MEMBERSHIP_OUTCOMES = 32;

  final TreeMap<String, KvEntryProto> kv = new TreeMap<>();
  ActivationRecord activation = ActivationRecord.getDefaultInstance();
  long highestToken;
  List<MemberRecord> members = List.of();
  final ArrayDeque<JournalRecord> journal = new ArrayDeque<>();
  SwitchRequest pendingSwitch = SwitchRequest.getDefaultInstance();
  MembershipRequest pendingMembership = MembershipRequest.getDefaultInstance();
  long membersIndex;
  final ArrayDeque<MembershipOutcome> membershipOutcomes = new ArrayDeque<>();
  final ActivationHistory history;
  // Off, and never set, until an operator sets it (index 0).
  MaintenanceMode maintenance = MaintenanceMode.getDefaultInstance();
  // Local, never in a snapshot: the revision at or below which this node cannot replay the KV's
  // changes to a watcher (its last applied delete, or the snapshot it restored).
  long replayFloor;

  ReplicatedState() {
    this(ActivationHistory.DEFAULT_LIMIT);
  }

  ReplicatedState(int historyLimit) {
    this.history = new ActivationHistory(historyLimit);
  }

  void appendJournal(JournalRecord record) {
    journal.addLast(record);
    while (journal.size() > JOURNAL_CAPACITY) {
      journal.removeFirst();
    }
  }

  void recordOutcome(String requestId, boolean ok, String error) {
    recordOutcome(requestId, ok, error, "");
  }

  void recordOutcome(String requestId, boolean ok, String error, String warning) {
    membershipOutcomes.addLast(
        MembershipOutcome.newBuilder()
            .setRequestId(requestId)
            .setOk(ok)
            .setError(error)
            .setWarning(warning)
            .build());
    while (membershipOutcomes.size() > MEMBERSHIP_OUTCOMES) {
      membershipOutcomes.removeFirst();
    }
  }

  Optional<MembershipOutcome> membershipOutcome(String requestId) {
    for (MembershipOutcome o : membershipOutcomes) {
      if (o.getRequestId().equals(requestId)) {
        return Optional.of(o);
      }
    }
    return Optional.empty();
  }

  /** The state as a snapshot of this code's format; the KV only if {@code withKv}. */
  Snapshot toSnapshot(boolean withKv) {
    Snapshot.Builder s =
        Snapshot.newBuilder()
            .setFormatVersion(BatonStateMachine.FORMAT_VERSION)
            .setActivation(activation)
            .setHighestToken(highestToken)
            .addAllMembers(members)
            .addAllJournal(journal)
            .setPendingSwitch(pendingSwitch)
            .setPendingMembership(pendingMembership)
            .setMembersIndex(membersIndex)
            .addAllMembershipOutcomes(membershipOutcomes)
            .addAllHistory(history.records());
    if (maintenance.getIndex() != 0) {
      // Only once set: a state that never had it writes the bytes it wrote before it existed.
      s.setMaintenance(maintenance);
    }
    if (withKv) {
      s.addAllKv(kv.values());
    }
    return s.build();
  }

  /** Replaces every field with the snapshot's (one the caller has checked it can read). */
  void restore(Snapshot snapshot) {
    kv.clear();
    snapshot.getKvList().forEach(e -> kv.put(e.getKey(), e));
    activation = snapshot.getActivation();
    highestToken = snapshot.getHighestToken();
    members = List.copyOf(snapshot.getMembersList());
    journal.clear();
    journal.addAll(snapshot.getJournalList());
    pendingSwitch = snapshot.getPendingSwitch();
    pendingMembership = snapshot.getPendingMembership();
    membersIndex = snapshot.getMembersIndex();
    membershipOutcomes.clear();
    membershipOutcomes.addAll(snapshot.getMembershipOutcomesList());
    history.restore(snapshot.getHistoryList());
    // The default instance (off) when the snapshot predates maintenance mode or never had it set.
    maintenance = snapshot.getMaintenance();
  }
}
