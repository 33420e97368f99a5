package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.NotActiveException;
import java.time.Duration;

/**
 * The {@link ActiveContext} of one activation of this node, as the application, the listeners and
 * the promotion plan see it. It holds no state of its own: whether the lease is still held for its
 * token is asked of the {@link RoleController} at the instant of each call, so a context kept past
 * its activation answers false and throws from {@link #checkLease()}.
 */
final class ActivationContext extends ActivationFacts implements ActiveContext {
  private final RoleController role;

  ActivationContext(
      RoleController role,
      String nodeId,
      RoleController.Activation a,
      BatonStateMachine stateMachine) {
    super(a, nodeId, stateMachine);
    this.role = role;
  }

  @Override
  public boolean isLeaseValid() {
    return role.holdsLease(token());
  }

  @Override
  public Duration leaseRemaining() {
    return role.holdsLease(token()) ? role.leaseRemaining() : Duration.ZERO;
  }

  @Override
  public void checkLease() {
    if (!role.holdsLease(token())) {
      throw new NotActiveException(
          "node "
              + nodeId()
              + " no longer holds the role for token "
              + token()
              + " (role now "
              + role.role()
              + ")");
    }
  }

  @Override
  public String toString() {
    return "ActiveContext[" + nodeId() + ", token " + token() + "]";
  }
}
