package dev.baton.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs beside a waiting advance: after the grace period, terminates the sessions that block it.
 * They can only be transactions that checked the old token (a higher token is refused by the
 * check), so they belong to an active that has been superseded.
 */
final class FenceBlockerTerminator implements Runnable {
  // The fence's own logger: these lines are part of its advance.
  private static final Logger LOG = LoggerFactory.getLogger(PostgresFence.class);

  private final DataSource dataSource;
  private final String resource;
  private final Duration terminateBlockersAfter;
  private final int waiterPid;
  private final long token;
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile @Nullable String lastError = "none blocked";

  private FenceBlockerTerminator(
      DataSource dataSource, String resource, Duration grace, int waiterPid, long token) {
    this.dataSource = dataSource;
    this.resource = resource;
    this.terminateBlockersAfter = grace;
    this.waiterPid = waiterPid;
    this.token = token;
  }

  /**
   * Starts a terminator for the advance of {@code resource} to {@code token}, whose waiting session
   * is {@code waiterPid}; null when {@code grace} is null (terminating is disabled).
   */
  static @Nullable FenceBlockerTerminator start(
      DataSource dataSource, String resource, Duration grace, int waiterPid, long token) {
    if (grace == null) {
      return null;
    }
    FenceBlockerTerminator t =
        new FenceBlockerTerminator(dataSource, resource, grace, waiterPid, token);
    Thread thread = new Thread(t, "baton-fence-terminator-" + resource);
    thread.setDaemon(true);
    thread.start();
    return t;
  }

  @Nullable String lastError() {
    return lastError;
  }

  void stop() {
    done.countDown();
  }

  @Override
  public void run() {
    try {
      if (done.await(terminateBlockersAfter.toMillis(), TimeUnit.MILLISECONDS)) {
        return;
      }
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(true);
        while (!done.await(0, TimeUnit.MILLISECONDS)) {
          terminateBlockers(c);
          if (done.await(100, TimeUnit.MILLISECONDS)) {
            return;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException | RuntimeException e) {
      lastError = e.getMessage();
      LOG.warn(
          "fence {}: cannot terminate the sessions that block the advance to token {}: {}",
          resource,
          token,
          e.getMessage());
    }
  }

  private void terminateBlockers(Connection c) throws SQLException {
    List<String> terminated = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'),"
                + " pg_terminate_backend(a.pid, 2000)"
                + " FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids(?))")) {
      ps.setInt(1, waiterPid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          terminated.add(
              "pid "
                  + rs.getInt(1)
                  + " ("
                  + rs.getString(2)
                  + "@"
                  + rs.getString(3)
                  + (rs.getBoolean(4) ? "" : ", not terminated")
                  + ")");
        }
      }
    }
    if (!terminated.isEmpty()) {
      LOG.warn(
          "fence {}: terminated sessions holding the old token to advance to token {}: {}",
          resource,
          token,
          terminated);
    }
  }
}
