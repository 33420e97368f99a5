package dev.baton.sidecar.config;

import dev.baton.core.PromotionPlan;
import dev.baton.core.StepPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code promotion:} section (docs/sidecar-config.md): the watchdog and the steps, each with
 * its retry policy and the keys of its {@link StepType}. Every problem names the file, the line and
 * the key.
 */
final class PromotionSection {
  private static final List<String> COMMON_STEP_KEYS =
      List.of("name", "type", "required", "timeout", "maxAttempts", "backoff", "maxBackoff");

  private PromotionSection() {}

  static PromotionPlan parse(
      Yaml yaml,
      Yaml.Section p,
      StepType.Scope scope,
      List<NodeService> services,
      boolean asClient) {
    p.allow("watchdog", "steps");
    PromotionPlan.Builder plan = PromotionPlan.builder().watchdog(p.bool("watchdog", true));
    Set<String> names = new LinkedHashSet<>();
    for (Yaml.Section step : p.sections("steps")) {
      String name =
          step.required("name", "a unique name for the step, used in logs and the journal");
      String type = step.required("type", "one of " + allowedTypes());
      StepType stepType = type == null ? null : StepType.KNOWN.get(type);
      if (type != null && stepType == null) {
        yaml.problem(
            step.valueNode("type"),
            Yaml.join(step.path(), "type"),
            "'" + type + "' is not a known step type; allowed: " + allowedTypes());
      }
      List<String> allowed = new ArrayList<>(COMMON_STEP_KEYS);
      if (stepType != null) {
        allowed.addAll(stepType.keys());
      }
      step.allow(allowed.toArray(String[]::new));
      if (name != null && !names.add(name)) {
        yaml.problem(
            step.valueNode("name"),
            Yaml.join(step.path(), "name"),
            "'" + name + "' is used by another step; names must be unique");
      }
      StepPolicy policy = policy(yaml, step);
      if (asClient && !(stepType instanceof PostgresStep)) {
        continue; // a client beside the node needs only the postgres steps' guards
      }
      StepType.Built built =
          stepType == null || name == null ? null : stepType.build(name, step, scope);
      if (built != null && policy != null) {
        plan.action(built.action(), policy);
        services.addAll(built.services());
      }
    }
    try {
      return plan.build();
    } catch (IllegalArgumentException e) {
      yaml.problem(p.node(), "promotion", e.getMessage());
      return PromotionPlan.empty();
    }
  }

  private static StepPolicy policy(Yaml yaml, Yaml.Section step) {
    StepPolicy d = StepPolicy.mustSucceed();
    boolean required = step.bool("required", true);
    Duration timeout = step.duration("timeout").orElse(d.timeout());
    int attempts = step.integer("maxAttempts", d.maxAttempts(), 1, 100);
    Duration backoff = step.duration("backoff").orElse(d.initialBackoff());
    Duration maxBackoff = step.duration("maxBackoff").orElse(d.maxBackoff());
    try {
      return new StepPolicy(timeout, attempts, backoff, maxBackoff, required);
    } catch (IllegalArgumentException e) {
      yaml.problem(step.node(), step.path(), e.getMessage());
      return null;
    }
  }

  private static String allowedTypes() {
    return String.join(", ", new TreeSet<>(StepType.KNOWN.keySet()));
  }
}
