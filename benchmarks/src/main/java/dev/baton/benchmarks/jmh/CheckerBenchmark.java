package dev.baton.benchmarks.jmh;

import dev.baton.lincheck.Budget;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.Checker;
import dev.baton.lincheck.History;
import dev.baton.lincheck.io.HistoryFiles;
import dev.baton.lincheck.models.Models;
import dev.baton.lincheck.models.NilRead;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The linearizability checker on the whole Porcupine data set: one operation is checking all 103
 * jepsen-etcd histories (compare-and-set register) and the 6 kv histories (key-value model), parsed
 * beforehand. The data is found as the tests find it: {@code ../shared/testdata/porcupine} beside
 * the repository, or the folder named by {@code BATON_SHARED_DIR} (system property or environment
 * variable).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(1)
public class CheckerBenchmark {
  private static final Budget BUDGET = Budget.of(Duration.ofSeconds(60), 1L << 30);

  private final List<History> etcd = new ArrayList<>();
  private final List<History> kv = new ArrayList<>();

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    Path dir = porcupine();
    for (int n = 0; n <= 102; n++) {
      etcd.add(
          HistoryFiles.read(dir.resolve("jepsen-etcd").resolve(String.format("etcd_%03d.log", n))));
    }
    try (Stream<Path> s = Files.list(dir.resolve("kv"))) {
      for (Path p : s.filter(f -> f.toString().endsWith(".txt")).sorted().toList()) {
        kv.add(HistoryFiles.read(p));
      }
    }
  }

  @Benchmark
  public long checkWholeSet() {
    long verdicts = 0;
    for (History h : etcd) {
      // The data set's meaning of a nil read: the key is absent.
      CheckResult r = Checker.check(h, Models.casRegister(null, NilRead.ABSENT), BUDGET);
      verdicts += r.verdict().ordinal();
    }
    for (History h : kv) {
      CheckResult r = Checker.check(h, Models.kv(""), BUDGET);
      verdicts += r.verdict().ordinal();
    }
    return verdicts;
  }

  /** Where the Porcupine histories are (the same rule as the tests' SharedTestData). */
  static Path porcupine() {
    String override = System.getProperty("BATON_SHARED_DIR", System.getenv("BATON_SHARED_DIR"));
    List<Path> candidates = new ArrayList<>();
    if (override != null && !override.isBlank()) {
      candidates.add(Path.of(override).resolve("testdata/porcupine"));
      candidates.add(Path.of(override));
    }
    for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        p != null;
        p = p.getParent()) {
      if (Files.exists(p.resolve("mvnw"))
          && Files.isDirectory(p.resolve("tests-linearizability"))) {
        candidates.add(p.getParent().resolve("shared/testdata/porcupine"));
        break;
      }
    }
    for (Path c : candidates) {
      if (Files.isDirectory(c.resolve("jepsen-etcd")) && Files.isDirectory(c.resolve("kv"))) {
        return c.normalize();
      }
    }
    throw new IllegalStateException(
        "Porcupine histories not found in "
            + candidates
            + ": run from the repository with ../shared/testdata/porcupine beside it, or set"
            + " BATON_SHARED_DIR to the shared folder");
  }
}
