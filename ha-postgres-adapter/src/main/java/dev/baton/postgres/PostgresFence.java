package dev.baton.postgres;

import dev.baton.core.ActionContext;
import dev.baton.core.Fence;
import dev.baton.core.StaleTokenException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fence row of one resource in PostgreSQL: a new active {@linkplain #advance advances} it to
 * its token before it writes, and from then on every {@link FencedDataSource} transaction that
 * carries a lower token is refused.
 *
 * <p>The advance is an {@code UPDATE ... SET token = ? WHERE resource = ? AND token < ?}: it needs
 * the row's exclusive lock, so it waits until every transaction that checked the old token (each
 * holds the row {@code FOR SHARE} until it ends) has committed or rolled back. Those transactions
 * belong to an active whose lease has ended, typically one that is paused; waiting for them is
 * unbounded, so after a grace period ({@link Builder#terminateBlockersAfter}, default 1 s) the
 * advance terminates the sessions that block it ({@code pg_terminate_backend}, which needs the
 * {@code pg_signal_backend} role or superuser). A terminated transaction commits nothing, so this
 * costs the stale active its in-flight work and never lets it commit after the advance.
 *
 * <p>The advance installs the fence schema first if it is missing (idempotent) and creates the row
 * on first use. Advancing to the token the row already holds changes nothing. It uses two
 * connections from the data source at once (the waiting {@code UPDATE} and the session that
 * terminates its blockers), so a pool behind it needs room for two.
 */
public final class PostgresFence implements Fence {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresFence.class);
  private static final Duration DEFAULT_LOCK_WAIT = Duration.ofSeconds(30);

  private final DataSource dataSource;
  private final String resource;
  private final FenceSchema schema;
  private final Duration terminateBlockersAfter;
  private final Duration maxLockWait;

  private PostgresFence(Builder b) {
    this.dataSource = b.dataSource;
    this.resource = b.resource;
    this.schema = b.schema;
    this.terminateBlockersAfter = b.terminateBlockersAfter;
    this.maxLockWait = b.maxLockWait;
  }

  public static Builder builder(DataSource dataSource) {
    return new Builder(dataSource);
  }

  /** A fence for {@code resource} in schema {@code baton}, with the default timings. */
  public static PostgresFence of(DataSource dataSource, String resource) {
    return builder(dataSource).resource(resource).build();
  }

  /** Builds a {@link PostgresFence}. */
  public static final class Builder {
    private final DataSource dataSource;
    private String resource;
    private FenceSchema schema = FenceSchema.defaultSchema();
    private Duration terminateBlockersAfter = Duration.ofSeconds(1);
    private Duration maxLockWait = DEFAULT_LOCK_WAIT;

    private Builder(DataSource dataSource) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    }

    /** The fenced resource (the row's key). Required. */
    public Builder resource(String resource) {
      Objects.requireNonNull(resource, "resource");
      if (resource.isEmpty()) {
        throw new IllegalArgumentException("resource must not be empty");
      }
      this.resource = resource;
      return this;
    }

    public Builder schema(FenceSchema schema) {
      this.schema = Objects.requireNonNull(schema, "schema");
      return this;
    }

    /**
     * How long an advance waits for transactions that hold the old token before terminating their
     * sessions; {@code null} never terminates (the advance then waits up to the lock wait).
     */
    public Builder terminateBlockersAfter(Duration grace) {
      this.terminateBlockersAfter = grace;
      return this;
    }

    /**
     * The longest an advance waits for the row lock when the action context gives no deadline
     * (default 30 s).
     */
    public Builder maxLockWait(Duration maxLockWait) {
      this.maxLockWait = Objects.requireNonNull(maxLockWait, "maxLockWait");
      return this;
    }

    public PostgresFence build() {
      if (resource == null) {
        throw new IllegalStateException("PostgresFence needs a resource name");
      }
      return new PostgresFence(this);
    }
  }

  @Override
  public String name() {
    return "postgres-fence:" + resource;
  }

  public String resource() {
    return resource;
  }

  @Override
  public void advance(long token, ActionContext context) throws Exception {
    Duration wait = maxLockWait;
    if (context != null && !context.deadline().isZero() && !context.deadline().isNegative()) {
      wait = context.deadline().compareTo(wait) < 0 ? context.deadline() : wait;
    }
    advance(token, wait);
  }

  /**
   * Advances the fence to {@code token}, waiting at most {@code lockWait} for transactions that
   * hold the old token.
   *
   * @throws StaleTokenException if the fence already holds a higher token
   */
  public void advance(long token, Duration lockWait) throws SQLException {
    if (token < 0) {
      throw new IllegalArgumentException("token must be >= 0, was " + token);
    }
    try (Connection c = dataSource.getConnection()) {
      schema.install(c);
      c.setAutoCommit(false);
      try {
        advanceInTransaction(c, token, lockWait);
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private void advanceInTransaction(Connection c, long token, Duration lockWait)
      throws SQLException {
    String table = schema.fenceTable();
    try (Statement s = c.createStatement()) {
      s.execute("SET LOCAL lock_timeout = " + Math.max(1, lockWait.toMillis()));
    }
    try (PreparedStatement ins =
        c.prepareStatement(
            "INSERT INTO "
                + table
                + " (resource, token, updated_at) VALUES (?, ?, now())"
                + " ON CONFLICT (resource) DO NOTHING")) {
      ins.setString(1, resource);
      ins.setLong(2, token);
      if (ins.executeUpdate() == 1) {
        c.commit();
        LOG.info("fence {}: created at token {}", resource, token);
        return;
      }
    }
    long current = read(c);
    if (current == token) {
      c.commit();
      LOG.debug("fence {}: already at token {}", resource, token);
      return;
    }
    if (current > token) {
      throw new StaleTokenException(resource, token, current);
    }
    int pid = backendPid(c);
    BlockerTerminator terminator = startTerminator(pid, token);
    int updated;
    try (PreparedStatement up =
        c.prepareStatement(
            "UPDATE "
                + table
                + " SET token = ?, updated_at = now() WHERE resource = ? AND token < ?")) {
      up.setLong(1, token);
      up.setString(2, resource);
      up.setLong(3, token);
      updated = up.executeUpdate();
    } catch (SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        throw new SQLException(
            "advancing the fence of resource '"
                + resource
                + "' from token "
                + current
                + " to "
                + token
                + " timed out after "
                + lockWait.toMillis()
                + " ms waiting for transactions that hold token "
                + current
                + (terminator == null
                    ? " (terminating them is disabled)"
                    : " (terminating them failed: " + terminator.lastError() + ")"),
            "55P03",
            e);
      }
      throw e;
    } finally {
      if (terminator != null) {
        terminator.stop();
      }
    }
    if (updated == 0) {
      // A concurrent advance won while this one waited: READ COMMITTED re-read the row.
      long now = read(c);
      if (now > token) {
        throw new StaleTokenException(resource, token, now);
      }
    }
    c.commit();
    LOG.info("fence {}: advanced from token {} to {}", resource, current, token);
  }

  @Override
  public long currentToken() throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return read(c);
    } catch (SQLException e) {
      if ("3F000".equals(e.getSQLState()) || "42P01".equals(e.getSQLState())) {
        return 0; // schema or table not installed yet: no token was ever accepted
      }
      throw e;
    }
  }

  private long read(Connection c) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT token FROM " + schema.fenceTable() + " WHERE resource = ?")) {
      ps.setString(1, resource);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  private static int backendPid(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private BlockerTerminator startTerminator(int waiterPid, long token) {
    if (terminateBlockersAfter == null) {
      return null;
    }
    BlockerTerminator t = new BlockerTerminator(waiterPid, token);
    Thread thread = new Thread(t, "baton-fence-terminator-" + resource);
    thread.setDaemon(true);
    thread.start();
    return t;
  }

  /**
   * Runs beside a waiting advance: after the grace period, terminates the sessions that block it.
   * They can only be transactions that checked the old token (a higher token is refused by the
   * check), so they belong to an active that has been superseded.
   */
  private final class BlockerTerminator implements Runnable {
    private final int waiterPid;
    private final long token;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile String lastError = "none blocked";

    BlockerTerminator(int waiterPid, long token) {
      this.waiterPid = waiterPid;
      this.token = token;
    }

    String lastError() {
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
}
