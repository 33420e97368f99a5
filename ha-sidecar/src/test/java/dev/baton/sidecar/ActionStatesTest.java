package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.StatusReport;
import dev.baton.core.control.StatusReport.StepState;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.postgres.FormerPrimaryGuard.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How a former-primary guard shows in status ({@code StatusLinesTest}: how the CLI prints it). */
class ActionStatesTest {
  private static final Instant NOW = Instant.parse("2026-12-06T06:00:00Z");

  @Test
  void aFailingRejoinShowsItsStreak() {
    FormerPrimaryGuard.RejoinFailure failure =
        new FormerPrimaryGuard.RejoinFailure(
            4,
            NOW.minusSeconds(90),
            "rejoin: pg_rewind of 127.0.0.1:5433 exited 1: could not find common ancestor",
            NOW.plusSeconds(16));
    StepState a =
        ActionStates.guardState(
            "postgres", "127.0.0.1:5433", Outcome.REJOIN_FAILED, Optional.of(failure), NOW);

    assertThat(a.type()).isEqualTo("postgres-guard");
    assertThat(a.step()).isEqualTo("postgres");
    assertThat(a.state()).isEqualTo("REJOIN_FAILED");
    assertThat(a.done()).isFalse();
    assertThat(a.attempts()).isEqualTo(4);
    assertThat(a.lasted()).isEqualTo(Duration.ofSeconds(90));
    assertThat(a.since()).contains(NOW.minusSeconds(90));
    assertThat(a.lastError())
        .hasValueSatisfying(
            e ->
                assertThat(e)
                    .contains("could not find common ancestor")
                    .contains("next attempt after 2026-12-06T06:00:16Z"));
    assertThat(a.targets().get(0).name()).isEqualTo("127.0.0.1:5433");
  }

  @Test
  void aGuardIsDoneWhileItsServerFollowsTheWriter() {
    StepState standby =
        ActionStates.guardState("postgres", "h:5432", Outcome.STANDBY, Optional.empty(), NOW);
    assertThat(standby.done()).isTrue();
    assertThat(standby.attempts()).isZero();
    assertThat(standby.lastError()).isEmpty();

    StepState starting = ActionStates.guardState("postgres", "h:5432", null, Optional.empty(), NOW);
    assertThat(starting.state()).isEqualTo("STARTING");
    assertThat(starting.done()).isFalse();

    StepState fenced =
        ActionStates.guardState("postgres", "h:5432", Outcome.FENCED, Optional.empty(), NOW);
    assertThat(fenced.done()).isFalse();
  }

  /**
   * The guard's state goes out as the message the sidecar built itself before it handed the server
   * records (issue 30): {@code /status}, {@code bin/baton status --json} and the wire unchanged.
   */
  @Test
  void aGuardsStateGoesOutAsTheSameMessage() {
    FormerPrimaryGuard.RejoinFailure failure =
        new FormerPrimaryGuard.RejoinFailure(
            4, NOW.minusSeconds(90), "rejoin failed", NOW.plusSeconds(16));
    StepState failing =
        ActionStates.guardState(
            "postgres", "127.0.0.1:5433", Outcome.REJOIN_FAILED, Optional.of(failure), NOW);
    StepState standby =
        ActionStates.guardState("postgres", "h:5432", Outcome.STANDBY, Optional.empty(), NOW);
    StatusReport node = ControlMessages.statusReport(StatusResponse.getDefaultInstance());
    StatusResponse sent =
        ControlMessages.status(
            new StatusReport(node.node(), Map.of(), List.of(failing, standby), Optional.empty()));

    assertThat(sent.getActionsList())
        .containsExactly(
            ActionState.newBuilder()
                .setStep("postgres")
                .setType("postgres-guard")
                .setState("REJOIN_FAILED")
                .addTargets(
                    ActionTarget.newBuilder()
                        .setName("127.0.0.1:5433")
                        .addPointsTo("a standby of the writer"))
                .setSinceUnixMillis(NOW.minusSeconds(90).toEpochMilli())
                .setForMillis(90_000)
                .setAttempts(4)
                .setLastError("rejoin failed; next attempt after 2026-12-06T06:00:16Z")
                .build(),
            ActionState.newBuilder()
                .setStep("postgres")
                .setType("postgres-guard")
                .setState("STANDBY")
                .setDone(true)
                .addTargets(
                    ActionTarget.newBuilder()
                        .setName("h:5432")
                        .addPointsTo("a standby of the writer"))
                .build());
  }
}
