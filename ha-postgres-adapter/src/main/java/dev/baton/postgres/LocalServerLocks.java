package dev.baton.postgres;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per PostgreSQL server (host:port) in this JVM, shared by the promotion action and the
 * former-primary guard of the same node. A promotion holds it from its first look at the server to
 * the published writer, and the guard holds it from its last look at the node's role and the
 * published writer to the end of its fencing, so the guard can never fence a server that this node
 * has just promoted but not yet published.
 */
final class LocalServerLocks {
  private static final ConcurrentHashMap<String, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

  private LocalServerLocks() {}

  static ReentrantLock of(PostgresEndpoint server) {
    return LOCKS.computeIfAbsent(
        server.address().toLowerCase(Locale.ROOT), k -> new ReentrantLock());
  }
}
