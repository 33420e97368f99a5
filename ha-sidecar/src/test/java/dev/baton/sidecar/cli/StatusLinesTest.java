package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The lines {@code bin/baton status} prints under its table for the steps beside the role. */
class StatusLinesTest {

  private static ActionState guard(String state, boolean done) {
    return ActionState.newBuilder()
        .setStep("postgres")
        .setType("postgres-guard")
        .setState(state)
        .setDone(done)
        .addTargets(
            ActionTarget.newBuilder()
                .setName("127.0.0.1:5433")
                .addPointsTo("a standby of the writer"))
        .build();
  }

  @Test
  void aFailingRejoinIsPrintedWithItsStreakAndNoToken() {
    ActionState failing =
        guard("REJOIN_FAILED", false).toBuilder()
            .setAttempts(4)
            .setForMillis(90_000)
            .setSinceUnixMillis(Instant.parse("2026-12-06T05:58:30Z").toEpochMilli())
            .setLastError("rejoin: pg_rewind exited 1; next attempt after 2026-12-06T06:00:16Z")
            .build();
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
    MaintenanceState on =
        MaintenanceState.newBuilder()
            .setOn(true)
            .setReason("database upgrade")
            .setSetBy("n1")
            .setClient("ops-admin")
            .setSetAtUnixMillis(Instant.parse("2026-12-06T12:00:00Z").toEpochMilli())
            .setIndex(42)
            .build();
    assertThat(
            StatusCommand.maintenanceNote(StatusResponse.newBuilder().setMaintenance(on).build()))
        .isEqualTo(
            "; MAINTENANCE ON, set by ops-admin via n1 at 2026-12-06T12:00:00Z (that member's"
                + " clock): database upgrade");
    MaintenanceState off = on.toBuilder().setOn(false).setReason("").setIndex(43).build();
    assertThat(
            StatusCommand.maintenanceNote(StatusResponse.newBuilder().setMaintenance(off).build()))
        .isEmpty();
    // A server that predates the field.
    assertThat(StatusCommand.maintenanceNote(StatusResponse.getDefaultInstance())).isEmpty();
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
                ActionState.newBuilder().setType("dns").setState("STANDBY").build()))
        .isFalse();
  }
}
