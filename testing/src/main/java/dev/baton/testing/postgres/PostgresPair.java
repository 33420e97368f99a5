package dev.baton.testing.postgres;

import static org.awaitility.Awaitility.await;

import java.time.Duration;

/**
 * A primary and a streaming standby of it, both real PostgreSQL 15 servers on loopback ports.
 * {@link #start()} returns once the standby streams from the primary; {@link #close()} stops both
 * and removes their directories.
 */
public final class PostgresPair implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final PostgresServer primary;
  private final PostgresServer standby;

  private PostgresPair(PostgresServer primary, PostgresServer standby) {
    this.primary = primary;
    this.standby = standby;
  }

  public static PostgresPair start() {
    return start("primary", "standby");
  }

  public static PostgresPair start(String primaryName, String standbyName) {
    PostgresServer primary = PostgresServer.startPrimary(primaryName);
    try {
      PostgresServer standby = PostgresServer.startStandbyOf(primary, standbyName);
      PostgresPair pair = new PostgresPair(primary, standby);
      pair.awaitStreaming();
      return pair;
    } catch (RuntimeException e) {
      primary.close();
      throw e;
    }
  }

  /** The server that was the primary at start (it may since have been fenced or stopped). */
  public PostgresServer primary() {
    return primary;
  }

  /** The server that was the standby at start (it may since have been promoted). */
  public PostgresServer standby() {
    return standby;
  }

  /** Waits (bounded poll) until the primary reports a streaming WAL sender. */
  public void awaitStreaming() {
    await("standby " + standby.endpoint() + " streaming from " + primary.endpoint())
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(
            () ->
                primary.queryLong(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                    > 0);
  }

  /** Waits (bounded poll) until the standby has replayed everything the primary has written. */
  public void awaitReplayCaughtUp() {
    String target = primary.queryString("SELECT pg_current_wal_lsn()");
    await("standby " + standby.endpoint() + " replayed up to " + target)
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .ignoreExceptions()
        .until(
            () ->
                standby.queryLong(
                        "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '"
                            + target
                            + "')::bigint")
                    >= 0);
  }

  @Override
  public void close() {
    try {
      standby.close();
    } finally {
      primary.close();
    }
  }
}
