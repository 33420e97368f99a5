package dev.baton.postgres;

import dev.baton.core.BatonException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;

/**
 * Makes a primary refuse writes, for the promotion action, demotion and the former-primary guard.
 */
final class ReadOnlyFencing {
  private ReadOnlyFencing() {}

  /**
   * Makes the primary behind {@code c} refuse writes: read-only by default for every new
   * transaction, then every other client session terminated, so no transaction that began writable
   * survives. WAL senders are left alone (a standby may still need to catch up).
   *
   * <p>It is a fence for clients that do not override the default ({@code SET
   * default_transaction_read_only = off} would); Baton's own clients never do, and the fence rows
   * stop stale tokens independently.
   */
  static void makeReadOnly(
      PgConnections connections,
      Connection c,
      PostgresEndpoint ep,
      String role,
      Duration timeout,
      String actionName,
      Logger log) {
    try {
      c.setAutoCommit(true);
      ServerProbes.readOnlyByDefault(c, true);
      // pg_reload_conf only signals the postmaster; sessions forked before it re-reads the file
      // start writable. Wait until a new session sees the setting, then terminate every session
      // that may have started before: each one still open now is in pg_stat_activity.
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        try (Connection probe = connections.connectOrThrow(ep)) {
          if (ServerProbes.newSessionReadOnly(probe)) {
            break;
          }
        }
        if (System.nanoTime() > deadline) {
          throw new SQLException(
              "new sessions on " + ep.address() + " did not become read-only within " + timeout);
        }
        try {
          Thread.sleep(20); // bounded poll: the deadline above ends it
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BatonException("interrupted fencing " + ep.address(), e);
        }
      }
      String terminated = ServerProbes.terminateClientSessions(c, timeout.toMillis());
      log.info(
          "{}: fenced {} {}: read-only, {} client session(s) terminated",
          actionName,
          role,
          ep.address(),
          terminated);
    } catch (SQLException e) {
      throw new BatonException(
          "cannot fence " + role + " " + ep.address() + " (make it read-only): " + e.getMessage(),
          e);
    }
  }
}
