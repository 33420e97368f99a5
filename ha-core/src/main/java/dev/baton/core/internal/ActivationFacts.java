package dev.baton.core.internal;

import java.util.Optional;

/**
 * What every view of one activation of this node answers alike, the application's {@link
 * ActivationContext} and a plan step's {@link StepContext}: its token, this node, and the
 * activation before it. The public accessors implement those of {@link
 * dev.baton.core.ActiveContext} and {@link dev.baton.core.ActionContext}, which declare them alike.
 */
abstract class ActivationFacts {
  private final RoleController.Activation activation;
  private final String nodeId;

  ActivationFacts(RoleController.Activation activation, String nodeId) {
    this.activation = activation;
    this.nodeId = nodeId;
  }

  public long token() {
    return activation.token();
  }

  public String nodeId() {
    return nodeId;
  }

  public Optional<String> previousActive() {
    return activation.previousActive();
  }

  public long previousToken() {
    return activation.previousToken();
  }
}
