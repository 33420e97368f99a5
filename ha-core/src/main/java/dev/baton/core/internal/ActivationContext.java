package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.NotActiveException;
import dev.baton.core.StandbyReason;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * The {@link ActiveContext} of one activation of this node, as the application, the listeners and
 * the promotion plan see it. It holds no state of its own: whether the lease is still held for its
 * token is asked of the {@link RoleState} at the instant of each call, so a context kept past its
 * activation answers false and throws from {@link #checkLease()}; its {@link #ended()} is the
 * activation's own, which the controller completes when it gives the role up.
 */
final class ActivationContext extends ActivationFacts implements ActiveContext {
  private final RoleState role;
  private final CompletionStage<StandbyReason> ended;

  ActivationContext(
      RoleState role,
      String nodeId,
      RoleController.Activation a,
      BatonStateMachine stateMachine,
      CompletionStage<StandbyReason> ended) {
    super(a, nodeId, stateMachine);
    this.role = role;
    this.ended = ended;
  }

  @Override
  public CompletionStage<StandbyReason> ended() {
    return ended;
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
