package dev.baton.lincheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the third-party test data: {@code ../shared/testdata/porcupine} from the repository root
 * (CI clones the repository with {@code shared/} beside it), or under the directory named by the
 * system property or environment variable {@code BATON_SHARED_DIR}.
 */
public final class SharedTestData {
  private SharedTestData() {}

  /** The Porcupine folder, if present. */
  public static Optional<Path> porcupine() {
    String override = System.getProperty("BATON_SHARED_DIR", System.getenv("BATON_SHARED_DIR"));
    Path shared;
    if (override != null && !override.isBlank()) {
      shared = Path.of(override);
    } else {
      Path root = repoRoot();
      if (root == null) {
        return Optional.empty();
      }
      shared = root.toAbsolutePath().getParent().resolve("shared");
    }
    for (Path candidate : new Path[] {shared.resolve("testdata/porcupine"), shared}) {
      if (Files.isDirectory(candidate.resolve("jepsen-etcd"))
          && Files.isDirectory(candidate.resolve("kv"))) {
        return Optional.of(candidate.normalize());
      }
    }
    return Optional.empty();
  }

  /** Why {@link #porcupine()} is empty, for the skip message. */
  public static String missingReason() {
    return "Porcupine test histories not found: expected ../shared/testdata/porcupine beside the"
        + " repository, or BATON_SHARED_DIR (system property or environment variable) naming the"
        + " shared folder; skipping";
  }

  private static Path repoRoot() {
    Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("mvnw"))
          && Files.isDirectory(p.resolve("tests-linearizability"))) {
        return p;
      }
    }
    return null;
  }
}
