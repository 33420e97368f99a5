package dev.baton.postgres;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * A connection from a {@link FencedDataSource}. Obtain it with {@code
 * connection.unwrap(FencedConnection.class)} when you need to check the fence explicitly, for
 * example before using the driver's COPY API on the unwrapped {@code PGConnection}, which the fence
 * cannot see.
 */
public interface FencedConnection extends Connection {

  /** The fenced resource. */
  String resource();

  /**
   * Checks the fence in the current transaction now, if this transaction has not been checked yet
   * (it begins a transaction when none is open), and returns the token it checked. The fence row's
   * shared lock is then held until the transaction ends.
   *
   * @throws StaleTokenSQLException if the token is stale; the transaction is then aborted
   * @throws SQLException if the connection is in auto-commit mode (each statement is its own
   *     transaction, so an explicit check would not protect the next one), or the transaction is
   *     read-only ({@code setReadOnly(true)}: it cannot write and takes no lock)
   */
  long checkFence() throws SQLException;
}
