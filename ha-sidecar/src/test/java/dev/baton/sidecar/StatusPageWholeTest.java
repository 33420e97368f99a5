package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Activation;
import dev.baton.core.JournalEntry;
import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.StatusReport;
import dev.baton.core.control.proto.Role;
import dev.baton.postgres.FormerPrimaryGuard;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The whole status page, byte for byte, as the active and as a standby see the cluster: every field
 * of the status set (every member health, maintenance on, a health check down, a failed promotion,
 * both kinds of step) and a history longer than the timeline shows, with every reason, open and
 * failed steps, resignations and failover figures. The files in {@code status-page/} are the pages
 * the sidecar rendered from the control API's messages before it read Baton's records (issue 30):
 * the records must render the same pages. A change to the page on purpose writes the new page over
 * the file, and the diff is reviewed with the change.
 */
class StatusPageWholeTest {
  private static final Instant NOW = Instant.parse("2026-12-07T08:00:00Z");

  /**
   * {@code nodeId}'s status as its control server gives it to the page: read from the message it
   * answers ({@link StatusMessages#status}), with a former-primary guard beside the dns step, its
   * rejoin failing.
   */
  private static StatusReport status(String nodeId, Role role, long token) {
    StatusReport r = ControlMessages.statusReport(StatusMessages.status(nodeId, role, token));
    List<StatusReport.StepState> steps = new ArrayList<>(r.steps());
    steps.add(
        ActionStates.guardState(
            "postgres",
            "10.0.1.1:5432",
            FormerPrimaryGuard.Outcome.REJOIN_FAILED,
            Optional.of(
                new FormerPrimaryGuard.RejoinFailure(
                    2, NOW.minusSeconds(30), "pg_rewind <exited 1>", NOW.plusSeconds(10))),
            NOW));
    return new StatusReport(r.node(), r.peers(), steps, r.maintenance());
  }

  private static Activation.Step step(String n, JournalEntry.Outcome o, Long ms, String err) {
    return new Activation.Step(
        n,
        1,
        o,
        ms == null ? Optional.empty() : Optional.of(Duration.ofMillis(ms)),
        Optional.ofNullable(err));
  }

  /**
   * {@code n} activations in token order, then a switch-over that holds the role now: every reason
   * in turn; every third not promoted (a failed step, or one still open on even tokens), the odd
   * ones of them resigned; every fourth of a node that is no longer a member (its id needs
   * escaping); odd tokens with a failover figure, token 6 with a zero one; token 5 without a time.
   */
  private static List<Activation> history(int n) {
    List<Activation> out = new ArrayList<>();
    Activation.Reason[] reasons = Activation.Reason.values();
    for (int i = 1; i <= n; i++) {
      Activation.Reason r = reasons[i % reasons.length];
      boolean promoted = i % 3 != 0;
      List<Activation.Step> steps = new ArrayList<>();
      steps.add(step("dns", JournalEntry.Outcome.COMPLETED, 120L + i, null));
      if (!promoted) {
        steps.add(
            step(
                "pg",
                i % 2 == 0 ? JournalEntry.Outcome.STARTED : JournalEntry.Outcome.FAILED,
                i % 2 == 0 ? null : 10L,
                i % 2 == 0 ? null : "boom <x>"));
      }
      out.add(
          new Activation(
              i % 4 == 0 ? "gone<b>" : (i % 2 == 0 ? "n2" : "n1"),
              i,
              3,
              i == 5
                  ? Optional.empty()
                  : Optional.of(Instant.ofEpochMilli(1_765_000_000_000L + 1000L * i)),
              r,
              i % 5 == 0 ? Optional.of("n3") : Optional.empty(),
              i == 1 ? Optional.empty() : Optional.of("n1"),
              i - 1,
              promoted,
              i % 3 == 0 && i % 2 == 1 ? Optional.of("health <x>") : Optional.empty(),
              steps,
              i % 2 == 1
                  ? Optional.of(Duration.ofNanos(1_103_456_789L * i / 3))
                  : (i == 6 ? Optional.of(Duration.ZERO) : Optional.empty())));
    }
    out.add(
        new Activation(
            "n2",
            42,
            3,
            Optional.of(Instant.ofEpochMilli(1_765_000_100_000L)),
            Activation.Reason.SWITCH_ACTIVE,
            Optional.of("n1"),
            Optional.of("n1"),
            20,
            true,
            Optional.empty(),
            List.of(step("dns", JournalEntry.Outcome.COMPLETED, 300L, null)),
            Optional.empty()));
    return out;
  }

  private static String expected(String file) throws IOException {
    try (InputStream in = StatusPageWholeTest.class.getResourceAsStream("/status-page/" + file)) {
      assertThat(in).as("status-page/" + file + " on the test classpath").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void theActivesPageIsThePageTheMessagesRendered() throws IOException {
    assertThat(StatusPage.render(status("n1", Role.ACTIVE, 42), history(13), NOW))
        .isEqualTo(expected("active-n1.html"));
  }

  @Test
  void aStandbysPageIsThePageTheMessagesRendered() throws IOException {
    assertThat(StatusPage.render(status("n2", Role.STANDBY, 0), history(3), NOW))
        .isEqualTo(expected("standby-n2.html"));
  }
}
