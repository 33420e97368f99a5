package dev.baton.lincheck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.baton.lincheck.io.HistoryFiles;
import dev.baton.lincheck.models.Models;
import dev.baton.lincheck.models.NilRead;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every history of the Porcupine data set gives the outcome its README states (outcomes that an
 * independent checker established).
 */
class PorcupineDataTest {
  /** From the README: the linearizable etcd histories; 095 is empty; all others are not. */
  private static final Set<Integer> ETCD_LINEARIZABLE =
      Set.of(
          2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101,
          102);

  private static final int ETCD_EMPTY = 95;

  /** Generous, so a hang shows up as UNKNOWN (a failure) rather than a stuck build. */
  private static final Budget BUDGET = Budget.of(Duration.ofSeconds(30), 1L << 30);

  private static Path data() {
    Optional<Path> dir = SharedTestData.porcupine();
    assumeTrue(dir.isPresent(), SharedTestData.missingReason());
    return dir.get();
  }

  /** When the data is absent, a factory yields one skipped test carrying the reason. */
  private static Stream<DynamicTest> skipped() {
    return Stream.of(
        DynamicTest.dynamicTest(
            "porcupine data absent", () -> assumeTrue(false, SharedTestData.missingReason())));
  }

  @TestFactory
  Stream<DynamicTest> etcdHistoriesGiveTheirStatedOutcome() {
    if (SharedTestData.porcupine().isEmpty()) {
      return skipped();
    }
    Path dir = data().resolve("jepsen-etcd");
    return IntStream.rangeClosed(0, 102)
        .mapToObj(
            n -> {
              Path file = dir.resolve(String.format("etcd_%03d.log", n));
              return DynamicTest.dynamicTest(
                  file.getFileName().toString(),
                  () -> {
                    // The data set's README: a read's nil means the key is absent. Jepsen's
                    // rule (nil: unknown) gives the same verdict on every one of these files.
                    for (NilRead nilRead : NilRead.values()) {
                      CheckResult r =
                          Checker.check(
                              HistoryFiles.read(file), Models.casRegister(null, nilRead), BUDGET);
                      String as = file + " with --nil-read " + nilRead.cliName();
                      if (n == ETCD_EMPTY) {
                        assertThat(r.operationCount()).isZero();
                        assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
                      } else if (ETCD_LINEARIZABLE.contains(n)) {
                        assertThat(r.verdict()).as(as).isEqualTo(Verdict.LINEARIZABLE);
                      } else {
                        assertThat(r.verdict()).as(as).isEqualTo(Verdict.NOT_LINEARIZABLE);
                        assertThat(r.explanation().unorderable()).isNotEmpty();
                      }
                    }
                  });
            });
  }

  @TestFactory
  Stream<DynamicTest> kvHistoriesGiveTheirStatedOutcome() throws IOException {
    if (SharedTestData.porcupine().isEmpty()) {
      return skipped();
    }
    Path dir = data().resolve("kv");
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList();
    }
    assertThat(files).hasSize(6);
    return files.stream()
        .map(
            file ->
                DynamicTest.dynamicTest(
                    file.getFileName().toString(),
                    () -> {
                      CheckResult r = Checker.check(HistoryFiles.read(file), Models.kv(""), BUDGET);
                      boolean ok = file.getFileName().toString().endsWith("-ok.txt");
                      assertThat(r.verdict())
                          .as(file.toString())
                          .isEqualTo(ok ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
                      assertThat(r.partitions()).hasSizeGreaterThan(1); // split by key
                    }));
  }

  @Test
  void etcdLogsUseTabsOrSpacesAndHaveTimedOutOperations() throws IOException {
    Path dir = data().resolve("jepsen-etcd");
    History tabs = HistoryFiles.read(dir.resolve("etcd_000.log"));
    History spaces = HistoryFiles.read(dir.resolve("etcd_100.log"));
    assertThat(tabs.operations()).isNotEmpty();
    assertThat(spaces.operations()).isNotEmpty();
    Set<Outcome> outcomes =
        Stream.concat(tabs.operations().stream(), spaces.operations().stream())
            .map(Operation::outcome)
            .collect(Collectors.toSet());
    assertThat(outcomes).contains(Outcome.OK, Outcome.FAIL, Outcome.INFO);
  }
}
