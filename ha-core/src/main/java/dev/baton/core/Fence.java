package dev.baton.core;

/**
 * A downstream resource that remembers the highest fencing token it has accepted and refuses
 * anything that carries a lower one (a fence row in PostgreSQL, a fence TXT record in DNS).
 *
 * <p>The promotion plan advances every fence to the new token <em>before</em> any action that
 * changes where writes go. From then on a stale active, one that was paused past its lease and
 * still believes it is active, is refused by the resource itself: fences hold regardless of timing
 * (invariant I3), which the lease alone cannot promise.
 *
 * <p>An implementation overrides {@link #advance(long, StepContext)}; one written before 0.3
 * overrides the deprecated {@link #advance(long, ActionContext)} instead and keeps running
 * unchanged (the new method's default calls it). One that overrides neither fails each advance with
 * {@link UnsupportedOperationException}.
 */
public interface Fence {

  /** A short, stable name used in the journal, status, metrics and logs. */
  String name();

  /**
   * Advances the fence to {@code token}. Advancing to the token the fence already holds succeeds
   * and changes nothing (idempotent). The default calls the deprecated {@link #advance(long,
   * ActionContext)}, for implementations written before 0.3.
   *
   * @throws StaleTokenException if the fence already holds a higher token: this node is no longer
   *     the newest active and must not proceed
   * @throws Exception if the resource cannot be reached or refuses for another reason
   */
  default void advance(long token, StepContext context) throws Exception {
    advance(token, StepBridge.toOld(this, context));
  }

  /**
   * The advance as written before 0.3. The default calls {@link #advance(long, StepContext)}.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: override {@link #advance(long,
   *     StepContext)}.
   */
  @Deprecated(since = "0.3")
  default void advance(long token, ActionContext context) throws Exception {
    advance(token, StepBridge.toNewOrFail(this, context, "advance", "long, "));
  }

  /** The highest token the fence holds now, or {@link BatonNode#NO_TOKEN} when it holds none. */
  long currentToken() throws Exception;

  /**
   * A pre-flight check that changes nothing, run as {@link PromotionAction#preflight()} is. The
   * default reads {@link #currentToken()}.
   */
  default void preflight() throws Exception {
    currentToken();
  }
}
