package dev.baton.core.internal;

import dev.baton.core.JournalEntry;
import dev.baton.core.StepContext;
import dev.baton.core.internal.proto.JournalRecord;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plan's journal in the replicated state: each step's start and outcome, written through Raft
 * so that a successor sees how far its predecessor got (invariant I5).
 */
final class Journal {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);

  /** One journal record: a step of the activation with {@code token}, in a phase, an attempt. */
  record Entry(
      long token,
      String step,
      StepContext.Phase phase,
      int attempt,
      JournalEntry.Outcome outcome,
      @Nullable String error) {
    static Entry promote(long token, String step, int attempt, JournalEntry.Outcome outcome) {
      return new Entry(token, step, StepContext.Phase.PROMOTE, attempt, outcome, null);
    }

    static Entry demote(long token, String step, JournalEntry.Outcome outcome) {
      return new Entry(token, step, StepContext.Phase.DEMOTE, 1, outcome, null);
    }

    Entry failedWith(String message) {
      return new Entry(token, step, phase, attempt, JournalEntry.Outcome.FAILED, message);
    }
  }

  private final NodeConfig config;
  private final RaftNode raft;
  private final MonotonicClock clock;

  Journal(NodeConfig config, RaftNode raft, MonotonicClock clock) {
    this.config = config;
    this.raft = raft;
    this.clock = clock;
  }

  /** Records {@code e} and waits for it: returns whether it committed within the timeout. */
  boolean recordAndWait(Entry e) {
    var future = raft.submitLocal(command(e));
    try {
      return future.get(config.operationTimeout().toMillis(), TimeUnit.MILLISECONDS).getApplied();
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception ex) {
      LOG.warn(
          "{}: could not journal step '{}' for token {}: {}",
          config.self().id(),
          e.step(),
          e.token(),
          ex.toString());
      return false;
    }
  }

  /** Records {@code e} without waiting (a demotion does not wait for the journal). */
  void record(Entry e) {
    raft.submitLocal(command(e));
  }

  /** The highest token whose promotion completed {@code step}, as this node has applied it. */
  OptionalLong lastCompletedToken(String step) {
    return raft.stateMachine().localState(false).getJournalList().stream()
        .filter(r -> r.getAction().equals(step))
        .filter(r -> r.getPhase().equals(StepContext.Phase.PROMOTE.name()))
        .filter(r -> r.getOutcome().equals(JournalEntry.Outcome.COMPLETED.name()))
        .mapToLong(JournalRecord::getToken)
        .max();
  }

  private dev.baton.core.internal.proto.Command command(Entry e) {
    return Commands.journal(
        JournalRecord.newBuilder()
            .setNodeId(config.self().id())
            .setToken(e.token())
            .setAction(e.step())
            .setPhase(e.phase().name())
            .setAttempt(e.attempt())
            .setOutcome(e.outcome().name())
            .setSuccess(e.outcome() == JournalEntry.Outcome.COMPLETED)
            .setError(e.error() == null ? "" : e.error())
            .setMonotonicTimeMs(TimeUnit.NANOSECONDS.toMillis(clock.nanoTime())));
  }
}
