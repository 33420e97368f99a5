package dev.baton.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.baton.core.KeyValueStore;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * A HikariCP pool that follows the writer published by a {@link WriterEndpoint}: when the writer's
 * URL changes it opens a new pool on the new writer, switches {@link #getConnection()} to it and
 * drains the old pool in the background: idle connections are closed at once, borrowed ones when
 * they are returned, and whatever is still borrowed after the drain timeout (default 10 s) is
 * aborted when the old pool closes. No restart, and no connection to the old writer is handed out
 * after the switch.
 *
 * <p>Borrowed connections to the old writer are not forcibly moved: their transactions fail on the
 * fenced old primary, and the next borrow goes to the new pool. Wrap this pool in a {@link
 * FencedDataSource} to fence the writes themselves.
 *
 * <pre>{@code
 * HikariConfig template = new HikariConfig();
 * template.setUsername("app");
 * template.setPassword(secret);
 * template.setMaximumPoolSize(10);
 * HikariWriterPool pool = new HikariWriterPool(new WriterEndpoint(kv, "orders-db"), template);
 * DataSource app = FencedDataSource.builder(pool).resource("orders").build()
 *     .withTokenSource(() -> node.activeContext().orElseThrow().token());
 * }</pre>
 *
 * <p>The template is copied for each pool with its {@code jdbcUrl} set to the writer's; it must not
 * name a {@code dataSource} or {@code dataSourceClassName}. Each pool is created with {@code
 * initializationFailTimeout = -1}, so a writer that is briefly unreachable does not stop the
 * switch.
 */
public final class HikariWriterPool implements DataSource, AutoCloseable {
  private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(HikariWriterPool.class);

  private final WriterEndpoint endpoint;
  private final Duration drainTimeout;
  private final HikariConfig template;
  private final ExecutorService events;
  private final KeyValueStore.Watch watch;
  private final Object lock = new Object();
  private volatile @Nullable HikariDataSource current;
  private volatile WriterEndpoint.@Nullable Writer currentWriter;
  private volatile boolean closed;

  public HikariWriterPool(WriterEndpoint endpoint, HikariConfig template) {
    this(endpoint, template, Duration.ofSeconds(10));
  }

  /**
   * @param drainTimeout how long connections borrowed from a previous writer's pool may stay
   *     borrowed before that pool is closed and aborts them
   */
  public HikariWriterPool(WriterEndpoint endpoint, HikariConfig template, Duration drainTimeout) {
    this.drainTimeout = Objects.requireNonNull(drainTimeout, "drainTimeout");
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.template = new HikariConfig();
    Objects.requireNonNull(template, "template").copyStateTo(this.template);
    if (this.template.getDataSource() != null || this.template.getDataSourceClassName() != null) {
      throw new IllegalArgumentException(
          "the HikariWriterPool template must use jdbcUrl, not a dataSource or dataSourceClassName");
    }
    this.events =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "baton-writer-pool-" + endpoint.name());
              t.setDaemon(true);
              return t;
            });
    this.watch = endpoint.subscribe(events, this::onWriter);
  }

  /** The writer the pool currently sends connections to, if one has been published. */
  public WriterEndpoint.@Nullable Writer currentWriter() {
    return currentWriter;
  }

  /** The current writer's JDBC URL, or null before one is published. */
  public @Nullable String currentJdbcUrl() {
    WriterEndpoint.Writer w = currentWriter;
    return w == null ? null : w.jdbcUrl();
  }

  private void onWriter(WriterEndpoint.Writer writer) {
    HikariDataSource old;
    synchronized (lock) {
      if (closed) {
        return;
      }
      WriterEndpoint.Writer was = currentWriter;
      if (was != null && was.jdbcUrl().equals(writer.jdbcUrl())) {
        currentWriter = writer;
        return; // same server, newer token: the pool is still right
      }
      HikariConfig config = new HikariConfig();
      template.copyStateTo(config);
      config.setJdbcUrl(writer.jdbcUrl());
      config.setInitializationFailTimeout(-1);
      String base = template.getPoolName() != null ? template.getPoolName() : "baton-writer";
      config.setPoolName(base + "-" + endpoint.name() + "-t" + writer.token());
      old = current;
      current = new HikariDataSource(config);
      currentWriter = writer;
      lock.notifyAll();
    }
    LOG.info(
        "writer pool {}: now {} (token {}){}",
        endpoint.name(),
        writer.jdbcUrl(),
        writer.token(),
        old == null ? "" : ", closing the pool on the previous writer");
    if (old != null) {
      Thread closer = new Thread(() -> drainAndClose(old), "baton-writer-pool-drain");
      closer.setDaemon(true);
      closer.start();
    }
  }

  /**
   * Hikari's close aborts borrowed connections at once; let their transactions end first (on a
   * fenced old writer they fail anyway, but on their own terms), bounded by the drain timeout.
   */
  private void drainAndClose(HikariDataSource old) {
    try {
      old.getHikariPoolMXBean().softEvictConnections();
      long deadline = System.nanoTime() + drainTimeout.toNanos();
      while (old.getHikariPoolMXBean().getActiveConnections() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(50); // bounded poll of the old pool's borrowed count
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.debug("writer pool {}: draining the old pool: {}", endpoint.name(), e.toString());
    } finally {
      old.close();
    }
  }

  /**
   * A connection to the current writer. Waits up to the template's connection timeout for a first
   * writer to be published.
   */
  @Override
  public Connection getConnection() throws SQLException {
    for (int attempt = 0; ; attempt++) {
      HikariDataSource pool = awaitPool();
      try {
        return pool.getConnection();
      } catch (SQLException e) {
        // The pool was swapped and closed under us: take the new one, once.
        if (attempt == 0 && pool.isClosed() && current != pool) {
          continue;
        }
        throw e;
      }
    }
  }

  private HikariDataSource awaitPool() throws SQLException {
    HikariDataSource pool = current;
    if (pool != null) {
      return pool;
    }
    long waitMs = Math.max(1, template.getConnectionTimeout());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
    synchronized (lock) {
      while ((pool = current) == null && !closed) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          break;
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SQLException("interrupted waiting for a writer", e);
        }
      }
    }
    if (closed) {
      throw new SQLException("the writer pool " + endpoint.name() + " is closed");
    }
    if (pool == null) {
      throw new SQLException(
          "no writer published under "
              + endpoint.key()
              + " within "
              + Duration.ofMillis(waitMs)
              + "; is a node active and its promotion done?",
          "08001");
    }
    return pool;
  }

  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    throw new SQLFeatureNotSupportedException(
        "HikariWriterPool uses the template's credentials; call getConnection()");
  }

  @Override
  public void close() {
    HikariDataSource pool;
    synchronized (lock) {
      closed = true;
      pool = current;
      current = null;
      lock.notifyAll();
    }
    watch.close();
    events.shutdown();
    if (pool != null) {
      pool.close();
    }
  }

  @Override
  public @Nullable PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {}

  @Override
  public void setLoginTimeout(int seconds) {}

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    if (iface.isInstance(this)) {
      return iface.cast(this);
    }
    throw new SQLException("not a wrapper for " + iface.getName());
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return iface.isInstance(this);
  }
}
