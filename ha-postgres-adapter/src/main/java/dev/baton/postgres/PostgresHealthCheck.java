package dev.baton.postgres;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthResult;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The node's own PostgreSQL server, as a {@link HealthCheck}: healthy when it answers, and, while
 * {@code expectPrimary} says so (the node is active and its promotion is complete), when it is a
 * writable primary. A server that answers but is still in recovery under an active node cannot take
 * the plane's writes, so it is unhealthy there; on a standby node it only has to answer.
 *
 * <p>The password is given to the driver only, never logged, never in a message.
 */
public final class PostgresHealthCheck implements HealthCheck {
  private final Settings settings;
  private final PostgresEndpoint endpoint;
  private final PgConnections connections;
  private final BooleanSupplier expectPrimary;

  private PostgresHealthCheck(
      Settings settings,
      PostgresEndpoint endpoint,
      PgConnections connections,
      BooleanSupplier expectPrimary) {
    this.settings = settings;
    this.endpoint = endpoint;
    this.connections = connections;
    this.expectPrimary = expectPrimary;
  }

  /**
   * @param settings name, interval, timeout (the driver's timeouts are whole seconds, at least 1;
   *     the monitor's timeout still applies to the whole probe)
   * @param endpoint the local server
   * @param user the role to connect as (any role that may log in; no privilege is needed)
   * @param password its password, or null (peer or trust authentication)
   * @param expectPrimary whether the server must now be a writable primary
   */
  public static PostgresHealthCheck of(
      Settings settings,
      PostgresEndpoint endpoint,
      String user,
      String password,
      BooleanSupplier expectPrimary) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(expectPrimary, "expectPrimary");
    return new PostgresHealthCheck(
        settings,
        endpoint,
        new PgConnections(
            user,
            password,
            settings.timeout(),
            settings.timeout(),
            "baton-health-" + settings.name()),
        expectPrimary);
  }

  @Override
  public Settings settings() {
    return settings;
  }

  @Override
  public HealthResult check() {
    boolean primary = expectPrimary.getAsBoolean();
    try (Connection c = connections.connectOrThrow(endpoint)) {
      boolean inRecovery = ServerProbes.inRecovery(c);
      if (primary && inRecovery) {
        return HealthResult.unhealthy(
            endpoint.host()
                + ":"
                + endpoint.port()
                + " is in recovery (a standby), but this node is active: it cannot take writes");
      }
      return HealthResult.ok();
    } catch (SQLException e) {
      return HealthResult.unhealthy(
          endpoint.host()
              + ":"
              + endpoint.port()
              + " ("
              + endpoint.database()
              + " as "
              + connections.user()
              + "): "
              + (e.getSQLState() == null ? "" : "SQLSTATE " + e.getSQLState() + " ")
              + e.getMessage());
    }
  }

  /**
   * One probe, answer ignored: a cold JVM's first connection loads the driver's classes (and, with
   * TLS, its security providers), which the first counted probe should not pay.
   */
  @Override
  public void warmUp() {
    check();
  }

  @Override
  public String toString() {
    return "PostgresHealthCheck[" + settings.name() + " " + endpoint + "]";
  }
}
