package dev.baton.sidecar;

import dev.baton.core.PromotionPlan;
import dev.baton.core.control.StatusReport.StepState;
import dev.baton.core.control.StatusReport.Target;
import dev.baton.dns.DnsConverger;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
import dev.baton.sidecar.config.NodeService;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The control API status's steps ({@code StatusReport.steps()}, the message's {@code actions}): one
 * entry per promotion step that keeps working beside the role: each {@code dns} step in {@code
 * mode: converge} (its names, what they should point to, moved or not, since when), and each
 * postgres step's former-primary guard that this sidecar runs (type {@code postgres-guard}: the
 * guard's last outcome, and a failing rejoin's streak). {@code bin/baton status}, the status page
 * and the sidecar's {@code /status} show them.
 */
final class ActionStates {
  private ActionStates() {}

  /** The plan's converge-mode dns steps, in plan order. */
  static List<DnsConverger> convergers(PromotionPlan plan) {
    return plan.stages().stream()
        .filter(PromotionPlan.ActionStage.class::isInstance)
        .map(s -> ((PromotionPlan.ActionStage) s).action())
        .filter(DnsConverger.class::isInstance)
        .map(DnsConverger.class::cast)
        .toList();
  }

  /** The former-primary guards this sidecar runs ({@code runIn: sidecar}). */
  static List<FormerPrimaryGuardService> guards(List<NodeService> services) {
    return services.stream()
        .filter(FormerPrimaryGuardService.class::isInstance)
        .map(FormerPrimaryGuardService.class::cast)
        .filter(FormerPrimaryGuardService::inSidecar)
        .toList();
  }

  /**
   * Every converge-mode dns step's state now, then every guard's; cheap, never blocks on DNS or
   * PostgreSQL.
   */
  static List<StepState> of(PromotionPlan plan, List<FormerPrimaryGuardService> guards) {
    List<StepState> out = new ArrayList<>();
    for (DnsConverger c : convergers(plan)) {
      out.add(of(c));
    }
    Instant now = Instant.now();
    for (FormerPrimaryGuardService g : guards) {
      Optional<FormerPrimaryGuard> guard = g.guard();
      out.add(
          guardState(
              g.stepName(),
              g.server().address(),
              guard.map(FormerPrimaryGuard::lastOutcome).orElse(null),
              guard.flatMap(FormerPrimaryGuard::rejoinFailure),
              now));
    }
    return out;
  }

  /**
   * A guard's entry: its state is its last outcome ({@code STARTING} before the first check);
   * {@code done} while the server it guards follows the writer (STANDBY, REJOINED, RESTARTED); a
   * failing rejoin gives its streak's start, attempts, last error and next attempt.
   */
  static StepState guardState(
      String step,
      String server,
      FormerPrimaryGuard.Outcome outcome,
      Optional<FormerPrimaryGuard.RejoinFailure> failure,
      Instant now) {
    return new StepState(
        step,
        "postgres-guard",
        outcome == null ? "STARTING" : outcome.name(),
        outcome == FormerPrimaryGuard.Outcome.STANDBY
            || outcome == FormerPrimaryGuard.Outcome.REJOINED
            || outcome == FormerPrimaryGuard.Outcome.RESTARTED,
        0,
        failure.map(FormerPrimaryGuard.RejoinFailure::since),
        failure
            .map(f -> Duration.ofMillis(Math.max(0, Duration.between(f.since(), now).toMillis())))
            .orElse(Duration.ZERO),
        failure.map(FormerPrimaryGuard.RejoinFailure::attempts).orElse(0),
        failure.map(f -> f.lastError() + "; next attempt after " + f.nextAttemptAfter()),
        Optional.empty(),
        List.of(new Target(server, List.of("a standby of the writer"))));
  }

  static StepState of(DnsConverger c) {
    DnsConverger.Status s = c.status();
    return new StepState(
        s.step(),
        "dns",
        s.state().name(),
        s.state() == DnsConverger.State.CONVERGED,
        s.token(),
        instant(s.sinceEpochMillis()),
        Duration.ofMillis(s.forMillis()),
        s.attempts(),
        s.lastError().isEmpty() ? Optional.empty() : Optional.of(s.lastError()),
        instant(s.lastErrorEpochMillis()),
        c.dnsSwitch().targets().entrySet().stream()
            .map(t -> new Target(t.getKey(), t.getValue()))
            .toList());
  }

  /** The control API's convention, which the message carries: 0 is no time. */
  private static Optional<Instant> instant(long epochMillis) {
    return epochMillis == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(epochMillis));
  }
}
