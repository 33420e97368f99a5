package dev.baton.postgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs on the active node: every interval, reads the writer's {@code pg_current_wal_lsn()} and
 * records it with {@link WriterEndpoint#publishPosition}, so that a failover which cannot reach the
 * old writer still has a last known position to hold the standby's lag against ({@code
 * PostgresPromotionAction.Builder.lastKnownPrimaryPosition(endpoint::lastKnownPosition)}). The
 * bound is then "the lag at the last report plus what was written in one interval": choose the
 * interval with the write rate and {@code maximumLagBytes} in mind (Patroni reports every loop, 10
 * s by default).
 *
 * <p>It reports only while the token source yields a token (this node is active); a report from an
 * activation that has been superseded is refused by the store's token check.
 */
public final class WalPositionReporter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WalPositionReporter.class);

  private final WriterEndpoint endpoint;
  private final DataSource writer;
  private final FencingTokenSource tokenSource;
  private final ScheduledExecutorService executor;

  private WalPositionReporter(
      WriterEndpoint endpoint, DataSource writer, FencingTokenSource tokenSource) {
    this.endpoint = endpoint;
    this.writer = writer;
    this.tokenSource = tokenSource;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-wal-position-" + endpoint.name());
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts reporting every {@code interval}.
   *
   * @param writer the writer (for example a {@link HikariWriterPool}, which follows it)
   * @param tokenSource this node's current token; throwing means "not active, skip"
   */
  public static WalPositionReporter start(
      WriterEndpoint endpoint,
      DataSource writer,
      FencingTokenSource tokenSource,
      Duration interval) {
    WalPositionReporter r =
        new WalPositionReporter(
            Objects.requireNonNull(endpoint),
            Objects.requireNonNull(writer),
            Objects.requireNonNull(tokenSource));
    r.executor.scheduleWithFixedDelay(
        r::reportOnce, 0, Math.max(1, interval.toMillis()), TimeUnit.MILLISECONDS);
    return r;
  }

  /** Reports once, now; returns whether the record changed. */
  public boolean reportOnce() {
    long token;
    try {
      token = tokenSource.currentToken();
    } catch (Exception notActive) {
      return false;
    }
    try (Connection c = writer.getConnection()) {
      long lsn = ServerProbes.currentWalLsn(c);
      return endpoint.publishPosition(lsn, token);
    } catch (SQLException | RuntimeException e) {
      LOG.debug("WAL position report for {} failed: {}", endpoint.name(), e.getMessage());
      return false;
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
