package dev.baton.testing.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The snapshot files under a data directory (or its {@code raft} directory) that a node took or
 * installed: every founder also holds the genesis snapshot at index 0, written before its first
 * start, which these leave out.
 */
public final class SnapshotFiles {
  private SnapshotFiles() {}

  /** The newest snapshot file under {@code dir} past the genesis, by its index. */
  public static Optional<Path> newestTaken(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
          .filter(p -> index(p) > 0)
          .max(Comparator.comparingLong(SnapshotFiles::index));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long index(Path snapshot) {
    return Long.parseLong(snapshot.getFileName().toString().split("_")[1]);
  }
}
