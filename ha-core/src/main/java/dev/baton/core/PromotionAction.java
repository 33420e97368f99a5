package dev.baton.core;

import java.util.Optional;

/**
 * One step of a promotion plan: something that must happen when a node becomes active (move the
 * database writer, move a DNS name, run a hook) and, optionally, be undone when it stops.
 *
 * <p>Actions run in plan order on the node that has just become active, each with its own timeout
 * and retries (see {@link PromotionPlan}). Every completion is journaled through Raft, so a node
 * that takes over after its predecessor crashed mid-plan re-runs the plan with its own, higher
 * token. An action must therefore be idempotent: running it twice with the same token, or again
 * with a higher token, must leave the world as one run would. {@link
 * StepContext#lastCompletedToken()} tells an action what the journal already holds.
 *
 * <p>Implementations may throw any exception; it is recorded (journal, status, metrics, logs) and
 * retried as the plan says. An action must respect {@link StepContext#deadline()}: when the
 * deadline passes the action's thread is interrupted and the attempt counts as failed.
 *
 * <p>An implementation overrides {@link #promote(StepContext)} (and {@link #demote(StepContext)}
 * when it undoes something). One written before 0.3 overrides the deprecated {@code ActionContext}
 * methods instead and keeps running unchanged: the {@code StepContext} methods' defaults call them.
 * One that overrides neither promote method fails each attempt with {@link
 * UnsupportedOperationException}.
 */
public interface PromotionAction {

  /** A short, stable name used in the journal, status, metrics and logs (for example "dns"). */
  String name();

  /**
   * Makes this node's side of the deployment the active one. Runs with the new token. The default
   * calls the deprecated {@link #promote(ActionContext)}, for implementations written before 0.3.
   */
  default void promote(StepContext context) throws Exception {
    promote(StepBridge.toOld(this, context));
  }

  /**
   * Stops this node acting as the active one (for example stops accepting writes). Runs when the
   * node loses the role, bounded by what remains of its lease. The default calls the deprecated
   * {@link #demote(ActionContext)}, whose own default does nothing.
   */
  default void demote(StepContext context) throws Exception {
    demote(StepBridge.toOld(this, context));
  }

  /**
   * The promotion as written before 0.3. The default calls {@link #promote(StepContext)}.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: override {@link
   *     #promote(StepContext)}.
   */
  @Deprecated(since = "0.3")
  default void promote(ActionContext context) throws Exception {
    promote(StepBridge.toNewOrFail(this, context, "promote", ""));
  }

  /**
   * The demotion as written before 0.3. The default calls {@link #demote(StepContext)} when this
   * action overrides it, and does nothing otherwise.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: override {@link #demote(StepContext)}.
   */
  @Deprecated(since = "0.3")
  default void demote(ActionContext context) throws Exception {
    Optional<StepContext> step = StepBridge.toNew(this, context);
    if (step.isPresent()) {
      demote(step.get());
    }
  }

  /**
   * Whether {@link #demote} only fences this node's side off (makes the local primary read-only,
   * stops a service) and never does anything that would be wrong after the lease has ended. Such a
   * demotion always runs, with the step's own timeout, even when the node gives the role up after
   * its lease is over (after a pause, say): it is harmless late and needed most then. A demotion
   * that is not fence-only (a hook that announces something, say) is skipped once the lease is
   * over. The default is false.
   */
  default boolean demoteOnlyFences() {
    return false;
  }

  /**
   * A pre-flight check that changes nothing: can this node reach what {@link #promote} will need
   * (the standby it would promote, the DNS server and its key)? Baton runs it once, in the
   * background, when an eligible node starts, on the thread that runs the plan (so never at the
   * same time as a promotion of this node), bounded by the step's timeout. A failure is logged as a
   * warning naming the step and the error and counted in {@code baton.promotion.steps} with outcome
   * {@code preflight-failed}; it never stops the node. Running the action's code once also loads
   * its classes, so that the first promotion in this JVM does not pay for a cold start. The default
   * does nothing.
   */
  default void preflight() throws Exception {}
}
