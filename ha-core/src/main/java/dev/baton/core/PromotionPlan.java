package dev.baton.core;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a node does when it becomes active: advance every {@link Fence} to the new token, then run
 * the {@link PromotionAction}s in order. When it stops being active it runs the actions' demotions
 * in reverse order, bounded by what is left of its lease.
 *
 * <pre>{@code
 * PromotionPlan plan = PromotionPlan.builder()
 *     .fence(dnsSwitch.fence())                              // always before any action
 *     .action(promotePostgresStandby)                        // required, 3 attempts
 *     .action(dnsSwitch, StepPolicy.mustSucceed().withTimeout(Duration.ofSeconds(10)))
 *     .action(ExecAction.builder("notify").command("/usr/local/bin/notify-oncall").build(),
 *             StepPolicy.bestEffort())
 *     .build();
 * }</pre>
 *
 * <p>A fence in the plan must be reachable from the new active whatever failed: a database that
 * fails over with the role (its old primary may be gone) is fenced by its promotion action on the
 * new primary instead.
 *
 * <p>Every step's start, completion and failure is journaled through Raft (invariant I5). A node
 * that takes over after its predecessor crashed mid-plan runs the whole plan again with its own,
 * higher token, so actions must be idempotent; {@link StepContext#lastCompletedToken()} tells an
 * action what the journal holds.
 */
public final class PromotionPlan {

  /**
   * One step of the plan, in the order it runs: a {@link FenceStage} or an {@link ActionStage}. A
   * caller that takes a plan apart matches on the two (the plan has no other kind).
   */
  public sealed interface Stage permits FenceStage, ActionStage {
    /** The step's name, unique in the plan: the fence's or action's {@code name()} when added. */
    String name();

    /** The step's timeout, attempts, backoff and whether it is required. */
    StepPolicy policy();
  }

  /** A fence to advance to the new token, before any action. */
  public record FenceStage(String name, Fence fence, StepPolicy policy) implements Stage {
    public FenceStage {
      Objects.requireNonNull(fence, "fence");
      Objects.requireNonNull(policy, "policy");
    }
  }

  /** An action to promote with (and, in reverse order, demote with). */
  public record ActionStage(String name, PromotionAction action, StepPolicy policy)
      implements Stage {
    public ActionStage {
      Objects.requireNonNull(action, "action");
      Objects.requireNonNull(policy, "policy");
    }
  }

  /**
   * One step: a fence to advance or an action to run, with its policy.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link Stage} ({@link #stages()}),
   *     a {@link FenceStage} or an {@link ActionStage}, each with only its own fields, instead of a
   *     record with a null {@code fence} or {@code action} and {@link #isFence()}.
   */
  @Deprecated(since = "0.3")
  public record Step(
      String name, @Nullable Fence fence, @Nullable PromotionAction action, StepPolicy policy) {
    public boolean isFence() {
      return fence != null;
    }

    private static Step of(Stage stage) {
      if (stage instanceof FenceStage f) {
        return new Step(f.name(), f.fence(), null, f.policy());
      }
      ActionStage a = (ActionStage) stage;
      return new Step(a.name(), null, a.action(), a.policy());
    }
  }

  private static final PromotionPlan EMPTY = new PromotionPlan(List.of(), false);

  private final List<Stage> stages;
  private final List<Step> steps;
  private final boolean watchdog;

  private PromotionPlan(List<Stage> stages, boolean watchdog) {
    this.stages = List.copyOf(stages);
    this.steps = this.stages.stream().map(Step::of).toList();
    this.watchdog = watchdog;
  }

  /** A plan with no steps: the node is active as soon as it wins the role. */
  public static PromotionPlan empty() {
    return EMPTY;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The steps in the order they run: fences first, then actions as added. */
  public List<Stage> stages() {
    return stages;
  }

  /**
   * The steps in the order they run, as {@link Step} records.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #stages()}.
   */
  @Deprecated(since = "0.3")
  public List<Step> steps() {
    return steps;
  }

  /** Whether the watchdog halts the process when demotion outlives the lease. */
  public boolean watchdog() {
    return watchdog;
  }

  public boolean isEmpty() {
    return stages.isEmpty();
  }

  public static final class Builder {
    private final List<Stage> fences = new ArrayList<>();
    private final List<Stage> actions = new ArrayList<>();
    private boolean watchdog;

    private Builder() {}

    /** A fence advanced before any action, required, with the default policy. */
    public Builder fence(Fence fence) {
      return fence(fence, StepPolicy.mustSucceed());
    }

    public Builder fence(Fence fence, StepPolicy policy) {
      Objects.requireNonNull(fence, "fence");
      fences.add(new FenceStage(fence.name(), fence, Objects.requireNonNull(policy, "policy")));
      return this;
    }

    /** An action, required, with the default policy. */
    public Builder action(PromotionAction action) {
      return action(action, StepPolicy.mustSucceed());
    }

    public Builder action(PromotionAction action, StepPolicy policy) {
      Objects.requireNonNull(action, "action");
      actions.add(new ActionStage(action.name(), action, Objects.requireNonNull(policy, "policy")));
      return this;
    }

    /**
     * Halt the process (exit status 70) if demotion has not finished when the lease ends, as
     * Patroni's watchdog does: a node that cannot stop acting in time must stop existing. Off by
     * default in the library; the sidecar turns it on.
     */
    public Builder watchdog(boolean enabled) {
      this.watchdog = enabled;
      return this;
    }

    public PromotionPlan build() {
      List<Stage> all = new ArrayList<>(fences);
      all.addAll(actions);
      Set<String> names = new HashSet<>();
      for (Stage s : all) {
        if (s.name() == null || s.name().isBlank()) {
          throw new IllegalArgumentException("promotion plan: a step has an empty name");
        }
        if (!names.add(s.name())) {
          throw new IllegalArgumentException(
              "promotion plan: step name '" + s.name() + "' is used twice; names must be unique");
        }
      }
      return new PromotionPlan(all, watchdog);
    }
  }
}
