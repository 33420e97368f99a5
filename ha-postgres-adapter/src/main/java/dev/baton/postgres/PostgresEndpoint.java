package dev.baton.postgres;

import java.util.Objects;

/**
 * Where a PostgreSQL server listens: host, port and the database to connect to. It carries no
 * credentials, so it is safe to log, publish and put in error messages.
 */
public record PostgresEndpoint(String host, int port, String database) {

  public PostgresEndpoint {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(database, "database");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port must be 1..65535, was " + port);
    }
  }

  /** The endpoint of database {@code postgres} at {@code host:port}. */
  public static PostgresEndpoint of(String host, int port) {
    return new PostgresEndpoint(host, port, "postgres");
  }

  /**
   * The endpoint of a {@code jdbc:postgresql://host[:port]/database[?...]} URL (one host; port 5432
   * when absent).
   */
  public static PostgresEndpoint fromJdbcUrl(String url) {
    String prefix = "jdbc:postgresql://";
    if (url == null || !url.startsWith(prefix)) {
      throw new IllegalArgumentException("not a jdbc:postgresql:// URL: " + url);
    }
    String rest = url.substring(prefix.length());
    int q = rest.indexOf('?');
    if (q >= 0) {
      rest = rest.substring(0, q);
    }
    int slash = rest.indexOf('/');
    String hostPort = slash >= 0 ? rest.substring(0, slash) : rest;
    String db = slash >= 0 ? rest.substring(slash + 1) : "";
    if (hostPort.contains(",")) {
      throw new IllegalArgumentException("a writer URL names one host, not several: " + url);
    }
    String host;
    int port = 5432;
    if (hostPort.startsWith("[")) {
      int end = hostPort.indexOf(']');
      host = hostPort.substring(1, end);
      if (end + 1 < hostPort.length() && hostPort.charAt(end + 1) == ':') {
        port = Integer.parseInt(hostPort.substring(end + 2));
      }
    } else {
      int colon = hostPort.lastIndexOf(':');
      host = colon >= 0 ? hostPort.substring(0, colon) : hostPort;
      if (colon >= 0) {
        port = Integer.parseInt(hostPort.substring(colon + 1));
      }
    }
    return new PostgresEndpoint(host, port, db.isEmpty() ? "postgres" : db);
  }

  /** {@code host:port} (IPv6 hosts in brackets), as error messages name a server. */
  public String address() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** {@code jdbc:postgresql://host:port/database}, without credentials. */
  public String jdbcUrl() {
    return "jdbc:postgresql://" + address() + "/" + database;
  }

  @Override
  public String toString() {
    return address() + "/" + database;
  }

  /**
   * A plain pgjdbc {@code DataSource} on this server, configured as the adapter's own connections
   * are. The password, if any, goes to the driver only.
   */
  public javax.sql.DataSource dataSource(
      String user,
      String password,
      java.time.Duration connectTimeout,
      java.time.Duration socketTimeout,
      String applicationName) {
    return new PgConnections(user, password, connectTimeout, socketTimeout, applicationName)
        .dataSource(this);
  }
}
