package dev.baton.postgres;

import dev.baton.core.BatonException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * {@link PostgresPromotionAction}'s work on its own server, the standby it promotes: wait for it to
 * replay up to the old primary's last position, check its lag, {@code pg_promote}, clear a
 * read-only default left from an earlier fencing, and wait until a new session is writable.
 */
final class StandbyPromotion {
  private final String name;
  private final PostgresEndpoint target;
  private final PgConnections connections;
  private final long maximumLagBytes;
  private final boolean refuseWhenPositionUnknown;
  private final Duration promoteTimeout;

  StandbyPromotion(
      String name,
      PostgresEndpoint target,
      PgConnections connections,
      long maximumLagBytes,
      boolean refuseWhenPositionUnknown,
      Duration promoteTimeout) {
    this.name = name;
    this.target = target;
    this.connections = connections;
    this.maximumLagBytes = maximumLagBytes;
    this.refuseWhenPositionUnknown = refuseWhenPositionUnknown;
    this.promoteTimeout = promoteTimeout;
  }

  void awaitReplay(Connection t, long lsn, Duration timeout) throws SQLException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (replayPosition(t) < lsn && System.nanoTime() < deadline) {
      sleepBriefly();
    }
  }

  void checkLag(Connection t, long lastKnown, @Nullable String from, Logger log)
      throws SQLException {
    long replay = replayPosition(t);
    if (lastKnown < 0) {
      if (refuseWhenPositionUnknown) {
        throw new PromotionRefusedException(
            "refusing to promote "
                + target.address()
                + ": no primary was reachable and no last primary position is known,"
                + " so its lag cannot be checked");
      }
      log.warn(
          "{}: no primary position known; promoting {} (replayed up to {}) without a lag check",
          name,
          target.address(),
          Lsn.format(replay));
      return;
    }
    long lag = lastKnown - replay;
    if (lag > maximumLagBytes) {
      throw new PromotionRefusedException(
          "refusing to promote standby "
              + target.address()
              + ": it has replayed up to "
              + Lsn.format(replay)
              + ", "
              + lag
              + " bytes behind the last known primary position "
              + Lsn.format(lastKnown)
              + " (from "
              + from
              + "); the maximum lag is "
              + maximumLagBytes
              + " bytes");
    }
    log.info(
        "{}: standby {} is {} bytes behind {} (maximum {})",
        name,
        target.address(),
        Math.max(0, lag),
        from,
        maximumLagBytes);
  }

  void promote(Connection t, Logger log) throws SQLException {
    long seconds = Math.max(1, promoteTimeout.toSeconds());
    log.info("{}: promoting {}", name, target.address());
    boolean done;
    try {
      done = ServerProbes.promote(t, seconds);
    } catch (SQLException e) {
      // A concurrent promotion (an earlier attempt that timed out) may have won the race.
      if (!ServerProbes.inRecovery(t)) {
        return;
      }
      throw new BatonException(
          "pg_promote failed on " + target.address() + ": " + e.getMessage(), e);
    }
    if (!done) {
      throw new BatonException(
          "promotion of " + target.address() + " did not finish within " + seconds + " s");
    }
  }

  void makeWritable(Connection t, Logger log) throws SQLException {
    // This server may have been fenced read-only earlier in its life (an old primary that was
    // rejoined keeps its postgresql.auto.conf unless pg_rewind replaced it).
    if (ServerProbes.readOnlyByDefault(t)) {
      log.info("{}: clearing the read-only default on {}", name, target.address());
    }
    ServerProbes.readOnlyByDefault(t, false);
  }

  void awaitWritable(Logger log) throws SQLException {
    long deadline = System.nanoTime() + promoteTimeout.toNanos();
    String last = "not checked";
    while (true) {
      try (Connection c = connections.connectOrThrow(target)) {
        boolean recovery = ServerProbes.inRecovery(c);
        boolean readOnly = ServerProbes.transactionReadOnly(c);
        if (!recovery && !readOnly) {
          return;
        }
        last = recovery ? "still in recovery" : "new sessions are read-only";
      } catch (SQLException e) {
        last = e.getMessage();
      }
      if (System.nanoTime() > deadline) {
        throw new BatonException(
            target.address() + " did not accept writes within " + promoteTimeout + ": " + last);
      }
      sleepBriefly();
    }
  }

  private static long replayPosition(Connection c) throws SQLException {
    return ServerProbes.replayLsn(c);
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(50); // the poll interval of a bounded wait; callers check their deadline
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("interrupted", e);
    }
  }
}
