package dev.baton.testing.steps;

import dev.baton.core.BatonNode;
import dev.baton.core.StepContext;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A plain {@link StepContext} value, for tests that run a step (an action or a fence) without a
 * cluster: what the node would pass, not a mock. The one such fake of every module's tests (the
 * adapters' and the benchmarks', through baton-testing).
 */
public record TestStepContext(
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
    implements StepContext {

  /**
   * A first promotion attempt of node {@code node-test} in {@code test-cluster} with {@code token},
   * a 60 s deadline, a valid lease and no previous active.
   */
  public static TestStepContext promote(long token) {
    return promote(token, "node-test");
  }

  /** As {@link #promote(long)}, on node {@code nodeId}. */
  public static TestStepContext promote(long token, String nodeId) {
    return new TestStepContext(
        token,
        "test-cluster",
        nodeId,
        Optional.empty(),
        BatonNode.NO_TOKEN,
        Phase.PROMOTE,
        1,
        Duration.ofSeconds(60),
        OptionalLong.empty(),
        true);
  }

  /** The same context with the demote phase. */
  public TestStepContext demoting() {
    return new TestStepContext(
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

  /** The same context for attempt {@code n}. */
  public TestStepContext attempt(int n) {
    return new TestStepContext(
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

  /** The same context with {@code deadline} left for the attempt. */
  public TestStepContext withDeadline(Duration deadline) {
    return new TestStepContext(
        token,
        clusterId,
        nodeId,
        previousActive,
        previousToken,
        phase,
        attempt,
        deadline,
        lastCompletedToken,
        isLeaseValid);
  }

  /** The same context in cluster {@code clusterId}, after {@code previous}'s activation. */
  public TestStepContext after(String clusterId, String previous, long previousToken) {
    return new TestStepContext(
        token,
        clusterId,
        nodeId,
        Optional.of(previous),
        previousToken,
        phase,
        attempt,
        deadline,
        lastCompletedToken,
        isLeaseValid);
  }

  @Override
  public Logger log() {
    return LoggerFactory.getLogger("dev.baton.test.action." + nodeId);
  }
}
