package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.NotActiveException;
import java.time.Duration;
import java.util.Optional;

/**
 * The {@link ActiveContext} of one activation of this node, as the application, the listeners and
 * the promotion plan see it. It holds no state of its own: whether the lease is still held for its
 * token is asked of the {@link RoleController} at the instant of each call, so a context kept past
 * its activation answers false and throws from {@link #checkLease()}.
 */
final class ActivationContext implements ActiveContext {
  private final RoleController role;
  private final String nodeId;
  private final RoleController.Activation a;

  ActivationContext(RoleController role, String nodeId, RoleController.Activation a) {
    this.role = role;
    this.nodeId = nodeId;
    this.a = a;
  }

  @Override
  public long token() {
    return a.token();
  }

  @Override
  public String nodeId() {
    return nodeId;
  }

  @Override
  public Optional<String> previousActive() {
    return a.previousActive();
  }

  @Override
  public long previousToken() {
    return a.previousToken();
  }

  @Override
  public boolean isLeaseValid() {
    return role.holdsLease(a.token());
  }

  @Override
  public Duration leaseRemaining() {
    return role.holdsLease(a.token()) ? role.leaseRemaining() : Duration.ZERO;
  }

  @Override
  public void checkLease() {
    if (!role.holdsLease(a.token())) {
      throw new NotActiveException(
          "node "
              + nodeId
              + " no longer holds the role for token "
              + a.token()
              + " (role now "
              + role.role()
              + ")");
    }
  }

  @Override
  public String toString() {
    return "ActiveContext[" + nodeId + ", token " + a.token() + "]";
  }
}
