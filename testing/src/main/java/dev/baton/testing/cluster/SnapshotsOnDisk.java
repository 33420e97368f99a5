package dev.baton.testing.cluster;

import java.io.IOException;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;

/**
 * A plain Ratis state machine, for tests that run a Ratis server of their own on a Baton data
 * directory (a stopped node's storage, or a stand-in for a newer release): it applies whatever it
 * is given, and starts from the newest snapshot in the storage's state machine directory, as
 * Baton's state machine does. A founder's log starts after the genesis snapshot (index 0, {@code
 * internal.Genesis}), so a state machine that reported no snapshot would open a log whose first
 * entry is missing: a one-member server would never commit, and a member of a cluster could not be
 * elected over the others' logs.
 */
public final class SnapshotsOnDisk extends BaseStateMachine {
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    SnapshotInfo latest = storage.getLatestSnapshot();
    if (latest != null) {
      updateLastAppliedTermIndex(latest.getTerm(), latest.getIndex());
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return storage.getLatestSnapshot();
  }
}
