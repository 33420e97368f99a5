package dev.baton.postgres;

import java.sql.SQLException;

/**
 * A fenced transaction was refused because the fence's lease (protocol version 3, {@code
 * baton.fence_lease}) had ended by the database's clock: the active node stopped renewing it (it is
 * cut off, paused or no longer active). SQLSTATE {@value FenceSchema#SQLSTATE_LEASE_ENDED} when the
 * fence check refused it, {@value FenceSchema#SQLSTATE_LEASE_ENDED_AT_COMMIT} when the commit did
 * ({@link #atCommit()}); either way nothing the transaction wrote is committed.
 *
 * <p>Unlike {@link StaleTokenSQLException}, the token may still be the newest: once the active
 * renews again (or a successor takes over with a higher token) a new transaction can pass. It is a
 * {@link SQLException} so that code that catches those keeps working; the database's own error is
 * its {@linkplain #getNextException() next exception}.
 */
public class FenceLeaseEndedSQLException extends SQLException {
  private static final long serialVersionUID = 1L;

  private final String resource;
  private final long token;

  public FenceLeaseEndedSQLException(String resource, long token, SQLException fromDatabase) {
    super(
        fromDatabase.getMessage(),
        fromDatabase.getSQLState(),
        fromDatabase.getErrorCode(),
        fromDatabase);
    this.resource = resource;
    this.token = token;
    setNextException(fromDatabase);
  }

  /** The fenced resource. */
  public String resource() {
    return resource;
  }

  /** The token the transaction offered. */
  public long token() {
    return token;
  }

  /** Whether the commit was refused ({@code BT008}) rather than the check ({@code BT007}). */
  public boolean atCommit() {
    return FenceSchema.SQLSTATE_LEASE_ENDED_AT_COMMIT.equals(getSQLState());
  }

  /**
   * Whether {@code e} carries the SQLSTATE of an ended fence lease ({@code BT007}/{@code BT008}).
   */
  static boolean isLeaseEnded(SQLException e) {
    return FenceSchema.SQLSTATE_LEASE_ENDED.equals(e.getSQLState())
        || FenceSchema.SQLSTATE_LEASE_ENDED_AT_COMMIT.equals(e.getSQLState());
  }
}
