package dev.baton.core.internal;

import dev.baton.core.StaleTokenException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * One job: how the plan's steps report their outcomes: counted in the {@code baton.promotion.steps}
 * meter (per cluster, node, step and outcome), and their errors described for logs and status in
 * words that never throw. Used by {@link PlanRunner} and {@link StepPreflight}.
 */
final class StepOutcomes {
  private final NodeConfig config;
  private final MeterRegistry registry;

  /** {@code registry} may be null: nothing is counted then. */
  StepOutcomes(NodeConfig config, MeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  void count(String step, String outcome) {
    if (registry != null) {
      Counter.builder("baton.promotion.steps")
          .description("promotion and demotion step outcomes")
          .tags(
              "cluster",
              config.clusterId(),
              "node",
              config.self().id(),
              "step",
              step,
              "outcome",
              outcome)
          .register(registry)
          .increment();
    }
  }

  static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      if (t instanceof StaleTokenException) {
        return t;
      }
      t = t.getCause();
    }
    return t;
  }

  /** A description of {@code t} that never throws, even when its own methods do. */
  static String safeDescribe(Throwable t) {
    try {
      return t.getClass().getName() + ": " + describe(t);
    } catch (RuntimeException e) {
      return t.getClass().getName();
    }
  }

  static String describe(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }
}
