package dev.baton.sidecar;

import dev.baton.core.PromotionPlan;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.dns.DnsConverger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The control API status's {@code actions}: one entry per promotion step that keeps working beside
 * the role, today each {@code dns} step in {@code mode: converge} (its names, what they should
 * point to, moved or not, since when). {@code bin/baton status} and the sidecar's {@code /status}
 * show them.
 */
final class ActionStates {
  private ActionStates() {}

  /** The plan's converge-mode dns steps, in plan order. */
  static List<DnsConverger> convergers(PromotionPlan plan) {
    return plan.steps().stream()
        .map(PromotionPlan.Step::action)
        .filter(DnsConverger.class::isInstance)
        .map(DnsConverger.class::cast)
        .toList();
  }

  /** Every converge-mode dns step's state now; cheap, never blocks on DNS. */
  static List<ActionState> of(PromotionPlan plan) {
    List<ActionState> out = new ArrayList<>();
    for (DnsConverger c : convergers(plan)) {
      out.add(of(c));
    }
    return out;
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
