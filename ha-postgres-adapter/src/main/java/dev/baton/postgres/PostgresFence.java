package dev.baton.postgres;

import dev.baton.core.Fence;
import dev.baton.core.StaleTokenException;
import dev.baton.core.StepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
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
  private final FenceLease lease;

  private PostgresFence(Builder b) {
    this.dataSource = b.dataSource;
    this.resource = Objects.requireNonNull(b.resource, "resource"); // build() refused none
    this.schema = b.schema;
    this.terminateBlockersAfter = b.terminateBlockersAfter;
    this.maxLockWait = b.maxLockWait;
    this.timeBound = b.timeBound;
    this.lease = new FenceLease(b.dataSource, resource, b.schema, b.driftBound, b.maxRenewalTime);
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
    private @Nullable String resource;
    private FenceSchema schema = FenceSchema.defaultSchema();
    private Duration terminateBlockersAfter = Duration.ofSeconds(1);
    private Duration maxLockWait = DEFAULT_LOCK_WAIT;
    private boolean timeBound;
    private double driftBound = 0.01;
    private @Nullable Duration maxRenewalTime;

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
     * lease at each renewal, as the bound is ({@code FenceLease.renewalBudgetNanos}): half of
     * {@code remaining × (1 − driftBound)}. Set it to fix it instead.
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
  public void advance(long token, StepContext context) throws Exception {
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
          lease.bound(c, token);
        }
        c.commit();
        LOG.info("fence {}: created at token {}", resource, token);
        return;
      }
    }
    long current = read(c);
    if (current == token) {
      if (timeBound && !lease.holds(c, token)) {
        // Writers may be checking this token, unbounded, right now: take the row's lock so that
        // none of them runs across the moment the bound appears (their commit is not checked).
        lockFenceRow(c);
        lease.bound(c, token);
      }
      c.commit();
      LOG.debug("fence {}: already at token {}", resource, token);
      return;
    }
    if (current > token) {
      throw new StaleTokenException(resource, token, current);
    }
    int pid = backendPid(c);
    FenceBlockerTerminator terminator =
        FenceBlockerTerminator.start(dataSource, resource, terminateBlockersAfter, pid, token);
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
      lease.bound(c, token);
    }
    c.commit();
    LOG.info("fence {}: advanced from token {} to {}", resource, current, token);
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
   * Renews the time bound of {@code token}: sets {@code valid_until} to the database's {@code
   * clock_timestamp()} plus {@code remaining × (1 − driftBound) − budget} ({@code
   * FenceLease.renewalBudgetNanos}), only if {@code token} is still the token the fence holds and
   * the advance bounded it ({@link Builder#timeBound}). It updates {@code baton.fence_lease} alone,
   * so it never waits for a writer that holds the fence row. {@code remaining} is what is left of
   * this node's lease at the moment of the call: the time the call takes, connecting included,
   * counts against it.
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
    return lease.renew(c, token, remaining, measuredAtNanos);
  }

  /**
   * The {@code valid_until} of {@code token}'s lease: empty when the token has no lease row or it
   * is unbounded (NULL).
   */
  public Optional<Instant> leaseValidUntil(long token) throws SQLException {
    return lease.validUntil(token);
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
}
