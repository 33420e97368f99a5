package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The nightly run's verdict ({@link JepsenLongRunTest#assertNightlyPassed}) on finished runs, no
 * Docker: an UNKNOWN run fails it as an INVALID one does, and so does a nightly run that made no
 * run.
 */
class LongRunVerdictTest {

  private static RunResult run(String name, Validity faultsHappened, String summary) {
    RunOptions o =
        RunOptions.of(name, EnumSet.of(NemesisKind.WIPE), EnumSet.of(RunOptions.Workload.KV))
            .withSeed(7);
    List<Outcome> outcomes =
        List.of(
            new Outcome("I2-one-believer", "", Validity.VALID, "no overlap", Map.of()),
            new Outcome(Checks.FAULTS_HAPPENED, "", faultsHappened, summary, Map.of()));
    List<Nemesis.Event> schedule = List.of();
    return new RunResult(o, Path.of("target/jepsen", name), outcomes, Map.of(), schedule, 1.0);
  }

  @Test
  void anUndecidedRunFailsTheNightlyRunNamingWhy() {
    RunResult ok = run("long-000", Validity.VALID, "every configured kind happened");
    RunResult undecided =
        run(
            "long-001",
            Validity.UNKNOWN,
            "wipe: configured, never happened: never drawn (the schedule ended before its turn)");
    assertThatThrownBy(() -> JepsenLongRunTest.assertNightlyPassed(List.of(ok, undecided), 2, null))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("long-001")
        .hasMessageContaining("wipe: configured, never happened");
  }

  @Test
  void aViolatedRunFailsTheNightlyRun() {
    RunResult bad = run("long-000", Validity.INVALID, "1 overlap");
    assertThatThrownBy(() -> JepsenLongRunTest.assertNightlyPassed(List.of(bad), 1, null))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("violated");
  }

  @Test
  void aNightlyRunThatMadeNoRunFails() {
    assertThatThrownBy(() -> JepsenLongRunTest.assertNightlyPassed(List.of(), 0, null))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("none ran");
  }

  @Test
  void validRunsPass() {
    RunResult ok = run("long-000", Validity.VALID, "every configured kind happened");
    assertThatCode(() -> JepsenLongRunTest.assertNightlyPassed(List.of(ok, ok), 2, null))
        .doesNotThrowAnyException();
  }
}
