package dev.baton.core.internal;

import dev.baton.core.ActionContext;
import dev.baton.core.ActiveContext;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What one attempt of one step sees of its activation: the {@link ActionContext} it is given. */
final class StepContext implements ActionContext {
  private final NodeConfig config;
  private final RoleController.Activation activation;
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
    this.config = config;
    this.activation = activation;
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
  public long token() {
    return activation.token();
  }

  @Override
  public String clusterId() {
    return config.clusterId();
  }

  @Override
  public String nodeId() {
    return config.self().id();
  }

  @Override
  public Optional<String> previousActive() {
    return activation.previousActive();
  }

  @Override
  public long previousToken() {
    return activation.previousToken();
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
        + activation.token()
        + ", "
        + phase
        + ", attempt "
        + attempt
        + "]";
  }
}
