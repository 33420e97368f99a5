package dev.baton.sidecar;

import dev.baton.core.PromotionPlan;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.dns.DnsConverger;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
import dev.baton.sidecar.config.NodeService;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The control API status's {@code actions}: one entry per promotion step that keeps working beside
 * the role: each {@code dns} step in {@code mode: converge} (its names, what they should point to,
 * moved or not, since when), and each postgres step's former-primary guard that this sidecar runs
 * (type {@code postgres-guard}: the guard's last outcome, and a failing rejoin's streak). {@code
 * bin/baton status}, the status page and the sidecar's {@code /status} show them.
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
  static List<ActionState> of(PromotionPlan plan, List<FormerPrimaryGuardService> guards) {
    List<ActionState> out = new ArrayList<>();
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
  static ActionState guardState(
      String step,
      String server,
      FormerPrimaryGuard.Outcome outcome,
      Optional<FormerPrimaryGuard.RejoinFailure> failure,
      Instant now) {
    ActionState.Builder b =
        ActionState.newBuilder()
            .setStep(step)
            .setType("postgres-guard")
            .setState(outcome == null ? "STARTING" : outcome.name())
            .setDone(
                outcome == FormerPrimaryGuard.Outcome.STANDBY
                    || outcome == FormerPrimaryGuard.Outcome.REJOINED
                    || outcome == FormerPrimaryGuard.Outcome.RESTARTED)
            .addTargets(
                ActionTarget.newBuilder().setName(server).addPointsTo("a standby of the writer"));
    failure.ifPresent(
        f ->
            b.setSinceUnixMillis(f.since().toEpochMilli())
                .setForMillis(Math.max(0, Duration.between(f.since(), now).toMillis()))
                .setAttempts(f.attempts())
                .setLastError(f.lastError() + "; next attempt after " + f.nextAttemptAfter()));
    return b.build();
  }

  static ActionState of(DnsConverger c) {
    DnsConverger.Status s = c.status();
    ActionState.Builder b =
        ActionState.newBuilder()
            .setStep(s.step())
            .setType("dns")
            .setState(s.state().name())
            .setDone(s.state() == DnsConverger.State.CONVERGED)
            .setToken(s.token())
            .setSinceUnixMillis(s.sinceEpochMillis())
            .setForMillis(s.forMillis())
            .setAttempts(s.attempts())
            .setLastError(s.lastError())
            .setLastErrorUnixMillis(s.lastErrorEpochMillis());
    for (Map.Entry<String, List<String>> t : c.dnsSwitch().targets().entrySet()) {
      b.addTargets(ActionTarget.newBuilder().setName(t.getKey()).addAllPointsTo(t.getValue()));
    }
    return b.build();
  }
}
