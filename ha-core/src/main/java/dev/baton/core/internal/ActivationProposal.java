package dev.baton.core.internal;

import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.CommandResult;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proposes this leader's {@code Activate} entry in its term and reads back what the cluster
 * committed: the activation's token (the entry's log index, invariant I1) and the previous active
 * as the state machine recorded it. Whether and when the node then takes the role is not decided
 * here ({@link MarginWait}, step 1 of docs/lease.md). Used only by the role controller's thread.
 */
final class ActivationProposal {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final String self;
  private final RaftNode raft;
  private final Duration commitTimeout;

  ActivationProposal(String self, RaftNode raft, Duration commitTimeout) {
    this.self = self;
    this.raft = raft;
    this.commitTimeout = commitTimeout;
  }

  /**
   * The activation of {@code term} once its entry has committed and applied, or empty if it did not
   * commit within the timeout (an {@code electionTimeoutMin}) or the state machine refused it.
   */
  Optional<RoleController.Activation> propose(long term) {
    CommandResult result;
    try {
      result =
          raft.submitLocal(Commands.activate(self, term))
              .get(commitTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.debug("{}: activation in term {} did not commit: {}", self, term, e);
      return Optional.empty();
    }
    if (!result.getApplied()) {
      LOG.info("{}: activation refused: {}", self, result.getRefusal());
      return Optional.empty();
    }
    long token = result.getIndex();
    ActivationRecord record = raft.stateMachine().activation();
    Optional<String> previous = Optional.empty();
    long previousToken = 0;
    if (record.getToken() == token && !record.getPreviousNodeId().isEmpty()) {
      previous = Optional.of(record.getPreviousNodeId());
      previousToken = record.getPreviousToken();
    }
    return Optional.of(new RoleController.Activation(token, term, previous, previousToken));
  }
}
