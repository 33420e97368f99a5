package dev.baton.core.internal;

import dev.baton.core.internal.proto.ActivationRecord;
import dev.baton.core.internal.proto.CommandResult;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proposes this leader's {@code Activate} entry in its term and reads back what the cluster
 * committed: the activation's token (the entry's log index, invariant I1) and the previous active
 * as the state machine recorded it. Whether and when the node then takes the role is not decided
 * here ({@link MarginWait}, step 1 of docs/lease.md). Used only by the role controller's thread.
 *
 * <p>The entry is handed to Ratis on a thread of its own, never on the controller's: Ratis's local
 * submit path can block before it returns a future (it waits, unbounded, for its client executor,
 * which needs the division's lock), and a controller thread blocked there would leave a leader that
 * heartbeats, so no one else is elected, and never activates (issue 33's stuck switch). Here the
 * controller waits at most the commit timeout once; a submission that has not returned is not
 * repeated (a second entry) but looked at again at the next step without waiting, and {@link
 * #failingFor} tells the controller how long this term's activation has been failing, so that it
 * can hand leadership on.
 */
final class ActivationProposal {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final String self;
  private final RaftNode raft;
  private final Duration commitTimeout;
  private final MonotonicClock clock;

  // The submission under way (its term), if any: one at a time.
  private @Nullable CompletableFuture<CommandResult> pending;
  private long pendingTerm = -1;
  private long pendingSent;
  // The term whose activation has been failing since failingSince (-1: none is failing).
  private long failingTerm = -1;
  private long failingSince;
  private int submissions;

  ActivationProposal(String self, RaftNode raft, Duration commitTimeout, MonotonicClock clock) {
    this.self = self;
    this.raft = raft;
    this.commitTimeout = commitTimeout;
    this.clock = clock;
  }

  /** A committed activation, and the clock's reading taken before its entry was handed to Ratis. */
  record Committed(RoleController.Activation activation, long sent) {}

  /**
   * The activation of {@code term} once its entry has committed and applied, or empty if it did not
   * commit within the timeout (an {@code electionTimeoutMin}), the state machine refused it, or a
   * submission of this term made at an earlier step has still not returned (then this call does not
   * wait: the controller's step goes on).
   */
  Optional<Committed> propose(long term) {
    CompletableFuture<CommandResult> p = pending;
    boolean fresh = p == null || pendingTerm != term;
    CompletableFuture<CommandResult> f = p == null || fresh ? submit(term) : p;
    if (fresh && failingTerm == term) {
      submissions++;
    }
    long sent = pendingSent;
    CommandResult result;
    try {
      result = f.get(fresh ? commitTimeout.toMillis() : 0, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failed(term, "interrupted");
      return Optional.empty();
    } catch (ExecutionException e) {
      pending = null;
      failed(term, String.valueOf(e.getCause()));
      return Optional.empty();
    } catch (TimeoutException e) {
      failed(
          term,
          "not committed "
              + TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - sent)
              + " ms after it was handed to Ratis");
      return Optional.empty();
    }
    pending = null;
    if (!result.getApplied()) {
      LOG.info("{}: activation refused: {}", self, result.getRefusal());
      failed(term, "refused: " + result.getRefusal());
      return Optional.empty();
    }
    failingTerm = -1;
    long token = result.getIndex();
    ActivationRecord record = raft.stateMachine().activation();
    Optional<String> previous = Optional.empty();
    long previousToken = 0;
    if (record.getToken() == token && !record.getPreviousNodeId().isEmpty()) {
      previous = Optional.of(record.getPreviousNodeId());
      previousToken = record.getPreviousToken();
    }
    return Optional.of(
        new Committed(new RoleController.Activation(token, term, previous, previousToken), sent));
  }

  /**
   * How long the activation of {@code term} has been failing without a success in between, in
   * nanoseconds (0 when it is not failing).
   */
  long failingFor(long term, long now) {
    return failingTerm == term ? now - failingSince : 0;
  }

  /** How many times this term's entry has been handed to Ratis while it was failing. */
  int submissions() {
    return submissions;
  }

  /** The controller gave up this term's activation (it hands leadership on): start afresh. */
  void gaveUp() {
    failingTerm = -1;
  }

  /**
   * Hands {@code term}'s entry to Ratis on a thread of its own, and notes the clock before it: the
   * lease of the activation can start no earlier than that reading (step 1 of docs/lease.md). A
   * submission of an earlier term that never returned is left to finish or fail on its own; what it
   * commits is an activation nobody takes, as after leadership lost between commit and take.
   */
  private CompletableFuture<CommandResult> submit(long term) {
    CompletableFuture<CommandResult> f = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try {
                raft.submitLocal(Commands.activate(self, term))
                    .whenComplete(
                        (r, e) -> {
                          if (e != null) {
                            f.completeExceptionally(e);
                          } else {
                            f.complete(r);
                          }
                        });
              } catch (RuntimeException e) {
                f.completeExceptionally(e);
              }
            },
            "baton-activation-" + self + "-t" + term);
    t.setDaemon(true);
    pending = f;
    pendingTerm = term;
    pendingSent = clock.nanoTime();
    t.start();
    return f;
  }

  private void failed(long term, String why) {
    long now = clock.nanoTime();
    if (failingTerm != term) {
      failingTerm = term;
      failingSince = now;
      submissions = 1;
      LOG.info("{}: activation in term {} did not commit: {}", self, term, why);
    } else {
      LOG.debug("{}: activation in term {} did not commit: {}", self, term, why);
    }
  }
}
