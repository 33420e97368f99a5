package dev.baton.sidecar.config;

import dev.baton.core.BatonNode;

/**
 * Something a step's configuration runs beside the role for as long as the sidecar runs (the
 * PostgreSQL former-primary guard, the WAL position reporter). Started once the node has started,
 * closed before it stops.
 */
public interface NodeService {

  /** What it is, for the log: "postgres step 'pg': former-primary guard of 10.0.0.1:5432". */
  String describe();

  /** Starts the service on the running node. */
  AutoCloseable start(BatonNode node) throws Exception;

  /** What starts a service on the running node. */
  @FunctionalInterface
  interface Starter {
    AutoCloseable start(BatonNode node) throws Exception;
  }

  /** A service described by {@code description} and started by {@code starter}. */
  static NodeService of(String description, Starter starter) {
    return new NodeService() {
      @Override
      public String describe() {
        return description;
      }

      @Override
      public AutoCloseable start(BatonNode node) throws Exception {
        return starter.start(node);
      }
    };
  }
}
