package dev.baton.postgres.testing;

import dev.baton.core.ActionContext;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A plain {@link ActionContext} value for tests that run actions without a cluster. */
public record TestActionContext(
    long token,
    String clusterId,
    String nodeId,
    Optional<String> previousActive,
    long previousToken,
    Phase phase,
    int attempt,
    Duration deadline,
    OptionalLong lastCompletedToken,
    boolean isLeaseValid)
    implements ActionContext {

  /** A first promotion attempt with {@code token}, a 60 s deadline and a valid lease. */
  public static TestActionContext promote(long token) {
    return new TestActionContext(
        token,
        "test-cluster",
        "node-test",
        Optional.empty(),
        0,
        Phase.PROMOTE,
        1,
        Duration.ofSeconds(60),
        OptionalLong.empty(),
        true);
  }

  /** The same context with the demote phase. */
  public TestActionContext demoting() {
    return new TestActionContext(
        token,
        clusterId,
        nodeId,
        previousActive,
        previousToken,
        Phase.DEMOTE,
        attempt,
        deadline,
        lastCompletedToken,
        isLeaseValid);
  }

  /** The same context for a later attempt. */
  public TestActionContext attempt(int n) {
    return new TestActionContext(
        token,
        clusterId,
        nodeId,
        previousActive,
        previousToken,
        phase,
        n,
        deadline,
        lastCompletedToken,
        isLeaseValid);
  }

  @Override
  public Logger log() {
    return LoggerFactory.getLogger("dev.baton.postgres.action." + nodeId);
  }
}
