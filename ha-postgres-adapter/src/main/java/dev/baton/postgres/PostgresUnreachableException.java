package dev.baton.postgres;

import dev.baton.core.BatonException;
import java.sql.SQLException;

/**
 * A PostgreSQL server could not be reached. The message names what the server was to the caller,
 * its host:port, database and user (never a password); the cause is the driver's exception. The
 * operation that threw can be retried once the server is back.
 */
public class PostgresUnreachableException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final PostgresEndpoint endpoint;

  public PostgresUnreachableException(
      PostgresEndpoint endpoint, String role, String user, SQLException cause) {
    super(
        "cannot connect to "
            + role
            + " at "
            + endpoint.address()
            + " (database "
            + endpoint.database()
            + ", user "
            + user
            + "): "
            + cause.getMessage(),
        cause);
    this.endpoint = endpoint;
  }

  /** The server that could not be reached. */
  public PostgresEndpoint endpoint() {
    return endpoint;
  }
}
