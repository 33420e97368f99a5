package dev.baton.postgres;

import dev.baton.core.ActiveContext;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs beside the role on a node whose promotion bounds its fences in time ({@link
 * PostgresFence.Builder#timeBound}): every interval, while this node is active, renews the lease of
 * each fence on its own PostgreSQL server ({@link PostgresFence#renewLease}) from what is left of
 * its Raft lease ({@link ActiveContext#leaseRemaining()}). When the node is not active (it lost the
 * lease, was cut off, demoted) it renews nothing, so the fence's {@code valid_until} passes no
 * later than the node's lease would have ended and the database refuses every fenced transaction
 * and commit from then on. A paused node renews nothing either, by construction.
 *
 * <p>It keeps one connection open, with {@code synchronous_commit = off}: a renewal that a crash
 * loses leaves an earlier {@code valid_until}, which is only stricter, and a renewal never waits
 * for a synchronous standby that may be cut off.
 */
public final class FenceLeaseRenewer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FenceLeaseRenewer.class);

  private final DataSource dataSource;
  private final List<PostgresFence> fences;
  private final Supplier<Optional<ActiveContext>> active;
  private final ScheduledExecutorService executor;
  private @Nullable Connection connection;
  private String lastState = "not started";
  private volatile @Nullable Instant lastValidUntil;

  private FenceLeaseRenewer(
      DataSource dataSource, List<PostgresFence> fences, Supplier<Optional<ActiveContext>> active) {
    this.dataSource = dataSource;
    this.fences = fences;
    this.active = active;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-fence-lease");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts renewing every {@code interval}; choose it well under the lease (Baton's default lease
   * is 692 ms; the default here, 100 ms, leaves room for a few missed renewals).
   *
   * @param dataSource this node's own server (the primary while this node is active)
   * @param fences the fences to renew, built with {@link PostgresFence.Builder#timeBound}
   * @param active this node's activation, empty when it is not active ({@code node::activeContext})
   */
  public static FenceLeaseRenewer start(
      DataSource dataSource,
      List<PostgresFence> fences,
      Supplier<Optional<ActiveContext>> active,
      Duration interval) {
    FenceLeaseRenewer r =
        new FenceLeaseRenewer(
            Objects.requireNonNull(dataSource, "dataSource"),
            List.copyOf(fences),
            Objects.requireNonNull(active, "active"));
    r.executor.scheduleWithFixedDelay(
        r::renewQuietly, 0, Math.max(1, interval.toMillis()), TimeUnit.MILLISECONDS);
    return r;
  }

  /** The {@code valid_until} the last successful renewal set (of the last fence), if any. */
  public Optional<Instant> lastValidUntil() {
    return Optional.ofNullable(lastValidUntil);
  }

  private void renewQuietly() {
    try {
      renewOnce();
    } catch (RuntimeException e) {
      state("renewal failed: " + e);
    }
  }

  /**
   * Renews every fence once if this node is active now; returns whether all were renewed. Runs on
   * the renewer's thread.
   */
  boolean renewOnce() {
    Optional<ActiveContext> ctx = active.get();
    if (ctx.isEmpty()) {
      state("not active: not renewing");
      return false;
    }
    long token = ctx.get().token();
    try {
      Connection c = connection();
      for (PostgresFence fence : fences) {
        long measured = System.nanoTime(); // before the lease is read: conservative
        Duration remaining = ctx.get().leaseRemaining();
        if (remaining.isZero() || remaining.isNegative()) {
          state("lease of token " + token + " ended: not renewing");
          return false;
        }
        Optional<Instant> until = fence.renewLease(c, token, remaining, measured);
        if (until.isEmpty()) {
          state(
              "token "
                  + token
                  + " no longer holds the fence of '"
                  + fence.resource()
                  + "', or its advance did not bound it: nothing renewed");
          return false;
        }
        lastValidUntil = until.get();
      }
      state("renewing for token " + token);
      return true;
    } catch (SQLException e) {
      closeConnection();
      state("renewal for token " + token + " failed: " + e.getMessage());
      return false;
    }
  }

  private Connection connection() throws SQLException {
    if (connection == null) {
      Connection c = dataSource.getConnection();
      try (Statement s = c.createStatement()) {
        s.execute("SET synchronous_commit = off");
      } catch (SQLException e) {
        c.close();
        throw e;
      }
      connection = c;
    }
    return connection;
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // a broken connection; the next renewal opens another
      }
      connection = null;
    }
  }

  /** Logs a change of state once, not every interval. */
  private void state(String now) {
    if (!now.equals(lastState)) {
      if (now.contains("failed") || now.contains("no longer")) {
        LOG.warn("fence lease: {}", now);
      } else {
        LOG.info("fence lease: {}", now);
      }
      lastState = now;
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeConnection();
  }
}
