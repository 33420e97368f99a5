package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Maintenance;
import dev.baton.core.control.StatusReport.StepState;
import dev.baton.core.control.StatusReport.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The lines {@code bin/baton status} prints under its table for the steps beside the role. */
class StatusLinesTest {

  private static StepState guard(String state, boolean done) {
    return step(
        "postgres-guard", state, done, 0, Duration.ZERO, Optional.empty(), Optional.empty());
  }

  private static StepState step(
      String type,
      String state,
      boolean done,
      int attempts,
      Duration lasted,
      Optional<Instant> since,
      Optional<String> lastError) {
    return new StepState(
        "postgres",
        type,
        state,
        done,
        0,
        since,
        lasted,
        attempts,
        lastError,
        Optional.empty(),
        List.of(new Target("127.0.0.1:5433", List.of("a standby of the writer"))));
  }

  @Test
  void aFailingRejoinIsPrintedWithItsStreakAndNoToken() {
    StepState failing =
        step(
            "postgres-guard",
            "REJOIN_FAILED",
            false,
            4,
            Duration.ofSeconds(90),
            Optional.of(Instant.parse("2026-12-06T05:58:30Z")),
            Optional.of("rejoin: pg_rewind exited 1; next attempt after 2026-12-06T06:00:16Z"));
    assertThat(StatusCommand.routineGuardState(failing)).isFalse();
    assertThat(StatusCommand.actionLine("n1", failing))
        .isEqualTo(
            "n1 postgres (postgres-guard): 127.0.0.1:5433 -> a standby of the writer REJOIN_FAILED"
                + " for 90.0 s since 2026-12-06T05:58:30Z (4 attempts); last error: rejoin:"
                + " pg_rewind exited 1; next attempt after 2026-12-06T06:00:16Z");
  }

  /** Issue 37: the top line says that maintenance is on, who set it, when and why. */
  @Test
  void theTopLineNamesMaintenanceWhileItIsOnOnly() {
    Maintenance on =
        new Maintenance(
            true,
            "database upgrade",
            Optional.of("n1"),
            Optional.of("ops-admin"),
            Optional.of(Instant.parse("2026-12-06T12:00:00Z")),
            42);
    assertThat(StatusCommand.maintenanceNote(Optional.of(on)))
        .isEqualTo(
            "; MAINTENANCE ON, set by ops-admin via n1 at 2026-12-06T12:00:00Z (that member's"
                + " clock): database upgrade");
    Maintenance off = new Maintenance(false, "", on.setBy(), on.client(), on.setAt(), 43);
    assertThat(StatusCommand.maintenanceNote(Optional.of(off))).isEmpty();
    // A server that predates the field.
    assertThat(StatusCommand.maintenanceNote(Optional.empty())).isEmpty();
    assertThat(MaintenanceCommand.describe(off))
        .isEqualTo(
            "maintenance OFF, set by ops-admin via n1 at 2026-12-06T12:00:00Z (that member's"
                + " clock)");
  }

  @Test
  void onlyGuardStatesAnOperatorMustSeeArePrinted() {
    for (String routine : new String[] {"STARTING", "NODE_ACTIVE", "NO_WRITER", "IS_WRITER"}) {
      assertThat(StatusCommand.routineGuardState(guard(routine, false))).as(routine).isTrue();
    }
    assertThat(StatusCommand.routineGuardState(guard("STANDBY", true))).isTrue();
    for (String shown : new String[] {"FENCED", "UNREACHABLE", "REJOIN_FAILED", "REJOINED"}) {
      assertThat(StatusCommand.routineGuardState(guard(shown, false))).as(shown).isFalse();
    }
    // A dns step is never a guard: its states are printed as before.
    assertThat(
            StatusCommand.routineGuardState(
                step(
                    "dns", "STANDBY", false, 0, Duration.ZERO, Optional.empty(), Optional.empty())))
        .isFalse();
  }
}
