package dev.baton.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.postgresql.Driver;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Connections to a {@link PostgresEndpoint} with the action's credentials and short timeouts. The
 * password goes only into the driver's connection properties: never into a URL, a log line or an
 * exception message.
 */
final class PgConnections {
  private static final Driver DRIVER = new Driver();

  private final String user;
  private final @Nullable String password;
  private final Duration connectTimeout;
  private final Duration socketTimeout;
  private final String applicationName;

  PgConnections(
      String user,
      @Nullable String password,
      Duration connectTimeout,
      Duration socketTimeout,
      String applicationName) {
    this.user = user;
    this.password = password;
    this.connectTimeout = connectTimeout;
    this.socketTimeout = socketTimeout;
    this.applicationName = applicationName;
  }

  String user() {
    return user;
  }

  /**
   * Connects to {@code endpoint}.
   *
   * @param role what the server is to the caller ("the standby to promote"), for the message
   * @throws PostgresUnreachableException naming host:port, database and user
   */
  Connection connect(PostgresEndpoint endpoint, String role) {
    try {
      return connectOrThrow(endpoint);
    } catch (SQLException e) {
      throw new PostgresUnreachableException(endpoint, role, user, e);
    }
  }

  Connection connectOrThrow(PostgresEndpoint endpoint) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("connectTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())));
    p.setProperty("loginTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())));
    p.setProperty("socketTimeout", Long.toString(Math.max(1, socketTimeout.toSeconds())));
    p.setProperty("ApplicationName", applicationName);
    Connection c = DRIVER.connect(endpoint.jdbcUrl(), p);
    if (c == null) {
      throw new SQLException("the PostgreSQL driver did not accept " + endpoint.jdbcUrl());
    }
    return c;
  }

  /** A plain DataSource on {@code endpoint} with the same credentials and timeouts. */
  DataSource dataSource(PostgresEndpoint endpoint) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {endpoint.host()});
    ds.setPortNumbers(new int[] {endpoint.port()});
    ds.setDatabaseName(endpoint.database());
    ds.setUser(user);
    if (password != null) {
      ds.setPassword(password);
    }
    ds.setConnectTimeout((int) Math.max(1, connectTimeout.toSeconds()));
    ds.setLoginTimeout((int) Math.max(1, connectTimeout.toSeconds()));
    ds.setSocketTimeout((int) Math.max(1, socketTimeout.toSeconds()));
    ds.setApplicationName(applicationName);
    return ds;
  }

  static String queryString(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      if (!rs.next()) {
        throw new SQLException("no row from " + sql);
      }
      return rs.getString(1);
    }
  }

  static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** Closes a connection to a server this code is done with; null and failures are ignored. */
  static void closeQuietly(@Nullable Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // closing a connection to a server we are done with
      }
    }
  }
}
