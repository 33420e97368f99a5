package dev.baton.testing.steps;

import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.StepContext;
import dev.baton.core.StepPolicy;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A promotion plan of one required step, {@code fragile} (one attempt), that fails with "writer
 * unreachable from NODE" on the node named by {@link #breakOn} and succeeds everywhere else. It
 * keeps the previous active that each activation's step was told ({@link #previousSeenBy}).
 */
public final class FragilePlan {
  private final AtomicReference<String> broken = new AtomicReference<>("");
  private final Map<Long, String> previousSeen = new ConcurrentHashMap<>();
  private final PromotionPlan plan =
      PromotionPlan.builder()
          .action(
              new PromotionAction() {
                @Override
                public String name() {
                  return "fragile";
                }

                @Override
                public void promote(StepContext ctx) {
                  previousSeen.putIfAbsent(
                      ctx.token(), ctx.previousActive().orElse("") + "@" + ctx.previousToken());
                  if (ctx.nodeId().equals(broken.get())) {
                    throw new IllegalStateException("writer unreachable from " + ctx.nodeId());
                  }
                }
              },
              StepPolicy.mustSucceed().withMaxAttempts(1).withTimeout(Duration.ofSeconds(10)))
          .build();

  /** The plan, for every node of the cluster. */
  public PromotionPlan plan() {
    return plan;
  }

  /** From now on the step fails on {@code nodeId}. */
  public void breakOn(String nodeId) {
    broken.set(nodeId);
  }

  /**
   * The previous active the step of the activation with {@code token} was told, as {@code
   * NODE@TOKEN} ({@code @0} for none), if the step ran for it.
   */
  public Optional<String> previousSeenBy(long token) {
    return Optional.ofNullable(previousSeen.get(token));
  }
}
