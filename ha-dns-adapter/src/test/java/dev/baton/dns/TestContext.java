package dev.baton.dns;

import dev.baton.core.ActionContext;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A plain value for the action context the core would pass; not a mock. */
record TestContext(long token, String nodeId, Duration deadline) implements ActionContext {

  static TestContext promote(long token, String nodeId) {
    return new TestContext(token, nodeId, Duration.ofSeconds(30));
  }

  @Override
  public String clusterId() {
    return "test-cluster";
  }

  @Override
  public Optional<String> previousActive() {
    return Optional.empty();
  }

  @Override
  public long previousToken() {
    return 0;
  }

  @Override
  public Phase phase() {
    return Phase.PROMOTE;
  }

  @Override
  public int attempt() {
    return 1;
  }

  @Override
  public OptionalLong lastCompletedToken() {
    return OptionalLong.empty();
  }

  @Override
  public boolean isLeaseValid() {
    return true;
  }

  @Override
  public Logger log() {
    return LoggerFactory.getLogger("dev.baton.dns.test." + nodeId);
  }
}
