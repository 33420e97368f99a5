package dev.baton.core.internal;

import dev.baton.core.internal.proto.Snapshot;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.util.MD5FileUtil;

/**
 * Writes the Raft part of a data directory before Ratis first opens it: the term in Ratis's
 * metadata file and one snapshot, with an empty log after it. Ratis then starts as if it had taken
 * that snapshot itself.
 *
 * <p>Two writers use it. {@link ClusterRecovery} seeds a new cluster with a surviving member's
 * state, at the token floor. And every founding member of a new cluster starts from the same
 * <em>genesis</em>: the empty state at term {@value #GENESIS_TERM}, index {@value #GENESIS_INDEX}.
 * Ratis (RATIS-1995) does not count the vote of a member whose log is empty once the candidate has
 * committed entries, and a member refuses a candidate whose log is behind its own. Without a
 * genesis, a founder that had not received the first entry when the leader died (a region
 * unreachable while the cluster first formed) could neither vote nor win, and the two live members
 * of three elected nobody until the dead one came back (I4; EmptyLogVoterTest). With it, every
 * founder's log ends at least at the genesis, as etcd's founders all start from the same
 * configuration entries. A member that joins later has no genesis, nor has a founder that started
 * after the others formed the cluster ({@link BootstrapProbe}): each starts empty and receives the
 * log (a snapshot first, when the leader has one) from the leader.
 */
final class RaftSeed {
  /** The term of the genesis snapshot every founder starts from. */
  static final long GENESIS_TERM = 1;

  /** The index the genesis snapshot covers: the first entry any leader writes is the next one. */
  static final long GENESIS_INDEX = 0;

  private RaftSeed() {}

  /** Writes the genesis of cluster {@code clusterId} into the empty data directory {@code root}. */
  static void writeGenesis(Path root, String clusterId) throws IOException {
    write(
        root,
        clusterId,
        GENESIS_TERM,
        GENESIS_INDEX,
        new ReplicatedState().toSnapshot(true),
        "genesis written by the first start of a new cluster");
  }

  /**
   * Writes {@code snapshot} as the state after entry ({@code term}, {@code index}) of cluster
   * {@code clusterId}'s Raft group, and {@code term} as the current term, under {@code root}.
   */
  static void write(
      Path root, String clusterId, long term, long index, Snapshot snapshot, String comment)
      throws IOException {
    Path group = root.resolve("raft").resolve(RaftNode.groupId(clusterId).getUuid().toString());
    Path current = Files.createDirectories(group.resolve("current"));
    Path sm = Files.createDirectories(group.resolve("sm"));
    Properties meta = new Properties();
    meta.setProperty("term", Long.toString(term));
    meta.setProperty("votedFor", "");
    try (Writer w = Files.newBufferedWriter(current.resolve("raft-meta"))) {
      meta.store(w, comment);
    }
    Path file = sm.resolve(SimpleStateMachineStorage.getSnapshotFileName(term, index));
    Files.write(file, snapshot.toByteArray());
    MD5FileUtil.computeAndSaveMd5ForFile(file.toFile());
  }
}
