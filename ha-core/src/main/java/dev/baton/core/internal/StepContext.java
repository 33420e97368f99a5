package dev.baton.core.internal;

import dev.baton.core.ActionContext;
import dev.baton.core.ActiveContext;
import java.time.Duration;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What one attempt of one step sees of its activation: the {@link ActionContext} it is given. */
final class StepContext extends ActivationFacts implements ActionContext {
  private final NodeConfig config;
  private final ActiveContext active;
  private final Journal journal;
  private final MonotonicClock clock;
  private final String step;
  private final int attempt;
  private final Phase phase;
  private final long deadlineNanos;
  private final Logger log;

  StepContext(
      NodeConfig config,
      RoleController.Activation activation,
      ActiveContext active,
      Journal journal,
      MonotonicClock clock,
      String step,
      int attempt,
      Phase phase,
      Duration timeout) {
    super(activation, config.self().id(), active);
    this.config = config;
    this.active = active;
    this.journal = journal;
    this.clock = clock;
    this.step = step;
    this.attempt = attempt;
    this.phase = phase;
    this.deadlineNanos = clock.nanoTime() + timeout.toNanos();
    this.log = LoggerFactory.getLogger("dev.baton.action." + step);
  }

  @Override
  public String clusterId() {
    return config.clusterId();
  }

  @Override
  public Phase phase() {
    return phase;
  }

  @Override
  public int attempt() {
    return attempt;
  }

  @Override
  public Duration deadline() {
    return Duration.ofNanos(deadlineNanos - clock.nanoTime());
  }

  @Override
  public OptionalLong lastCompletedToken() {
    return journal.lastCompletedToken(step);
  }

  @Override
  public boolean isLeaseValid() {
    return active.isLeaseValid();
  }

  @Override
  public Logger log() {
    return log;
  }

  @Override
  public String toString() {
    return "ActionContext["
        + step
        + ", token "
        + token()
        + ", "
        + phase
        + ", attempt "
        + attempt
        + "]";
  }
}
