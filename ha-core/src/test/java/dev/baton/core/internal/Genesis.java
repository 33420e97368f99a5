package dev.baton.core.internal;

import java.io.IOException;
import java.nio.file.Path;

/** Lets a test seed a data directory of its own the way every founder's first start does. */
public final class Genesis {
  private Genesis() {}

  /** Writes the genesis of cluster {@code clusterId} into the empty data directory {@code root}. */
  public static void write(Path root, String clusterId) throws IOException {
    RaftSeed.writeGenesis(root, clusterId);
  }
}
