package dev.baton.core.testing;

import static org.awaitility.Awaitility.await;

import dev.baton.core.KeyValueStore;
import dev.baton.core.internal.BatonStateMachine;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.testing.cluster.SnapshotFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.ratis.util.MD5FileUtil;

/**
 * A node's newest snapshot rewritten as a newer release would have written it (format version one
 * above what this release reads, its MD5 file recomputed so that Ratis reads it), with what this
 * release wrote kept to put back: for the tests that a start on such a snapshot is refused naming
 * both versions, and that the data directory, given its own snapshot back, starts again.
 */
public final class NewerSnapshot {
  private final Path file;
  private final byte[] written;
  private final byte[] writtenMd5;
  private final int version;

  private NewerSnapshot(Path file, byte[] written, byte[] writtenMd5, int version) {
    this.file = file;
    this.written = written;
    this.writtenMd5 = writtenMd5;
    this.version = version;
  }

  /**
   * Puts keys {@code k0}, {@code k1}, ... through {@code kv} until the Raft storage under {@code
   * raft} holds a snapshot (at most 120; a node built with {@code snapshotThreshold(100)} takes one
   * within them), then waits (at most 30 s) for it on disk.
   */
  public static void putUntilSnapshot(KeyValueStore kv, Path raft) throws IOException {
    for (int i = 0; i < 120 && SnapshotFiles.newestTaken(raft).isEmpty(); i++) {
      kv.put("k" + i, "v".getBytes(StandardCharsets.UTF_8));
    }
    await("a snapshot on disk")
        .atMost(Duration.ofSeconds(30))
        .until(() -> SnapshotFiles.newestTaken(raft).isPresent());
  }

  /**
   * Rewrites the newest snapshot under {@code raft} (of a stopped node) in format version {@link
   * BatonStateMachine#FORMAT_VERSION} + 1 and recomputes its MD5 file.
   */
  public static NewerSnapshot rewrite(Path raft) throws IOException {
    Path file = SnapshotFiles.newestTaken(raft).orElseThrow();
    byte[] written = Files.readAllBytes(file);
    byte[] writtenMd5 = Files.readAllBytes(md5Of(file));
    int newer = BatonStateMachine.FORMAT_VERSION + 1;
    Files.write(
        file,
        Snapshot.parseFrom(written).toBuilder().setFormatVersion(newer).build().toByteArray());
    MD5FileUtil.computeAndSaveMd5ForFile(file.toFile());
    return new NewerSnapshot(file, written, writtenMd5, newer);
  }

  /** The snapshot file rewritten. */
  public Path file() {
    return file;
  }

  /** The format version it now says. */
  public int version() {
    return version;
  }

  /** Puts back the snapshot and the MD5 file this release wrote. */
  public void restore() throws IOException {
    Files.write(file, written);
    Files.write(md5Of(file), writtenMd5);
  }

  private static Path md5Of(Path snapshot) {
    return snapshot.resolveSibling(snapshot.getFileName() + ".md5");
  }
}
