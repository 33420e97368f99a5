package dev.baton.core.internal;

import dev.baton.core.Activation;
import dev.baton.core.JournalEntry;
import dev.baton.core.StandbyReason;
import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.HistoryRecord;
import dev.baton.core.internal.proto.HistoryStep;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.SwitchRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * The activation history in the replicated state ({@code Cluster.history()}): one record per
 * activation, in token order, made when its Activate entry applies and completed by the entries
 * that follow for its token. Every member derives it from the same log, so every member holds the
 * same records; it is in the snapshot, and bounded to the newest {@code limit} records.
 *
 * <p>The reason is read from the log, not from clocks: the first activation is a START; one whose
 * predecessor resigned for its health is a HEALTH move; one that a failback's switch request named,
 * or whose predecessor resigned for a failback, is a FAILBACK; one that an operator's pending
 * switch request named, or whose predecessor resigned for a switch, is a SWITCH_ACTIVE; any other
 * (the predecessor crashed, lost its lease, or closed) is a FAILOVER. A resignation that applies
 * only after its successor's activation corrects the successor's reason.
 *
 * <p>Not thread-safe: part of {@link ReplicatedState}, guarded by the state machine's lock.
 */
final class ActivationHistory {
  /** The default bound, when the builder does not set one. */
  static final int DEFAULT_LIMIT = 100;

  /** The most promotion-step attempts one record keeps (a step retried forever stays bounded). */
  static final int STEPS_PER_RECORD = 64;

  private final List<HistoryRecord> records = new ArrayList<>();
  private final int limit;

