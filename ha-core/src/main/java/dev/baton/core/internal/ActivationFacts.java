package dev.baton.core.internal;

import java.util.Optional;

/**
 * What every view of one activation of this node answers alike: its token, this node, and the
 * previous active, the accessors of {@link dev.baton.core.ActivationInfo}. The application's {@link
 * ActivationContext} extends it, and a plan step's {@link StepAttempt} asks that context.
 *
 * <p>The previous active is the newest activation before this one that completed its promotion,
 * read from the activation history ({@link ActivationHistory#promotedBefore}): an activation whose
 * plan was abandoned never became active. When the history does not reach back far enough to tell,
 * it is the activation just before this one, completed or not (what releases before the history
 * named).
 */
abstract class ActivationFacts {
  private final RoleController.Activation activation;
  private final String nodeId;
  private final Optional<String> previousActive;
  private final long previousToken;

  /** The activation's facts, its previous active read from {@code stateMachine}'s history. */
  ActivationFacts(
      RoleController.Activation activation, String nodeId, BatonStateMachine stateMachine) {
    this.activation = activation;
    this.nodeId = nodeId;
    Optional<ActivationHistory.Promoted> promoted = stateMachine.promotedBefore(activation.token());
    if (promoted.isPresent()) {
      ActivationHistory.Promoted p = promoted.get();
      this.previousActive = p.nodeId().isEmpty() ? Optional.empty() : Optional.of(p.nodeId());
      this.previousToken = p.token();
    } else {
      this.previousActive = activation.previousActive();
      this.previousToken = activation.previousToken();
    }
  }

  public long token() {
    return activation.token();
  }

  public String nodeId() {
    return nodeId;
  }

  public Optional<String> previousActive() {
    return previousActive;
  }

  public long previousToken() {
    return previousToken;
  }
}
