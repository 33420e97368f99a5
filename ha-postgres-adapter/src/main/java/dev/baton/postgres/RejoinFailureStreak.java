package dev.baton.postgres;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FormerPrimaryGuard}'s streak of failed rejoins of its server: the doubling backoff
 * between attempts, and the log lines that tell the operator what to do. The streak ends when a
 * rejoin (or a restart as a standby) succeeds or the server is seen as a standby.
 */
final class RejoinFailureStreak {
  // The guard's own logger: these lines are part of its checks.
  private static final Logger LOG = LoggerFactory.getLogger(FormerPrimaryGuard.class);

  private final PostgresEndpoint local;
  private final @Nullable PgRewindRejoin rejoin; // null: no rejoin, so nothing fails
  private final Duration retryInitial;
  private final Duration retryMax;
  private volatile FormerPrimaryGuard.@Nullable RejoinFailure failure;
  private long nextAttemptNanos;

  RejoinFailureStreak(
      PostgresEndpoint local,
      @Nullable PgRewindRejoin rejoin,
      Duration retryInitial,
      Duration retryMax) {
    this.local = local;
    this.rejoin = rejoin;
    this.retryInitial = retryInitial;
    this.retryMax = retryMax;
  }

  /** The current streak, or null when the last rejoin did not fail. */
  FormerPrimaryGuard.@Nullable RejoinFailure current() {
    return failure;
  }

  /** Whether a rejoin failed and the next attempt is not due yet. */
  boolean backingOff() {
    return failure != null && System.nanoTime() - nextAttemptNanos < 0;
  }

  /**
   * A rejoin failed: the next is tried after a doubling backoff, and the first failure of a streak
   * is logged once, at ERROR, with what the operator must do (issue 32: an interrupted pg_rewind
   * left a data directory every later rewind failed on, and the guard retried it every check for
   * ever).
   */
  void failed(PostgresEndpoint writerAt, RuntimeException e) {
    if (Thread.currentThread().isInterrupted()) {
      throw e; // the guard is closing: not a failed rejoin
    }
    FormerPrimaryGuard.RejoinFailure before = failure;
    int attempts = before == null ? 1 : before.attempts() + 1;
    long wait = retryInitial.toMillis();
    for (int i = 1; i < attempts && wait < retryMax.toMillis(); i++) {
      wait *= 2;
    }
    wait = Math.min(wait, retryMax.toMillis());
    nextAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
    Instant now = Instant.now();
    failure =
        new FormerPrimaryGuard.RejoinFailure(
            attempts,
            before == null ? now : before.since(),
            String.valueOf(e.getMessage()),
            now.plusMillis(wait));
    if (before == null) {
      PgRewindRejoin r = Objects.requireNonNull(rejoin, "a rejoin failed, so one is configured");
      String dir = r.dataDirectory().toString();
      LOG.error(
          "former-primary guard: the rejoin of {} as a standby of {} failed: {}. If pg_rewind"
              + " stopped part-way, the data directory {} is damaged and no later rewind can"
              + " repair it (recloneOnRewindFailure lets the guard re-create it): stop the server"
              + " if it runs; as the server's OS user, re-create it from the current primary in a"
              + " new directory (pg_basebackup -h {} -p {} -U {} -D {}.new -R -X stream), move {}"
              + " aside and {}.new into its place; the guard then starts it as a standby. The guard"
              + " tries the rejoin again after {} ms, doubling up to {} ms; this is logged once"
              + " until a rejoin succeeds.",
          local.address(),
          writerAt.address(),
          e.getMessage(),
          dir,
          writerAt.host(),
          writerAt.port(),
          r.user(),
          dir,
          dir,
          dir,
          wait,
          retryMax.toMillis());
    } else {
      LOG.info(
          "former-primary guard: rejoin of {} failed again (attempt {}, failing since {}); next"
              + " attempt in {} ms: {}",
          local.address(),
          attempts,
          failure.since(),
          wait,
          e.getMessage());
    }
  }

  /** A rejoin succeeded, or the server is a standby again: the streak is over. */
  void succeeded() {
    FormerPrimaryGuard.RejoinFailure before = failure;
    if (before != null) {
      failure = null;
      LOG.info(
          "former-primary guard: {} is a standby again after {} failed rejoin attempt(s) since {}",
          local.address(),
          before.attempts(),
          before.since());
    }
  }
}
