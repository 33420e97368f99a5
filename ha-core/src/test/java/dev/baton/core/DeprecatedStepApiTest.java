package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.steps.TestStepContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * What 0.3 deprecated of the steps' API keeps working until it is removed (COMPATIBILITY.md,
 * "Deprecation"): a step written against the {@link ActionContext} methods keeps compiling and
 * running (the node calls the {@link StepContext} methods, whose defaults call the old ones), and
 * {@link PromotionPlan#steps()} lists what {@link PromotionPlan#stages()} does. The one place in
 * the build that still uses them.
 */
@SuppressWarnings("deprecation") // the old-style implementations are what this test is about
class DeprecatedStepApiTest {

  /** A fence as written for 0.2: it overrides the old {@code advance(long, ActionContext)}. */
  static final class OldFence implements Fence {
    final List<String> advanced = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
      return "old-fence";
    }

    @Override
    public void advance(long token, ActionContext context) {
      advanced.add(token + "/" + context.token() + "/" + context.phase());
    }

    @Override
    public long currentToken() {
      return BatonNode.NO_TOKEN;
    }
  }

  /** An action as written for 0.2: it overrides the old {@code promote/demote(ActionContext)}. */
  static final class OldAction implements PromotionAction {
    final List<String> runs = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
      return "old-action";
    }

    @Override
    public void promote(ActionContext context) {
      ActionContext.Phase phase = context.phase(); // the old nested name still compiles
      runs.add(phase + "@" + context.token() + " on " + context.nodeId());
    }

    @Override
    public void demote(ActionContext context) {
      runs.add(context.phase() + "@" + context.token() + " on " + context.nodeId());
    }
  }

  @Test
  void anActionContextBasedActionAndFenceInAPlanStillRunAndDemote() {
    OldFence fence = new OldFence();
    OldAction action = new OldAction();
    PromotionPlan plan = PromotionPlan.builder().fence(fence).action(action).build();
    try (TestCluster cluster =
        TestCluster.create(1, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(plan))) {
      cluster.start("n1");
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      long token = active.activeContext().orElseThrow().token();
      assertThat(fence.advanced).containsExactly(token + "/" + token + "/PROMOTE");
      assertThat(action.runs).containsExactly("PROMOTE@" + token + " on n1");
      assertThat(active.status().promotion().state()).isEqualTo(PromotionState.COMPLETED);
      cluster.stop("n1"); // a graceful close: the node demotes, through the old demote too
      assertThat(action.runs)
          .containsExactly("PROMOTE@" + token + " on n1", "DEMOTE@" + token + " on n1");
    }
  }

  @Test
  void theDeprecatedStepsListTheStagesWithANullForWhatTheyAreNot() {
    OldFence fence = new OldFence();
    OldAction action = new OldAction();
    StepPolicy bestEffort = StepPolicy.bestEffort();
    PromotionPlan plan = PromotionPlan.builder().action(action, bestEffort).fence(fence).build();
    assertThat(plan.stages())
        .containsExactly(
            new PromotionPlan.FenceStage("old-fence", fence, StepPolicy.mustSucceed()),
            new PromotionPlan.ActionStage("old-action", action, bestEffort));
    assertThat(plan.steps())
        .containsExactly(
            new PromotionPlan.Step("old-fence", fence, null, StepPolicy.mustSucceed()),
            new PromotionPlan.Step("old-action", null, action, bestEffort));
    assertThat(plan.steps()).extracting(PromotionPlan.Step::isFence).containsExactly(true, false);
  }

  @Test
  void aNewStyleStepCalledThroughTheOldMethodsGetsTheSameContext() throws Exception {
    List<StepContext> seen = new CopyOnWriteArrayList<>();
    PromotionAction action =
        new PromotionAction() {
          @Override
          public String name() {
            return "new";
          }

          @Override
          public void promote(StepContext context) {
            seen.add(context);
          }

          @Override
          public void demote(StepContext context) {
            seen.add(context);
          }
        };
    Fence fence =
        new Fence() {
          @Override
          public String name() {
            return "new-fence";
          }

          @Override
          public void advance(long token, StepContext context) {
            seen.add(context);
          }

          @Override
          public long currentToken() {
            return BatonNode.NO_TOKEN;
          }
        };
    TestStepContext ctx = TestStepContext.promote(7);
    ActionContext old = asOld(ctx);
    action.promote(old);
    action.demote(old);
    fence.advance(7, old);
    assertThat(seen).containsExactly(old, old, old);
  }

  @Test
  void anOldStyleWrapperAroundANewStyleStepRunsIt() throws Exception {
    List<Long> inner = new CopyOnWriteArrayList<>();
    PromotionAction newStyle =
        new PromotionAction() {
          @Override
          public String name() {
            return "inner";
          }

          @Override
          public void promote(StepContext context) {
            inner.add(context.token());
          }
        };
    PromotionAction oldWrapper =
        new PromotionAction() {
          @Override
          public String name() {
            return "wrapper";
          }

          @Override
          public void promote(ActionContext context) throws Exception {
            newStyle.promote(context);
          }
        };
    oldWrapper.promote(TestStepContext.promote(9));
    assertThat(inner).containsExactly(9L);
  }

  @Test
  void aStepThatImplementsNeitherMethodFailsNamingItsClassAndDemotesToNothing() throws Exception {
    PromotionAction neither = () -> "neither";
    assertThatThrownBy(() -> neither.promote(TestStepContext.promote(3)))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining(neither.getClass().getName())
        .hasMessageContaining("promote(StepContext)");
    neither.demote(TestStepContext.promote(3).demoting()); // the old default: nothing
    Fence noFence =
        new Fence() {
          @Override
          public String name() {
            return "no-fence";
          }

          @Override
          public long currentToken() {
            return BatonNode.NO_TOKEN;
          }
        };
    assertThatThrownBy(() -> noFence.advance(3, TestStepContext.promote(3)))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("advance(long, StepContext)");
  }

  /** {@code c} as a hand-written {@link ActionContext}, as a 0.2 test fake would be. */
  private static ActionContext asOld(TestStepContext c) {
    return new ActionContext() {
      @Override
      public long token() {
        return c.token();
      }

      @Override
      public String nodeId() {
        return c.nodeId();
      }

      @Override
      public java.util.Optional<String> previousActive() {
        return c.previousActive();
      }

      @Override
      public long previousToken() {
        return c.previousToken();
      }

      @Override
      public boolean isLeaseValid() {
        return c.isLeaseValid();
      }

      @Override
      public String clusterId() {
        return c.clusterId();
      }

      @Override
      public Phase phase() {
        return c.phase();
      }

      @Override
      public int attempt() {
        return c.attempt();
      }

      @Override
      public Duration deadline() {
        return c.deadline();
      }

      @Override
      public java.util.OptionalLong lastCompletedToken() {
        return c.lastCompletedToken();
      }

      @Override
      public org.slf4j.Logger log() {
        return c.log();
      }
    };
  }
}