  ActivationHistory(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("historyLimit " + limit + " must be at least 1");
    }
    this.limit = limit;
  }

  List<HistoryRecord> records() {
    return List.copyOf(records);
  }

  void restore(List<HistoryRecord> restored) {
    records.clear();
    records.addAll(restored);
    trim();
  }

  /**
   * The Activate entry {@code a} applied at {@code token}; {@code previous} and {@code pending} are
   * the activation record and switch request as they were before it.
   */
  void activated(
      Activate a, long token, long term, ActivationRecord previous, SwitchRequest pending) {
    Activation.Reason reason;
    String requester = "";
    boolean named = pending.getTargetNodeId().equals(a.getNodeId());
    if (previous.getToken() == 0) {
      reason = Activation.Reason.START;
    } else if (named && pending.getReason().equals(Commands.FAILBACK)) {
      // The active asked for its own hand-over through the log: the previous node is the asker.
      reason = Activation.Reason.FAILBACK;
    } else if (named) {
      reason = Activation.Reason.SWITCH_ACTIVE;
      requester = pending.getRequester();
    } else {
      reason = afterResignation(previous.getResigned() ? resignation(previous.getToken()) : "");
    }
    records.add(
        HistoryRecord.newBuilder()
            .setNodeId(a.getNodeId())
            .setToken(token)
            .setTerm(term)
            .setProposedAtMs(a.getProposedAtMs())
            .setReason(reason.name())
            .setRequester(requester)
            .setPreviousNodeId(previous.getNodeId())
            .setPreviousToken(previous.getToken())
            .build());
    trim();
  }

  /** The API's view of the record of {@code token}, when it is the newest (just activated). */
  Optional<Activation> newest(long token) {
    if (records.isEmpty() || records.get(records.size() - 1).getToken() != token) {
      return Optional.empty();
    }
    return Optional.of(toApi(records.get(records.size() - 1)));
  }

  /**
   * The API's view of every record with a token above {@code after}, oldest first; empty when the
   * history does not reach back to {@code after} (a record between was dropped beyond the limit, or
   * the history starts after activations it never recorded: {@code activeToken}, the current
   * activation's token, is above {@code after} but no record holds it).
   */
  Optional<List<Activation>> after(long after, long activeToken) {
    List<Activation> out = new ArrayList<>();
    HistoryRecord oldest = null;
    for (HistoryRecord r : records) {
      if (r.getToken() > after) {
        oldest = oldest == null ? r : oldest;
        out.add(toApi(r));
      }
    }
    if (oldest == null) {
      return activeToken > after ? Optional.empty() : Optional.of(out);
    }
    // Complete when the oldest record kept above 'after' follows an activation at or below it.
    return oldest.getPreviousToken() <= after ? Optional.of(out) : Optional.empty();
  }

  /**
   * The lowest revision from which {@link #after} is complete: the predecessor of the oldest record
   * kept, or the current activation's token when there is no record.
   */
  long replayFloor(long activeToken) {
    return records.isEmpty() ? activeToken : records.get(0).getPreviousToken();
  }

  /** The activation that {@link #promotedBefore} names: a node and its token, or {@link #NONE}. */
  record Promoted(String nodeId, long token) {
    /** No activation before the one asked about completed its promotion. */
    static final Promoted NONE = new Promoted("", 0);
  }

  /**
   * The newest activation before {@code token} whose promotion completed ({@code promoted}): the
   * previous active that an {@code ActiveContext} names. {@link Promoted#NONE} when the history
   * reaches back to the cluster's first activation and none before {@code token} completed; empty
   * when it does not reach back far enough to tell (the oldest records were dropped beyond the
   * limit, or this member started its history from a release without it).
   *
   * <p>Stable once {@code token}'s activation has applied: a record's {@code promoted} is set only
   * while it is the current activation, so no record older than {@code token} changes after.
   */
  Optional<Promoted> promotedBefore(long token) {
    for (int i = records.size() - 1; i >= 0; i--) {
      HistoryRecord r = records.get(i);
      if (r.getToken() > token) {
        continue;
      }
      if (r.getToken() < token && r.getPromoted()) {
        return Optional.of(new Promoted(r.getNodeId(), r.getToken()));
      }
      if (r.getPreviousToken() == 0) {
        // The cluster's first activation: nothing before it.
        return Optional.of(Promoted.NONE);
      }
    }
    return Optional.empty();
  }

  /**
   * The node of {@code token} reported that its promotion plan completed, with the failover time it
   * measured, if any. The figure is kept for a FAILOVER only: the reason is read from the log, so
   * every member keeps or drops it alike, and a START or a hand-over never shows a failover time.
   */
  void promoted(long token, OptionalLong failoverNanos) {
    update(
        token,
        r -> {
          r.setPromoted(true);
          if (failoverNanos.isPresent()
              && r.getReason().equals(Activation.Reason.FAILOVER.name())) {
            r.setFailoverNanos(failoverNanos.getAsLong());
          }
        });
  }

  /** The node of {@code token} gave the role up, for {@code reason} (a StandbyReason name). */
  void resigned(String nodeId, long token, String reason) {
    for (int i = records.size() - 1; i >= 0; i--) {
      HistoryRecord r = records.get(i);
      if (r.getToken() == token && r.getNodeId().equals(nodeId)) {
        if (r.getResigned().isEmpty()) {
          records.set(i, r.toBuilder().setResigned(reason).build());
        }
        // Its successor activated before this resignation applied: it was read as a failover.
        if (i + 1 < records.size()) {
          HistoryRecord next = records.get(i + 1);
          if (next.getPreviousToken() == token
              && next.getReason().equals(Activation.Reason.FAILOVER.name())) {
            // A failover time no longer describes it (its predecessor handed the role over).
            HistoryRecord.Builder corrected =
                next.toBuilder().setReason(afterResignation(reason).name());
            if (!corrected.getReason().equals(Activation.Reason.FAILOVER.name())) {
              corrected.clearFailoverNanos();
            }
            records.set(i + 1, corrected.build());
          }
        }
        return;
      }
    }
  }

  /** A journal record: a promotion step's start or outcome adds to its activation's steps. */
  void journal(JournalRecord j) {
    if (!j.getPhase().equals("PROMOTE") || outcome(j.getOutcome()) == null) {
      return;
    }
    update(
        j.getToken(),
        r -> {
          if (j.getOutcome().equals(JournalEntry.Outcome.STARTED.name())) {
            r.addSteps(
                HistoryStep.newBuilder()
                    .setStep(j.getAction())
                    .setAttempt(j.getAttempt())
                    .setOutcome(j.getOutcome())
                    .setStartedMonotonicMs(j.getMonotonicTimeMs()));
          } else {
            int at = -1;
            for (int i = r.getStepsCount() - 1; i >= 0; i--) {
              HistoryStep s = r.getSteps(i);
              if (s.getStep().equals(j.getAction())
                  && s.getAttempt() == j.getAttempt()
                  && s.getOutcome().equals(JournalEntry.Outcome.STARTED.name())) {
                at = i;
                break;
              }
            }
            HistoryStep.Builder s =
                at >= 0
                    ? r.getSteps(at).toBuilder()
                    : HistoryStep.newBuilder().setStep(j.getAction()).setAttempt(j.getAttempt());
            s.setOutcome(j.getOutcome()).setError(j.getError());
            if (at >= 0 && j.getMonotonicTimeMs() >= s.getStartedMonotonicMs()) {
              // Both ends from the clock of the node that ran the step.
              s.setDurationMs(j.getMonotonicTimeMs() - s.getStartedMonotonicMs());
            }
            if (at >= 0) {
              r.setSteps(at, s);
            } else {
              r.addSteps(s);
            }
          }
          while (r.getStepsCount() > STEPS_PER_RECORD) {
            r.removeSteps(0);
          }
        });
  }

  /** The API's view of a record. */
  static Activation toApi(HistoryRecord r) {
    List<Activation.Step> steps = new ArrayList<>();
    for (HistoryStep s : r.getStepsList()) {
      JournalEntry.Outcome outcome = JournalEntry.Outcome.valueOf(s.getOutcome());
      steps.add(
          new Activation.Step(
              s.getStep(),
              s.getAttempt(),
              outcome,
              outcome == JournalEntry.Outcome.STARTED
                  ? Optional.empty()
                  : Optional.of(Duration.ofMillis(s.getDurationMs())),
              s.getError().isEmpty() ? Optional.empty() : Optional.of(s.getError())));
    }
    return new Activation(
        r.getNodeId(),
        r.getToken(),
        r.getTerm(),
        r.getProposedAtMs() == 0
            ? Optional.empty()
            : Optional.of(Instant.ofEpochMilli(r.getProposedAtMs())),
        reasonOf(r.getReason()),
        optional(r.getRequester()),
        optional(r.getPreviousNodeId()),
        r.getPreviousToken(),
        r.getPromoted(),
        optional(r.getResigned()),
        steps,
        r.hasFailoverNanos()
            ? Optional.of(Duration.ofNanos(r.getFailoverNanos()))
            : Optional.empty());
  }

  private static JournalEntry.@Nullable Outcome outcome(String name) {
    for (JournalEntry.Outcome o : JournalEntry.Outcome.values()) {
      if (o.name().equals(name)) {
        return o;
      }
    }
    return null;
  }

  private static Activation.Reason reasonOf(String name) {
    try {
      return Activation.Reason.valueOf(name);
    } catch (IllegalArgumentException e) {
      // A record made by a newer release (from its snapshot) with a reason this one does not know.
      return Activation.Reason.FAILOVER;
    }
  }

  private static Optional<String> optional(String s) {
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  private String resignation(long token) {
    for (int i = records.size() - 1; i >= 0; i--) {
      if (records.get(i).getToken() == token) {
        return records.get(i).getResigned();
      }
    }
    return "";
  }

  private static Activation.Reason afterResignation(String resigned) {
    if (resigned.equals(StandbyReason.UNHEALTHY.name())) {
      return Activation.Reason.HEALTH;
    }
    if (resigned.equals(StandbyReason.SWITCH_ACTIVE.name())) {
      return Activation.Reason.SWITCH_ACTIVE;
    }
    if (resigned.equals("FAILBACK")) {
      return Activation.Reason.FAILBACK;
    }
    return Activation.Reason.FAILOVER;
  }

  private void update(long token, java.util.function.Consumer<HistoryRecord.Builder> change) {
    for (int i = records.size() - 1; i >= 0; i--) {
      HistoryRecord r = records.get(i);
      if (r.getToken() == token) {
        HistoryRecord.Builder b = r.toBuilder();
        change.accept(b);
        records.set(i, b.build());
        return;
      }
      if (r.getToken() < token) {
        return;
      }
    }
  }

  private void trim() {
    if (records.size() > limit) {
      records.subList(0, records.size() - limit).clear();
    }
  }
}
