package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.control.proto.ActionState;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.postgres.FormerPrimaryGuard.Outcome;
import java.time.Instant;
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
    ActionState a =
        ActionStates.guardState(
            "postgres", "127.0.0.1:5433", Outcome.REJOIN_FAILED, Optional.of(failure), NOW);

    assertThat(a.getType()).isEqualTo("postgres-guard");
    assertThat(a.getStep()).isEqualTo("postgres");
    assertThat(a.getState()).isEqualTo("REJOIN_FAILED");
    assertThat(a.getDone()).isFalse();
    assertThat(a.getAttempts()).isEqualTo(4);
    assertThat(a.getForMillis()).isEqualTo(90_000);
    assertThat(a.getSinceUnixMillis()).isEqualTo(NOW.minusSeconds(90).toEpochMilli());
    assertThat(a.getLastError())
        .contains("could not find common ancestor")
        .contains("next attempt after 2026-12-06T06:00:16Z");
    assertThat(a.getTargets(0).getName()).isEqualTo("127.0.0.1:5433");
  }

  @Test
  void aGuardIsDoneWhileItsServerFollowsTheWriter() {
    ActionState standby =
        ActionStates.guardState("postgres", "h:5432", Outcome.STANDBY, Optional.empty(), NOW);
    assertThat(standby.getDone()).isTrue();
    assertThat(standby.getAttempts()).isZero();
    assertThat(standby.getLastError()).isEmpty();

    ActionState starting =
        ActionStates.guardState("postgres", "h:5432", null, Optional.empty(), NOW);
    assertThat(starting.getState()).isEqualTo("STARTING");
    assertThat(starting.getDone()).isFalse();

    ActionState fenced =
        ActionStates.guardState("postgres", "h:5432", Outcome.FENCED, Optional.empty(), NOW);
    assertThat(fenced.getDone()).isFalse();
  }
}
