package dev.baton.postgres;

import java.io.PrintWriter;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Objects;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.postgresql.core.BaseConnection;

/**
 * A {@link DataSource} that fences every transaction: before a transaction's first statement runs,
 * it calls {@code baton.check_fence(resource, token)} in that same transaction. The call takes a
 * {@code FOR SHARE} lock on the resource's fence row and aborts the transaction server-side unless
 * the token equals the row's token. The lock is held until the transaction ends, and advancing the
 * fence ({@link PostgresFence}) needs the row's exclusive lock, so:
 *
 * <ul>
 *   <li>a transaction that checked token {@code t} either commits before the fence moves past
 *       {@code t}, or does not commit at all;
 *   <li>a transaction that starts after the advance fails at its first statement with a {@link
 *       StaleTokenSQLException} naming both tokens, and commits nothing (the server has already
 *       aborted it; {@code commit()} rolls back and throws again).
 * </ul>
 *
 * <p>It wraps any DataSource that hands out PostgreSQL JDBC connections: a plain {@code
 * PGSimpleDataSource}, a HikariCP pool, {@link HikariWriterPool}. The pool keeps pooling raw
 * connections; each {@code getConnection()} here wraps the borrowed one.
 *
 * <pre>{@code
 * FencedDataSource fenced = FencedDataSource.builder(hikari).resource("orders").build();
 * try (Connection c = fenced.connection(token)) {       // or fenced.withToken(token)
 *   c.setAutoCommit(false);
 *   ... statements ...                                  // the first one checks the fence
 *   c.commit();
 * }
 * DataSource forTheApp = fenced.withTokenSource(() -> node.activeContext().orElseThrow().token());
 * }</pre>
 *
 * <p><b>Auto-commit.</b> In auto-commit mode every statement is its own transaction, so a check in
 * a separate statement would protect nothing. A fenced auto-commit statement therefore runs as a
 * short explicit transaction: check, the statement, commit (auto-commit is restored afterwards).
 * This costs one extra round trip per statement, the same as in an explicit transaction, and keeps
 * the usual meaning: the statement commits on its own, or fails and commits nothing. The fetch size
 * is ignored for such statements (results are read whole before the commit), as pgjdbc does in
 * auto-commit mode anyway.
 *
 * <p><b>Read-only connections</b> ({@code setReadOnly(true)}) skip the fence: each of their
 * transactions begins with {@code SET TRANSACTION READ ONLY}, which the server enforces, so they
 * cannot write and need no lock (a long report does not hold up a failover).
 *
 * <p><b>What the fence cannot see.</b> Work done through handles unwrapped to the driver ({@code
 * unwrap(PGConnection.class)}, the COPY and large-object APIs, {@code Statement.unwrap}) runs on
 * the same transaction but does not trigger the check; call {@link FencedConnection#checkFence()}
 * first, in a transaction. {@link FenceSchema#guardTable} makes the database itself refuse
 * unchecked writes to a table. Connections, like all JDBC connections, are for one thread at a
 * time.
 */
public final class FencedDataSource implements DataSource {

  private final DataSource delegate;
  private final String resource;
  private final FenceSchema schema;
  private final @Nullable FencingTokenSource tokenSource; // null: bound later, per connection

  private FencedDataSource(
      DataSource delegate,
      String resource,
      FenceSchema schema,
      @Nullable FencingTokenSource tokenSource) {
    this.delegate = delegate;
    this.resource = resource;
    this.schema = schema;
    this.tokenSource = tokenSource;
  }

  public static Builder builder(DataSource delegate) {
    return new Builder(delegate);
  }

  /** Builds a {@link FencedDataSource}. */
  public static final class Builder {
    private final DataSource delegate;
    private @Nullable String resource;
    private FenceSchema schema = FenceSchema.defaultSchema();
    private @Nullable FencingTokenSource tokenSource;

