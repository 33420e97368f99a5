package dev.baton.postgres;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Every question and order about a PostgreSQL server's own state that the promotion, the
 * former-primary guard, the rejoin and the health check send, in one place: whether it is in
 * recovery, its WAL positions and timeline, promotion, and the read-only default that fences an old
 * primary. The fence's own tables are {@link FenceSchema}'s and {@link PostgresFence}'s.
 *
 * <p>Each method runs on a connection the caller owns and leaves it open.
 */
final class ServerProbes {
  private ServerProbes() {}

  /** Whether the server is a standby (in recovery). */
  static boolean inRecovery(Connection c) throws SQLException {
    return "t".equals(PgConnections.queryString(c, "SELECT pg_is_in_recovery()"));
  }

  /** A primary's current write position, {@code pg_current_wal_lsn()}. */
  static long currentWalLsn(Connection c) throws SQLException {
    return Lsn.parse(PgConnections.queryString(c, "SELECT pg_current_wal_lsn()"));
  }

  /** The timeline a primary writes on: the first eight hex digits of its current WAL file. */
  static long currentTimeline(Connection c) throws SQLException {
    String file = PgConnections.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
    return Long.parseLong(file.substring(0, 8), 16);
  }

  /** A standby's replay position, {@code pg_last_wal_replay_lsn()}; 0 when it has none. */
  static long replayLsn(Connection c) throws SQLException {
    String lsn = PgConnections.queryString(c, "SELECT pg_last_wal_replay_lsn()");
    return lsn == null ? 0 : Lsn.parse(lsn);
  }

  /**
   * Asks a standby to promote itself and waits up to {@code waitSeconds} for it ({@code
   * pg_promote(true, s)}); whether it finished in that time.
   */
  static boolean promote(Connection c, long waitSeconds) throws SQLException {
    return "t".equals(PgConnections.queryString(c, "SELECT pg_promote(true, " + waitSeconds + ")"));
  }

  /** A checkpoint, so that the control file shows the server's current timeline. */
  static void checkpoint(Connection c) throws SQLException {
    PgConnections.execute(c, "CHECKPOINT");
  }

  /** Whether the server's configured default for new transactions is read-only. */
  static boolean readOnlyByDefault(Connection c) throws SQLException {
    return "on"
        .equals(
            PgConnections.queryString(
                c, "SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'"));
  }

  /**
   * Sets ({@code ALTER SYSTEM SET … = on}) or resets the read-only default for new transactions and
   * signals the server to reload its configuration. Sessions forked before the reload do not see
   * it: see {@link #newSessionReadOnly} and {@link #terminateClientSessions}.
   */
  static void readOnlyByDefault(Connection c, boolean on) throws SQLException {
    PgConnections.execute(
        c,
        on
            ? "ALTER SYSTEM SET default_transaction_read_only = on"
            : "ALTER SYSTEM RESET default_transaction_read_only");
    PgConnections.execute(c, "SELECT pg_reload_conf()");
  }

  /** Whether a session (a fresh one, to see a reload) starts its transactions read-only. */
  static boolean newSessionReadOnly(Connection fresh) throws SQLException {
    return "on".equals(PgConnections.queryString(fresh, "SHOW default_transaction_read_only"));
  }

  /** Whether this session's transactions are read-only ({@code SHOW transaction_read_only}). */
  static boolean transactionReadOnly(Connection c) throws SQLException {
    return !"off".equals(PgConnections.queryString(c, "SHOW transaction_read_only"));
  }

  /**
   * Terminates every client session but the caller's, waiting up to {@code timeoutMillis} for each
   * to go; how many it terminated.
   */
  static String terminateClientSessions(Connection c, long timeoutMillis) throws SQLException {
    return PgConnections.queryString(
        c,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, "
            + Math.max(1, timeoutMillis)
            + ")) FROM pg_stat_activity"
            + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
  }
}
