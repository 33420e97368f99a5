package dev.baton.testing.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The snapshot files under a data directory (or its {@code raft} directory) that a node took or
 * installed: every founder also holds the genesis snapshot at index 0, written before its first
 * start, which these leave out.
 *
 * <p>These are read while the node runs and writes its storage: a file that vanishes during the
 * walk (Ratis's {@code .md5.tmp}, renamed away) is passed over, and a snapshot counts as taken only
 * once its {@code .md5} file is beside it, the last thing written for it.
 */
public final class SnapshotFiles {
  private SnapshotFiles() {}

  /** The newest complete snapshot file under {@code dir} past the genesis, by its index. */
  public static Optional<Path> newestTaken(Path dir) {
    List<Path> found = new ArrayList<>();
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (file.getFileName().toString().matches("snapshot\\.\\d+_\\d+")) {
                found.add(file);
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
              if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;
              }
              throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
              if (e == null || e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;
              }
              throw e;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found.stream()
        .filter(p -> index(p) > 0)
        .filter(p -> Files.exists(p.resolveSibling(p.getFileName() + ".md5")))
        .max(Comparator.comparingLong(SnapshotFiles::index));
  }

  private static long index(Path snapshot) {
    return Long.parseLong(snapshot.getFileName().toString().split("_")[1]);
  }
}
