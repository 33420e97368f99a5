package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.KvCas;
import dev.baton.core.internal.proto.KvDelete;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.core.internal.proto.LeaseRound;
import dev.baton.core.internal.proto.MaintenanceMode;
import dev.baton.core.internal.proto.MemberRecord;
import dev.baton.core.internal.proto.MembershipDone;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Resign;
import dev.baton.core.internal.proto.SetMembers;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.core.internal.proto.SwitchRequest;
import dev.baton.core.testing.StateMachineApply;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.server.storage.RaftStorageImpl;
import org.apache.ratis.server.storage.StorageImplUtils;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots written by earlier code still load, and the current code writes the same bytes for the
 * same state. {@code snapshot-format-1.bin} was written by {@link BatonStateMachine#takeSnapshot()}
 * before the state machine was cut into apply, snapshot and query classes (issue 30), from the
 * entries {@link #entries()} lists; it must never be regenerated, only joined by newer files when
 * the format changes.
 */
class SnapshotCompatibilityTest {
  private static final String FIXTURE = "/snapshots/snapshot-format-1.bin";
  private static final long TERM = 2;

  @TempDir Path dir;

  @Test
  void aSnapshotWrittenBeforeTheSplitLoadsIntoTheSameState() throws Exception {
    byte[] fixture = fixture();
    long lastIndex = entries().size();
    RaftStorage storage = storage(dir.resolve("restore"));
    File smDir = storage.getStorageDir().getStateMachineDir();
    Files.write(smDir.toPath().resolve("snapshot." + TERM + "_" + lastIndex), fixture);

    // What a follower does with a snapshot installed from the leader: Ratis puts the file in the
    // state machine's directory and calls reinitialize(). (initialize() needs a running server.)
    BatonStateMachine sm = new BatonStateMachine();
    sm.getStateMachineStorage().init(storage);
    sm.reinitialize();

    assertThat(sm.getLastAppliedTermIndex().getTerm()).isEqualTo(TERM);
    assertThat(sm.getLastAppliedTermIndex().getIndex()).isEqualTo(lastIndex);
    assertThat(sm.localState(true).toByteArray())
        .as("the state loaded from the old snapshot, written out again, is the same bytes")
        .isEqualTo(fixture);
    Snapshot loaded = sm.localState(true);
    assertThat(loaded.getActivation().getNodeId()).isEqualTo("n2");
    assertThat(loaded.getActivation().getToken()).isEqualTo(4);
    assertThat(loaded.getActivation().getPreviousNodeId()).isEqualTo("n1");
    assertThat(loaded.getActivation().getPromoted()).isTrue();
    assertThat(sm.highestToken()).isEqualTo(4);
    assertThat(sm.members()).extracting(MemberRecord::getNodeId).containsExactly("n1", "n2", "w3");
    assertThat(sm.membersIndex()).isEqualTo(11);
    assertThat(sm.membershipOutcome("m1")).hasValueSatisfying(o -> assertThat(o.getOk()).isTrue());
    assertThat(sm.membershipOutcome("m2"))
        .hasValueSatisfying(o -> assertThat(o.getError()).isEqualTo("no quorum"));
    assertThat(sm.pendingSwitch().getTargetNodeId()).isEqualTo("n1");
    assertThat(sm.pendingMembership().getRequestId()).isEqualTo("m3");
    assertThat(loaded.getJournalCount()).isEqualTo(2);
    assertThat(sm.history())
        .as("a snapshot written before the history existed loads with an empty one")
        .isEmpty();
    assertThat(sm.maintenance())
        .as("a snapshot written before maintenance mode existed loads with it off, never set")
        .isEqualTo(MaintenanceMode.getDefaultInstance());
    assertThat(loaded.getKvList())
        .extracting(e -> e.getKey() + "=" + e.getValue().toStringUtf8() + "@" + e.getRevision())
        .containsExactly("a=1@5", "b=3@7");

    // The restored machine goes on applying from where the snapshot ends.
    CommandResult next =
        apply(
            sm,
            lastIndex + 1,
            v1().setKvPut(KvPut.newBuilder().setKey("a").setValue(utf8("4"))).build());
    assertThat(next.getApplied()).isTrue();
    assertThat(next.getEntry().getCreateRevision()).isEqualTo(5);
  }

  @Test
  void theSameEntriesProduceTheSameSnapshotBytes() throws Exception {
    RaftStorage storage = storage(dir.resolve("write"));
    BatonStateMachine sm = withFixtureEntries(storage);
    List<Command> entries = entries();
    long index = sm.takeSnapshot();
    assertThat(index).isEqualTo(entries.size());
    File written = snapshotFile(storage, index);
    Snapshot snapshot = Snapshot.parseFrom(Files.readAllBytes(written.toPath()));
    // The activation history (issue 37) is the one field added since the fixture: the same
    // entries now also make two history records. Everything else is the fixture's bytes.
    assertThat(snapshot.getHistoryList())
        .extracting(r -> r.getToken() + " " + r.getNodeId() + " " + r.getReason())
        .containsExactly("1 n1 START", "4 n2 SWITCH_ACTIVE");
    assertThat(snapshot.toBuilder().clearHistory().build().toByteArray()).isEqualTo(fixture());
    assertThat(new File(written.getPath() + ".md5")).exists();

    // A snapshot with a history loads it back (what a member that installs it sees).
    BatonStateMachine restored = installedFrom(written, "install");
    assertThat(restored.history()).isEqualTo(sm.history());
    assertThat(restored.history()).hasSize(2);
  }

  @Test
  void maintenanceModeIsKeptInTheSnapshotAndIsNotAnActivation() throws Exception {
    RaftStorage storage = storage(dir.resolve("maintenance"));
    BatonStateMachine sm = withFixtureEntries(storage);
    List<Command> entries = entries();
    var historyBefore = sm.history();
    var activationBefore = sm.activation();
    long on = entries.size() + 1;
    apply(
        sm,
        on,
        v1().setMaintenance(
                MaintenanceMode.newBuilder()
                    .setOn(true)
                    .setReason("database upgrade")
                    .setRequester("n1")
                    .setProposedAtMs(1_765_000_000_000L))
            .build());
    assertThat(sm.maintenance().getOn()).isTrue();
    assertThat(sm.maintenance().getIndex()).isEqualTo(on);
    assertThat(sm.maintenance().getReason()).isEqualTo("database upgrade");
    assertThat(sm.maintenance().getRequester()).isEqualTo("n1");
    assertThat(sm.history()).as("maintenance is not an activation").isEqualTo(historyBefore);
    assertThat(sm.activation()).isEqualTo(activationBefore);

    long index = sm.takeSnapshot();
    assertThat(index).isEqualTo(on);
    File written = snapshotFile(storage, index);
    Snapshot snapshot = Snapshot.parseFrom(Files.readAllBytes(written.toPath()));
    assertThat(snapshot.getMaintenance()).isEqualTo(sm.maintenance());
    assertThat(snapshot.toBuilder().clearHistory().clearMaintenance().build().toByteArray())
        .as("maintenance mode adds its own field and changes no other")
        .isEqualTo(fixture());

    // A member that installs the snapshot, or restarts from it, has it on.
    BatonStateMachine restored = installedFrom(written, "maintenance-install");
    assertThat(restored.maintenance()).isEqualTo(sm.maintenance());

    apply(restored, on + 1, v1().setMaintenance(MaintenanceMode.newBuilder().setOn(false)).build());
    assertThat(restored.maintenance().getOn()).isFalse();
    assertThat(restored.maintenance().getIndex()).isEqualTo(on + 1);
  }

  /**
   * The failover time (HistoryRecord field 12, carried by LeaseRound field 4) is kept in the
   * snapshot; a record without it, as a release without the field writes it, loads with the time
   * unknown and everything else the same; a report without it (a sender on such a release) leaves
   * it unknown too.
   */
  @Test
  void aFailoverTimeIsKeptInTheSnapshotAndARecordWithoutItReadsAsUnknown() throws Exception {
    RaftStorage storage = storage(dir.resolve("failover-time"));
    BatonStateMachine sm = withFixtureEntries(storage);
    long failover = entries().size() + 1;
    // n2 (token 4) is lost without resigning: n3 takes the role, measures 1.103 s and reports it.
    apply(
        sm,
        failover,
        v1().setActivate(Activate.newBuilder().setNodeId("n3").setTerm(TERM)).build());
    apply(
        sm,
        failover + 1,
        v1().setLeaseRound(
                LeaseRound.newBuilder()
                    .setNodeId("n3")
                    .setTerm(TERM)
                    .setActiveToken(failover)
                    .setFailoverNanos(1_103_000_000L))
            .build());
    // n2 takes it back from n3 the same way, and its report (from a release without the field) has
    // no figure.
    long second = failover + 2;
    apply(
        sm, second, v1().setActivate(Activate.newBuilder().setNodeId("n2").setTerm(TERM)).build());
    apply(
        sm,
        second + 1,
        v1().setLeaseRound(
                LeaseRound.newBuilder().setNodeId("n2").setTerm(TERM).setActiveToken(second))
            .build());
    assertThat(sm.history())
        .extracting(a -> a.token() + " " + a.reason() + " " + a.failoverDuration())
        .containsExactly(
            "1 START Optional.empty",
            "4 SWITCH_ACTIVE Optional.empty",
            failover + " FAILOVER Optional[PT1.103S]",
            second + " FAILOVER Optional.empty");

    long index = sm.takeSnapshot();
    File written = snapshotFile(storage, index);
    BatonStateMachine restored = installedFrom(written, "failover-time-install");
    assertThat(restored.history()).isEqualTo(sm.history());

    // The same snapshot as a release without the field writes it: the record reads as unknown.
    Snapshot snapshot = Snapshot.parseFrom(Files.readAllBytes(written.toPath()));
    Snapshot.Builder old = snapshot.toBuilder();
    for (int i = 0; i < old.getHistoryCount(); i++) {
      old.setHistory(i, old.getHistory(i).toBuilder().clearFailoverNanos());
    }
    assertThat(old.build()).isNotEqualTo(snapshot);
    RaftStorage oldStorage = storage(dir.resolve("failover-time-old"));
    File oldFile = snapshotFile(oldStorage, index);
    Files.write(oldFile.toPath(), old.build().toByteArray());
    BatonStateMachine fromOld = installedFrom(oldFile, "failover-time-old-install");
    assertThat(fromOld.history()).hasSameSizeAs(sm.history());
    for (int i = 0; i < sm.history().size(); i++) {
      var expected = sm.history().get(i);
      var read = fromOld.history().get(i);
      assertThat(read.failoverDuration()).as("token %d's failover time", read.token()).isEmpty();
      assertThat(read)
          .isEqualTo(
              new dev.baton.core.Activation(
                  expected.nodeId(),
                  expected.token(),
                  expected.term(),
                  expected.proposedAt(),
                  expected.reason(),
                  expected.requester(),
                  expected.previousNodeId(),
                  expected.previousToken(),
                  expected.promoted(),
                  expected.resigned(),
                  expected.steps()));
    }
  }

  /** A state machine on {@code storage} with {@link #entries()} applied at indexes 1, 2, ... */
  private static BatonStateMachine withFixtureEntries(RaftStorage storage) throws Exception {
    BatonStateMachine sm = new BatonStateMachine();
    sm.getStateMachineStorage().init(storage);
    List<Command> entries = entries();
    for (int i = 0; i < entries.size(); i++) {
      apply(sm, i + 1, entries.get(i));
    }
    return sm;
  }

  /** The snapshot file the state machine on {@code storage} wrote at {@code index}. */
  private static File snapshotFile(RaftStorage storage, long index) {
    return storage
        .getStorageDir()
        .getStateMachineDir()
        .toPath()
        .resolve("snapshot." + TERM + "_" + index)
        .toFile();
  }

  /** A new state machine that loads {@code written}, as a member installing it or restarting. */
  private BatonStateMachine installedFrom(File written, String name) throws Exception {
    BatonStateMachine restored = new BatonStateMachine();
    RaftStorage other = storage(dir.resolve(name));
    restored.getStateMachineStorage().init(other);
    Files.copy(
        written.toPath(),
        other.getStorageDir().getStateMachineDir().toPath().resolve(written.getName()));
    restored.reinitialize();
    return restored;
  }

  /** Every kind of entry that changes the snapshot, in an order that leaves each field set. */
  private static List<Command> entries() {
    List<Command> c = new ArrayList<>();
    MemberRecord n1 = MemberRecord.newBuilder().setNodeId("n1").setAddress("127.0.0.1:1").build();
    MemberRecord n2 =
        MemberRecord.newBuilder().setNodeId("n2").setAddress("127.0.0.1:2").setPriority(2).build();
    MemberRecord w3 =
        MemberRecord.newBuilder()
            .setNodeId("w3")
            .setAddress("127.0.0.1:3")
            .setWitness(true)
            .setNoActivate(true)
            .build();
    // 1
    c.add(v1().setActivate(Activate.newBuilder().setNodeId("n1").setTerm(TERM)).build());
    // 2
    c.add(v1().setResign(Resign.newBuilder().setNodeId("n1").setToken(1)).build());
    // 3
    c.add(
        v1().setSwitchRequest(SwitchRequest.newBuilder().setTargetNodeId("n2").setRequestId("s1"))
            .build());
    // 4: token 4, clears the switch to n2
    c.add(v1().setActivate(Activate.newBuilder().setNodeId("n2").setTerm(TERM)).build());
    // 5
    c.add(v1().setKvPut(KvPut.newBuilder().setKey("a").setValue(utf8("1"))).build());
    // 6
    c.add(v1().setKvPut(KvPut.newBuilder().setKey("b").setValue(utf8("2"))).build());
    // 7
    c.add(
        v1().setKvCas(
                KvCas.newBuilder()
                    .setKey("b")
                    .setByRevision(true)
                    .setExpectedRevision(6)
                    .setValue(utf8("3")))
            .build());
    // 8
    c.add(v1().setKvPut(KvPut.newBuilder().setKey("c").setValue(utf8("x"))).build());
    // 9
    c.add(v1().setKvDelete(KvDelete.newBuilder().setKey("c")).build());
    // 10
    c.add(
        v1().setMembershipRequest(
                MembershipRequest.newBuilder()
                    .setRequestId("m1")
                    .addMembers(n1)
                    .addMembers(n2)
                    .addMembers(w3)
                    .setDescription("add w3"))
            .build());
    // 11: completes m1
    c.add(
        v1().setSetMembers(
                SetMembers.newBuilder()
                    .addMembers(n1)
                    .addMembers(n2)
                    .addMembers(w3)
                    .setRequestId("m1"))
            .build());
    // 12
    c.add(
        v1().setMembershipRequest(
                MembershipRequest.newBuilder()
                    .setRequestId("m2")
                    .addMembers(n1)
                    .addMembers(n2)
                    .setDescription("remove w3")
                    .setBaseMembersIndex(11))
            .build());
    // 13: m2 failed
    c.add(
        v1().setMembershipDone(MembershipDone.newBuilder().setRequestId("m2").setError("no quorum"))
            .build());
    // 14, 15
    for (String phase : List.of("started", "done")) {
      c.add(
          v1().setJournal(
                  JournalRecord.newBuilder()
                      .setNodeId("n2")
                      .setToken(4)
                      .setAction("dns")
                      .setPhase(phase)
                      .setAttempt(1)
                      .setSuccess(true)
                      .setMonotonicTimeMs(1234)
                      .setOutcome("ok"))
              .build());
    }
    // 16: marks n2's activation promoted
    c.add(
        v1().setLeaseRound(LeaseRound.newBuilder().setNodeId("n2").setTerm(TERM).setActiveToken(4))
            .build());
    // 17: a pending switch back to n1
    c.add(
        v1().setSwitchRequest(SwitchRequest.newBuilder().setTargetNodeId("n1").setRequestId("s2"))
            .build());
    // 18: a membership change still pending
    c.add(
        v1().setMembershipRequest(
                MembershipRequest.newBuilder()
                    .setRequestId("m3")
                    .addMembers(n1)
                    .addMembers(n2)
                    .setDescription("remove w3 again")
                    .setBaseMembersIndex(11))
            .build());
    return c;
  }

  /** Format 1 by number, not by the current constant: the fixture holds format-1 entries. */
  private static Command.Builder v1() {
    return Command.newBuilder().setFormatVersion(1);
  }

  private static ByteString utf8(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static byte[] fixture() throws Exception {
    try (InputStream in = SnapshotCompatibilityTest.class.getResourceAsStream(FIXTURE)) {
      assertThat(in).as("test resource " + FIXTURE).isNotNull();
      return in.readAllBytes();
    }
  }

  private static RaftStorage storage(Path root) throws Exception {
    Files.createDirectories(root);
    RaftStorageImpl storage =
        StorageImplUtils.newRaftStorage(
            root.toFile(),
            SizeInBytes.valueOf(0),
            RaftStorage.StartupOption.FORMAT,
            RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION);
    storage.initialize();
    return storage;
  }

  private static CommandResult apply(BatonStateMachine sm, long index, Command command)
      throws Exception {
    return StateMachineApply.committed(sm, TERM, index, command);
  }
}