    private Builder(DataSource delegate) {
      this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** The fenced resource: the key of its row in the fence table. Required. */
    public Builder resource(String resource) {
      Objects.requireNonNull(resource, "resource");
      if (resource.isEmpty()) {
        throw new IllegalArgumentException("resource must not be empty");
      }
      this.resource = resource;
      return this;
    }

    /** The schema the fence table lives in (default {@code baton}). */
    public Builder schema(FenceSchema schema) {
      this.schema = Objects.requireNonNull(schema, "schema");
      return this;
    }

    /**
     * Where {@link #getConnection()} takes each transaction's token. Optional: without it, use
     * {@link #withToken} or {@link #connection(long)}.
     */
    public Builder tokenSource(FencingTokenSource tokenSource) {
      this.tokenSource = Objects.requireNonNull(tokenSource, "tokenSource");
      return this;
    }

    public FencedDataSource build() {
      if (resource == null) {
        throw new IllegalStateException("FencedDataSource needs a resource name");
      }
      return new FencedDataSource(delegate, resource, schema, tokenSource);
    }
  }

  /** The fenced resource. */
  public String resource() {
    return resource;
  }

  /** The wrapped DataSource. */
  public DataSource delegate() {
    return delegate;
  }

  /** A view of this data source whose transactions all carry {@code token}. */
  public FencedDataSource withToken(long token) {
    return withTokenSource(FencingTokenSource.fixed(token));
  }

  /** A view of this data source that asks {@code source} for each transaction's token. */
  public FencedDataSource withTokenSource(FencingTokenSource source) {
    return new FencedDataSource(
        delegate, resource, schema, Objects.requireNonNull(source, "tokenSource"));
  }

  /** A connection whose transactions carry {@code token}. */
  public FencedConnection connection(long token) throws SQLException {
    return wrap(delegate.getConnection(), FencingTokenSource.fixed(token));
  }

  /**
   * A connection whose transactions carry the token of this data source's token source.
   *
   * @throws SQLException if no token source is bound (use {@link #withToken} or {@link
   *     #connection(long)})
   */
  @Override
  public FencedConnection getConnection() throws SQLException {
    return wrap(delegate.getConnection(), requireTokenSource());
  }

  @Override
  public FencedConnection getConnection(String username, String password) throws SQLException {
    return wrap(delegate.getConnection(username, password), requireTokenSource());
  }

  private FencingTokenSource requireTokenSource() throws SQLException {
    if (tokenSource == null) {
      throw new SQLException(
          "no fencing token bound for resource '"
              + resource
              + "': use withToken(token), withTokenSource(source) or connection(token)",
          FenceSchema.SQLSTATE_NO_TOKEN);
    }
    return tokenSource;
  }

  private FencedConnection wrap(Connection raw, FencingTokenSource source) throws SQLException {
    BaseConnection pg;
    try {
      pg = raw.unwrap(BaseConnection.class);
    } catch (SQLException | RuntimeException e) {
      raw.close();
      throw new SQLException(
          "FencedDataSource needs PostgreSQL JDBC (pgjdbc) connections; "
              + raw.getClass().getName()
              + " does not unwrap to one",
          e);
    }
    FencedConnectionHandler handler =
        new FencedConnectionHandler(raw, pg, resource, schema, source);
    FencedConnection proxy =
        (FencedConnection)
            Proxy.newProxyInstance(
                FencedDataSource.class.getClassLoader(),
                new Class<?>[] {FencedConnection.class},
                handler);
    handler.setProxy(proxy);
    return proxy;
  }

  @Override
  public PrintWriter getLogWriter() throws SQLException {
    return delegate.getLogWriter();
  }

  @Override
  public void setLogWriter(PrintWriter out) throws SQLException {
    delegate.setLogWriter(out);
  }

  @Override
  public void setLoginTimeout(int seconds) throws SQLException {
    delegate.setLoginTimeout(seconds);
  }

  @Override
  public int getLoginTimeout() throws SQLException {
    return delegate.getLoginTimeout();
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    return delegate.getParentLogger();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    if (iface.isInstance(this)) {
      return iface.cast(this);
    }
    return delegate.unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || delegate.isWrapperFor(iface);
  }

  @Override
  public String toString() {
    return "FencedDataSource[resource=" + resource + ", schema=" + schema.schema() + "]";
  }
}
