package dev.baton.core;

import java.util.Optional;

/**
 * One record of the promotion journal, replicated through Raft.
 *
 * @param nodeId the node that ran the step
 * @param token the activation the step ran for
 * @param step the step's name
 * @param phase PROMOTE or DEMOTE
 * @param attempt the attempt number
 * @param outcome STARTED, COMPLETED or FAILED
 * @param error the error of a failed attempt
 */
public record JournalEntry(
    String nodeId,
    long token,
    String step,
    StepContext.Phase phase,
    int attempt,
    Outcome outcome,
    Optional<String> error) {

  /** What happened to the attempt. */
  public enum Outcome {
    STARTED,
    COMPLETED,
    FAILED,
    /**
     * A value this client does not know: a newer member sent it. A client reads it as this rather
     * than failing, as the control API asks of every client (COMPATIBILITY.md); Baton never records
     * it.
     */
    UNKNOWN
  }
}
