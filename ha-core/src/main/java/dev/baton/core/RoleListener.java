package dev.baton.core;

/**
 * Told when this node becomes active or stops being active. Calls for one listener never overlap
 * and arrive in order, on the executor given with the listener.
 *
 * <p>{@code onStandby} is called <em>before</em> the lease ends when the node loses the role in a
 * way it can notice (leadership or renewal lost, switch-active, close). A node that is paused past
 * its lease cannot call anything in time; that case is what fences ({@link Fence}) are for.
 */
public interface RoleListener {

  /** This node is active. Side effects should be guarded by {@link ActiveContext#checkLease()}. */
  void onActive(ActiveContext context);

  /** This node is not active any more (or, at registration, is not active now). */
  void onStandby(StandbyReason reason);
}
