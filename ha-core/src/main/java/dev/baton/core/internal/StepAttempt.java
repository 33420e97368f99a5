package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.StepContext;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one attempt of one step sees of its activation: the {@link StepContext} it is given. Its
 * activation's token, node, previous active and lease are those of the {@link ActiveContext} of
 * that activation ({@link ActivationContext}), asked of it at each call: one implementation of
 * them.
 */
final class StepAttempt implements StepContext {
  private final NodeConfig config;
  private final ActiveContext active;
  private final Journal journal;
  private final MonotonicClock clock;
  private final String step;
  private final int attempt;
  private final Phase phase;
  private final long deadlineNanos;
  private final Logger log;

  StepAttempt(
      NodeConfig config,
      ActiveContext active,
      Journal journal,
      MonotonicClock clock,
      String step,
      int attempt,
      Phase phase,
      Duration timeout) {
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
  public long token() {
    return active.token();
  }

  @Override
  public String nodeId() {
    return active.nodeId();
  }

  @Override
  public Optional<String> previousActive() {
    return active.previousActive();
  }

  @Override
  public long previousToken() {
    return active.previousToken();
  }

  @Override
  public boolean isLeaseValid() {
    return active.isLeaseValid();
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
  public Logger log() {
    return log;
  }

  @Override
  public String toString() {
    return "StepContext["
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
