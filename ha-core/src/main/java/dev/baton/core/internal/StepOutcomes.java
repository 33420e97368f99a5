package dev.baton.core.internal;

import dev.baton.core.StaleTokenException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One job: how the plan's steps report their outcomes: counted in the {@code baton.promotion.steps}
 * meter (per cluster, node, step and outcome), and their errors described for logs and status in
 * words that never throw. Used by {@link PlanRunner} and {@link StepPreflight}. The meters are
 * registered through the node's {@link NodeMetrics}, which removes them when the node closes.
 */
final class StepOutcomes {
  /** The histogram's buckets: from a fast fence write to a step near its default timeout. */
  static final Duration[] BUCKETS = {
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60)
  };

  private final NodeConfig config;
  private final NodeMetrics metrics;

  StepOutcomes(NodeConfig config, NodeMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
  }

  void count(String step, String outcome) {
    Counter counter =
        metrics.register(
            r ->
                Counter.builder("baton.promotion.steps")
                    .description("promotion and demotion step outcomes")
                    .tags(NodeMetrics.nodeTags(config.clusterId(), config.self().id()))
                    .tags("step", step, "outcome", outcome)
                    .register(r));
    if (counter != null) {
      counter.increment();
    }
  }

  /**
   * One attempt of a step took {@code nanos}: recorded in the histogram {@code
   * baton_promotion_step_duration_seconds{step,phase,outcome}}.
   */
  void time(String step, String phase, String outcome, long nanos) {
    Timer timer =
        metrics.register(
            r ->
                Timer.builder("baton.promotion.step.duration")
                    .description("how long one attempt of a promotion or demotion step took")
                    .tags(NodeMetrics.nodeTags(config.clusterId(), config.self().id()))
                    .tags("step", step, "phase", phase, "outcome", outcome)
                    .serviceLevelObjectives(BUCKETS)
                    .register(r));
    if (timer != null) {
      timer.record(nanos, TimeUnit.NANOSECONDS);
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
