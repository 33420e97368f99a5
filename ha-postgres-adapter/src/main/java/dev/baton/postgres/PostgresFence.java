package dev.baton.postgres;

import dev.baton.core.ActionContext;
import dev.baton.core.Fence;
import dev.baton.core.StaleTokenException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
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
 *
 * <p><b>Time bound (protocol version 3).</b> With {@link Builder#timeBound timeBound(true)} the
 * advance also writes the row of {@code baton.fence_lease} for the new token, with a {@code
 * valid_until} that has already passed, in the same transaction and under the same exclusive lock:
 * every transaction that passes the check with the new token is then bounded, and writes are
 * refused ({@code BT007}) until the active {@linkplain #renewLease renews} the lease. The renewal
 * updates only {@code baton.fence_lease}, which writers never lock, so it never waits for a writer.
 * A stale active's renewal changes nothing: it must name the token that the fence holds.
 */
public final class PostgresFence implements Fence {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresFence.class);
  private static final Duration DEFAULT_LOCK_WAIT = Duration.ofSeconds(30);

  private final DataSource dataSource;
  private final String resource;
  private final FenceSchema schema;
  private final Duration terminateBlockersAfter;
  private final Duration maxLockWait;
  private final boolean timeBound;
  private final double driftBound;
  private final Duration maxRenewalTime; // null: derived from the lease at each renewal

  private PostgresFence(Builder b) {
    this.dataSource = b.dataSource;
    this.resource = b.resource;
    this.schema = b.schema;
    this.terminateBlockersAfter = b.terminateBlockersAfter;
    this.maxLockWait = b.maxLockWait;
    this.timeBound = b.timeBound;
    this.driftBound = b.driftBound;
    this.maxRenewalTime = b.maxRenewalTime;
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
    private boolean timeBound;
    private double driftBound = 0.01;
    private Duration maxRenewalTime;

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

    /**
     * Whether an advance bounds the new token in time (protocol version 3, default false): it
     * writes the token's row of {@code baton.fence_lease}, already lapsed, so that writes with the
     * token are accepted only while the active {@linkplain PostgresFence#renewLease renews} it. A
     * fence without it is unbounded, as in version 2.
     */
    public Builder timeBound(boolean on) {
      this.timeBound = on;
      return this;
    }

    /**
     * The bound on the rate difference between this node's monotonic clock and the database host's
     * clock (default 0.01, the same 1% as between nodes). A renewal takes this fraction off the
     * lease that remains.
     */
    public Builder driftBound(double drift) {
      if (!(drift >= 0 && drift < 0.5)) {
        throw new IllegalArgumentException("driftBound must be in [0, 0.5), was " + drift);
      }
      this.driftBound = drift;
      return this;
    }

    /**
     * The longest a renewal may take from the moment the remaining lease was measured until its
     * answer arrives. It is taken off {@code valid_until} in advance, because the database reads
     * its clock at an unknown point of that time; a renewal that took longer is rolled back,
     * leaving the previous {@code valid_until}, and reported. By default it is derived from the
     * lease at each renewal, as the bound is ({@link #renewalBudgetNanos}): half of {@code
     * remaining × (1 − driftBound)}. Set it to fix it instead.
     */
    public Builder maxRenewalTime(Duration max) {
      Objects.requireNonNull(max, "maxRenewalTime");
      if (max.isNegative() || max.isZero()) {
        throw new IllegalArgumentException("maxRenewalTime must be positive, was " + max);
      }
      this.maxRenewalTime = max;
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
        if (timeBound) {
          boundNewToken(c, token);
        }
        c.commit();
        LOG.info("fence {}: created at token {}", resource, token);
        return;
      }
    }
    long current = read(c);
    if (current == token) {
      if (timeBound && !leaseHolds(c, token)) {
        // Writers may be checking this token, unbounded, right now: take the row's lock so that
        // none of them runs across the moment the bound appears (their commit is not checked).
        lockFenceRow(c);
        boundNewToken(c, token);
      }
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
    if (timeBound) {
      boundNewToken(c, token);
    }
    c.commit();
    LOG.info("fence {}: advanced from token {} to {}", resource, current, token);
  }

  /**
   * Writes the lease row of {@code token}, lapsed ({@code valid_until} = now by the database's
   * clock), in the advancing transaction, which holds the fence row's exclusive lock: every
   * transaction that later passes the check with {@code token} is bounded.
   */
  private void boundNewToken(Connection c, long token) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + schema.leaseTable()
                + " AS l (resource, token, valid_until, renewed_at)"
                + " VALUES (?, ?, clock_timestamp(), clock_timestamp())"
                + " ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token,"
                + " valid_until = EXCLUDED.valid_until, renewed_at = EXCLUDED.renewed_at"
                + " WHERE l.token <> EXCLUDED.token")) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      ps.executeUpdate();
    }
  }

  private boolean leaseHolds(Connection c, long token) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT 1 FROM "
                + schema.leaseTable()
                + " WHERE resource = ? AND token = ? AND valid_until IS NOT NULL")) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private void lockFenceRow(Connection c) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT token FROM " + schema.fenceTable() + " WHERE resource = ? FOR NO KEY UPDATE")) {
      ps.setString(1, resource);
      ps.executeQuery().close();
    }
  }

  /**
   * How long a renewal may take, from reading the remaining lease to its answer: {@code fixed} when
   * set ({@link Builder#maxRenewalTime}), otherwise derived from the lease as the bound is, half of
   * {@code remaining × (1 − drift)}. The round trip and the bound then share what is left of the
   * lease equally: {@code budget + bound = remaining × (1 − drift)} whatever the lease, which is
   * what keeps {@code valid_until} before the lease's end (docs/lease.md, step 6), and the bound
   * outlasts the renewer's interval while the lease is more than twice that. A fixed 100 ms was
   * both more than a short remaining lease allowed and less than a loaded host's round trip takes
   * (a renewal of 114 ms was rolled back while 600 ms of the lease remained).
   *
   * @return nanoseconds, never negative
   */
  static long renewalBudgetNanos(Duration remaining, double drift, Duration fixed) {
    if (fixed != null) {
      return fixed.toNanos();
    }
    return Math.max(0, (long) (remaining.toNanos() * (1 - drift)) / 2);
  }

  /**
   * The bound a renewal writes ({@code valid_until} after the database's clock): {@code remaining ×
   * (1 − drift) − budget}, never negative.
   */
  static long boundMicros(Duration remaining, double drift, long budgetNanos) {
    // Rounded down once, after the difference: never past remaining × (1 − drift) − budget.
    return Math.max(0, ((long) (remaining.toNanos() * (1 - drift)) - budgetNanos) / 1000);
  }

  /**
   * Renews the time bound of {@code token}: sets {@code valid_until} to the database's {@code
   * clock_timestamp()} plus {@code remaining × (1 − driftBound) − budget} ({@link
   * #renewalBudgetNanos}), only if {@code token} is still the token the fence holds and the advance
   * bounded it ({@link Builder#timeBound}). It updates {@code baton.fence_lease} alone, so it never
   * waits for a writer that holds the fence row. {@code remaining} is what is left of this node's
   * lease at the moment of the call: the time the call takes, connecting included, counts against
   * it.
   *
   * @return the new {@code valid_until}, or empty when {@code token} no longer holds the fence (a
   *     newer active advanced it) or its advance did not bound it: nothing was changed
   * @throws SQLTransientException if the renewal took longer than its budget: it was rolled back,
   *     and the previous {@code valid_until} stands
   */
  public Optional<Instant> renewLease(long token, Duration remaining) throws SQLException {
    long measured = System.nanoTime();
    try (Connection c = dataSource.getConnection()) {
      return renewLease(c, token, remaining, measured);
    }
  }

  /**
   * {@link #renewLease(long, Duration)} on a connection the caller holds (a renewer keeps one
   * open), with {@code remaining} measured at {@code measuredAtNanos} ({@link System#nanoTime()},
   * read before the lease was): the time since then counts against it. Restores the connection's
   * auto-commit mode.
   */
  Optional<Instant> renewLease(Connection c, long token, Duration remaining, long measuredAtNanos)
      throws SQLException {
    Objects.requireNonNull(remaining, "remaining");
    long budgetNanos = renewalBudgetNanos(remaining, driftBound, maxRenewalTime);
    long boundMicros = boundMicros(remaining, driftBound, budgetNanos);
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE "
                + schema.leaseTable()
                + " l SET valid_until = clock_timestamp() + ? * interval '1 microsecond',"
                + " renewed_at = clock_timestamp()"
                + " WHERE l.resource = ? AND l.token = ? AND l.valid_until IS NOT NULL"
                + " AND EXISTS (SELECT 1 FROM "
                + schema.fenceTable()
                + " f WHERE f.resource = l.resource AND f.token = l.token)"
                + " RETURNING l.valid_until")) {
      ps.setLong(1, boundMicros);
      ps.setString(2, resource);
      ps.setLong(3, token);
      Instant validUntil = null;
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          validUntil = rs.getObject(1, OffsetDateTime.class).toInstant();
        }
      }
      long tookNanos = System.nanoTime() - measuredAtNanos;
      if (validUntil == null) {
        c.rollback();
        return Optional.empty();
      }
      if (tookNanos * (1 + driftBound) > budgetNanos) {
        c.rollback();
        throw new SQLTransientException(
            "renewing the fence lease of resource '"
                + resource
                + "' for token "
                + token
                + " took "
                + tookNanos / 1_000_000
                + " ms, more than "
                + (maxRenewalTime != null
                    ? "maxRenewalTime " + maxRenewalTime.toMillis() + " ms"
                    : "its budget "
                        + budgetNanos / 1_000_000
                        + " ms (half of the lease that remained, "
                        + remaining.toMillis()
                        + " ms, less the drift bound)")
                + ": rolled back, the previous valid_until stands");
      }
      c.commit();
      return Optional.of(validUntil);
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  /**
   * The {@code valid_until} of {@code token}'s lease: empty when the token has no lease row or it
   * is unbounded (NULL).
   */
  public Optional<Instant> leaseValidUntil(long token) throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT valid_until FROM "
                    + schema.leaseTable()
                    + " WHERE resource = ? AND token = ? AND valid_until IS NOT NULL")) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(rs.getObject(1, OffsetDateTime.class).toInstant())
            : Optional.empty();
      }
    }
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
