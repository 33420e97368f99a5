package dev.baton.core.internal;

import dev.baton.core.internal.proto.Snapshot;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot files in the state machine's directory: one {@link Snapshot} protobuf per file,
 * named by Ratis's {@link SimpleStateMachineStorage} ({@code snapshot.TERM_INDEX}) with an {@code
 * .md5} beside it. Writes go through a temporary file and an atomic rename; a read checks the MD5
 * and refuses a format newer than {@link BatonStateMachine#FORMAT_VERSION}.
 */
final class SnapshotStore {
  // Logs under the state machine's name, as it did before the snapshot files were a class apart.
  private static final Logger LOG = LoggerFactory.getLogger(BatonStateMachine.class);

  /** A snapshot read from disk, with the last entry it covers. */
  record Loaded(TermIndex termIndex, Snapshot snapshot) {}

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

  SimpleStateMachineStorage storage() {
    return storage;
  }

  void init(RaftStorage raftStorage) throws IOException {
    storage.init(raftStorage);
  }

  /** Writes {@code snapshot}, the state after entry {@code last}, and makes it the latest. */
  void write(Snapshot snapshot, TermIndex last) throws IOException {
    File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp.toPath())) {
      snapshot.writeTo(out);
    }
    Files.move(
        tmp.toPath(),
        file.toPath(),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
    storage.updateLatestSnapshot(
        new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
    LOG.info(
        "snapshot at term {} index {}: {} keys, token {}",
        last.getTerm(),
        last.getIndex(),
        snapshot.getKvCount(),
        snapshot.getHighestToken());
  }

  /** The newest snapshot on disk, checked; null if there is none. */
  @Nullable Loaded readLatest() throws IOException {
    SingleFileSnapshotInfo info = storage.loadLatestSnapshot();
    if (info == null) {
      return null;
    }
    File file = info.getFile().getPath().toFile();
    MD5Hash expected = info.getFile().getFileDigest();
    if (expected == null) {
      expected = MD5FileUtil.readStoredMd5ForFile(file);
    }
    return new Loaded(info.getTermIndex(), readChecked(file, expected, "this node"));
  }

  /**
   * Reads the snapshot in {@code file}: refuses it when {@code expected} (its MD5, if known) does
   * not match, or when its format is newer than {@link BatonStateMachine#FORMAT_VERSION}; {@code
   * reader} ("this node", "this release") names who cannot read it.
   */
  static Snapshot readChecked(File file, MD5Hash expected, String reader) throws IOException {
    if (expected != null && !expected.equals(MD5FileUtil.computeMd5ForFile(file))) {
      throw new IOException("snapshot " + file + " is corrupt: MD5 does not match its .md5 file");
    }
    Snapshot snapshot;
    try (InputStream in = Files.newInputStream(file.toPath())) {
      snapshot = Snapshot.parseFrom(in);
    }
    if (snapshot.getFormatVersion() > BatonStateMachine.FORMAT_VERSION) {
      throw new IOException(
          "snapshot "
              + file
              + " has format version "
              + snapshot.getFormatVersion()
              + " but "
              + reader
              + " reads up to version "
              + BatonStateMachine.FORMAT_VERSION);
    }
    return snapshot;
  }
}
