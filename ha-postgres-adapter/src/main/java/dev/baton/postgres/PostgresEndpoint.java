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
}
