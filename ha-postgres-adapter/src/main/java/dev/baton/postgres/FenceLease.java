package dev.baton.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;

/**
 * The time bound of a {@link PostgresFence} (protocol version 3): the rows of {@code
 * baton.fence_lease}, written lapsed when the fence advances to a token and renewed by the active
 * while its lease lasts. The renewal's arithmetic, which keeps {@code valid_until} before the end
 * of the node's lease, is here (docs/lease.md, step 6).
 */
final class FenceLease {
  private final DataSource dataSource;
  private final String resource;
  private final FenceSchema schema;
  private final double driftBound;
  private final @Nullable Duration maxRenewalTime; // null: derived from the lease at each renewal

  FenceLease(
      DataSource dataSource,
      String resource,
      FenceSchema schema,
      double driftBound,
      @Nullable Duration maxRenewalTime) {
    this.dataSource = dataSource;
    this.resource = resource;
    this.schema = schema;
    this.driftBound = driftBound;
    this.maxRenewalTime = maxRenewalTime;
  }

  /**
   * Writes the lease row of {@code token}, lapsed ({@code valid_until} = now by the database's
   * clock), in the advancing transaction, which holds the fence row's exclusive lock: every
   * transaction that later passes the check with {@code token} is bounded.
   */
  void bound(Connection c, long token) throws SQLException {
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

  boolean holds(Connection c, long token) throws SQLException {
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

  /**
   * How long a renewal may take, from reading the remaining lease to its answer: {@code fixed} when
   * set ({@link PostgresFence.Builder#maxRenewalTime}), otherwise derived from the lease as the
   * bound is, half of {@code remaining × (1 − drift)}. The round trip and the bound then share what
   * is left of the lease equally: {@code budget + bound = remaining × (1 − drift)} whatever the
   * lease, which is what keeps {@code valid_until} before the lease's end (docs/lease.md, step 6),
   * and the bound outlasts the renewer's interval while the lease is more than twice that. A fixed
   * 100 ms was both more than a short remaining lease allowed and less than a loaded host's round
   * trip takes (a renewal of 114 ms was rolled back while 600 ms of the lease remained).
   *
   * @return nanoseconds, never negative
   */
  static long renewalBudgetNanos(Duration remaining, double drift, @Nullable Duration fixed) {
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
   * {@link PostgresFence#renewLease(long, Duration)} on a connection the caller holds, with {@code
   * remaining} measured at {@code measuredAtNanos} ({@link System#nanoTime()}, read before the
   * lease was): the time since then counts against it. Restores the connection's auto-commit mode.
   */
  Optional<Instant> renew(Connection c, long token, Duration remaining, long measuredAtNanos)
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
  Optional<Instant> validUntil(long token) throws SQLException {
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
}
