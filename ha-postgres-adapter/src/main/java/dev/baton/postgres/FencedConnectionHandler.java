package dev.baton.postgres;

import dev.baton.core.StaleTokenException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The behaviour behind a {@link FencedConnection}: runs the fence check as the first statement of
 * every transaction and keeps a transaction whose check failed from being reported as committed.
 *
 * <p>Whether a new transaction is starting is read from the driver's own transaction state (idle,
 * open, failed) rather than tracked here, so a transaction ended by SQL text ({@code COMMIT} in a
 * statement) is noticed too: the next statement starts a new transaction and checks again.
 */
final class FencedConnectionHandler implements InvocationHandler {

  private static final Set<String> EXECUTE_METHODS =
      Set.of(
          "execute",
          "executeQuery",
          "executeUpdate",
          "executeLargeUpdate",
          "executeBatch",
          "executeLargeBatch");

  private final Connection raw;
  private final BaseConnection pg;
  private final String resource;
  private final FenceSchema schema;
  private final FencingTokenSource tokenSource;
  private final String checkSql;
  private @Nullable FencedConnection proxy;

  /**
   * The check's statement, kept across transactions: preparing it anew for each one cost about as
   * much as the server's work on the check (issue 40, {@code scripts/bench fence-parts}). Made
   * again when it was closed (a pool closes a connection's statements when it is returned).
   */
  private @Nullable PreparedStatement check;

  /** The current transaction has passed the check (its first statement was the check). */
  private boolean checked;

  /** The check ran after other statements of the transaction, so commit checks once more. */
  private boolean checkedLate;

  /** The current transaction was guarded by SET TRANSACTION READ ONLY instead of the check. */
  private boolean readOnlyGuard;

  /** The token the current transaction's check passed with. */
  private long lastToken;

  /** The current transaction's check failed: the server aborted it; commit must not pretend. */
  private @Nullable SQLException failure;

  FencedConnectionHandler(
      Connection raw,
      BaseConnection pg,
      String resource,
      FenceSchema schema,
      FencingTokenSource tokenSource) {
    this.raw = raw;
    this.pg = pg;
    this.resource = resource;
    this.schema = schema;
    this.tokenSource = tokenSource;
    this.checkSql = "SELECT " + schema.checkFunction() + "(?, ?)";
  }

  void setProxy(FencedConnection proxy) {
    this.proxy = proxy;
  }

  @Override
  public @Nullable Object invoke(Object p, Method method, Object[] args) throws Throwable {
    String name = method.getName();
    if (method.getDeclaringClass() == Object.class) {
      switch (name) {
        case "equals":
          return p == args[0];
        case "hashCode":
          return System.identityHashCode(p);
        case "toString":
          return "FencedConnection[resource=" + resource + ", " + raw + "]";
        default:
          return call(raw, method, args);
      }
    }
    switch (name) {
      case "resource":
        return resource;
      case "checkFence":
        return checkFence();
      case "unwrap":
        {
          Class<?> iface = (Class<?>) args[0];
          return iface.isInstance(p) ? p : raw.unwrap(iface);
        }
      case "isWrapperFor":
        {
          Class<?> iface = (Class<?>) args[0];
          return iface.isInstance(p) || raw.isWrapperFor(iface);
        }
      case "createStatement":
        return wrapStatement(Statement.class, call(raw, method, args));
      case "prepareStatement":
        return wrapStatement(PreparedStatement.class, call(raw, method, args));
      case "prepareCall":
        return wrapStatement(CallableStatement.class, call(raw, method, args));
      case "commit":
        commit();
        return null;
      case "rollback":
        if (args == null || args.length == 0) {
          rollback();
          return null;
        }
        return call(raw, method, args);
      case "setAutoCommit":
        setAutoCommit((Boolean) args[0]);
        return null;
      case "setSavepoint":
        // A row lock taken after a savepoint is released when the savepoint is rolled back, so
        // the check must run before the transaction's first savepoint, at the top level.
        beforeStatement();
        return call(raw, method, args);
      case "close":
        clearTransaction();
        raw.close();
        return null;
      default:
        return call(raw, method, args);
    }
  }

  private Object wrapStatement(Class<?> iface, Object statement) {
    Statement target = (Statement) statement;
    return Proxy.newProxyInstance(
        FencedConnectionHandler.class.getClassLoader(),
        new Class<?>[] {iface},
        (p, method, args) -> {
          String name = method.getName();
          if (method.getDeclaringClass() == Object.class) {
            switch (name) {
              case "equals":
                return p == args[0];
              case "hashCode":
                return System.identityHashCode(p);
              case "toString":
                return "Fenced" + iface.getSimpleName() + "[" + target + "]";
              default:
                return call(target, method, args);
            }
          }
          if (name.equals("getConnection")) {
            return proxy;
          }
          if (EXECUTE_METHODS.contains(name)) {
            return execute(target, method, args);
          }
          return call(target, method, args);
        });
  }

  private Object execute(Statement target, Method method, Object[] args) throws Throwable {
    if (!raw.getAutoCommit()) {
      beforeStatement();
      return call(target, method, args);
    }
    // Auto-commit: the statement would be a transaction of its own that the check could not
    // join, so run check + statement + commit as one explicit transaction instead.
    int fetchSize = target.getFetchSize();
    raw.setAutoCommit(false);
    Throwable failed = null;
    try {
      guardNewTransaction();
      if (fetchSize > 0) {
        target.setFetchSize(0); // a cursor would not survive the commit below
      }
      Object result = call(target, method, args);
      rawCommit();
      return result;
    } catch (Throwable t) {
      failed = t;
      try {
        raw.rollback();
      } catch (SQLException e) {
        t.addSuppressed(e);
      }
      throw t;
    } finally {
      clearTransaction();
      // Restoring the connection must not hide why the statement failed (a terminated session
      // fails here too).
      try {
        if (fetchSize > 0 && !target.isClosed()) {
          target.setFetchSize(fetchSize);
        }
        raw.setAutoCommit(true);
      } catch (SQLException e) {
        if (failed == null) {
          throw e;
        }
        failed.addSuppressed(e);
      }
    }
  }

  /** Explicit-transaction mode: makes sure the current transaction has passed the check. */
  private void beforeStatement() throws SQLException {
    if (raw.getAutoCommit()) {
      return; // setSavepoint in auto-commit mode fails in the driver; nothing to guard
    }
    TransactionState state = pg.getTransactionState();
    if (state == TransactionState.IDLE) {
      clearTransaction(); // the statement about to run starts a new transaction
    }
    if (failure != null) {
      throw failure;
    }
    if (checked || state == TransactionState.FAILED) {
      return; // a failed transaction cannot commit; the statement will say so itself
    }
    if (state == TransactionState.IDLE) {
      guardNewTransaction();
    } else {
      // The transaction was begun outside the fence (an unwrapped handle): check now, and again
      // just before commit in case this check sits inside a savepoint that gets rolled back.
      runCheck();
      checkedLate = true;
    }
  }

  private void guardNewTransaction() throws SQLException {
    if (raw.isReadOnly()) {
      try (Statement s = raw.createStatement()) {
        s.execute("SET TRANSACTION READ ONLY");
      }
      checked = true;
      readOnlyGuard = true;
    } else {
      runCheck();
    }
  }

  private long checkFence() throws SQLException {
    if (raw.getAutoCommit()) {
      throw new SQLException(
          "checkFence() needs a transaction: connection for resource '"
              + resource
              + "' is in auto-commit mode (call setAutoCommit(false) first)",
          "BT006");
    }
    if (pg.getTransactionState() == TransactionState.IDLE) {
      clearTransaction();
    }
    if (failure != null) {
      throw failure;
    }
    if (readOnlyGuard) {
      throw new SQLException(
          "checkFence() in a read-only transaction (resource '"
              + resource
              + "'): it cannot write, so it holds no fence lock",
          "BT006");
    }
    if (!checked) {
      boolean late = pg.getTransactionState() != TransactionState.IDLE;
      runCheck();
      checkedLate = late;
    }
    return lastToken;
  }

  private void runCheck() throws SQLException {
    long token;
    try {
      token = tokenSource.currentToken();
    } catch (Exception e) {
      throw new SQLException(
          "no fencing token for resource '" + resource + "': " + e.getMessage(),
          FenceSchema.SQLSTATE_NO_TOKEN,
          e);
    }
    try {
      PreparedStatement ps = check;
      if (ps == null || ps.isClosed()) {
        ps = raw.prepareStatement(checkSql);
        check = ps;
      }
      ps.setString(1, resource);
      ps.setLong(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
      }
    } catch (SQLException e) {
      SQLException translated = translate(e, token);
      if (!raw.getAutoCommit()) {
        failure = translated;
      }
      throw translated;
    }
    checked = true;
    readOnlyGuard = false;
    lastToken = token;
  }

  private SQLException translate(SQLException e, long offered) {
    if (FenceSchema.SQLSTATE_STALE_TOKEN.equals(e.getSQLState())) {
      long fenced = fencedTokenOf(e);
      StaleTokenSQLException stale =
          new StaleTokenSQLException(new StaleTokenException(resource, offered, fenced));
      stale.setNextException(e);
      return stale;
    }
    if (FenceLeaseEndedSQLException.isLeaseEnded(e)) {
      return new FenceLeaseEndedSQLException(resource, offered, e);
    }
    return e;
  }

  /** The commit itself, a refusal because the fence lease ended ({@code BT008}) made typed. */
  private void rawCommit() throws SQLException {
    try {
      raw.commit();
    } catch (SQLException e) {
      if (FenceLeaseEndedSQLException.isLeaseEnded(e)) {
        throw new FenceLeaseEndedSQLException(resource, lastToken, e);
      }
      throw e;
    }
  }

  private static long fencedTokenOf(SQLException e) {
    if (e instanceof PSQLException pe) {
      ServerErrorMessage m = pe.getServerErrorMessage();
      if (m != null && m.getDetail() != null && m.getDetail().startsWith("fenced_token=")) {
        try {
          return Long.parseLong(m.getDetail().substring("fenced_token=".length()).trim());
        } catch (NumberFormatException ignored) {
          // fall through
        }
      }
    }
    return -1;
  }

  private void commit() throws SQLException {
    if (raw.getAutoCommit()) {
      raw.commit(); // the driver reports the misuse
      return;
    }
    if (failure != null) {
      SQLException f = failure;
      rollback();
      throw f;
    }
    if (checkedLate) {
      try {
        runCheck();
      } catch (SQLException e) {
        rollback();
        throw e;
      }
    }
    rawCommit();
    clearTransaction();
  }

  private void rollback() throws SQLException {
    clearTransaction();
    raw.rollback();
  }

  private void setAutoCommit(boolean autoCommit) throws SQLException {
    if (autoCommit == raw.getAutoCommit()) {
      raw.setAutoCommit(autoCommit); // a no-op by contract; the open transaction goes on
      return;
    }
    if (autoCommit && !raw.getAutoCommit() && failure != null) {
      // Switching auto-commit on commits the open transaction; one whose check failed was
      // aborted by the server, so say so instead of letting it look committed.
      SQLException f = failure;
      rollback();
      raw.setAutoCommit(true);
      throw f;
    }
    if (autoCommit && !raw.getAutoCommit() && checkedLate) {
      commit();
    }
    raw.setAutoCommit(autoCommit);
    clearTransaction();
  }

  private void clearTransaction() {
    checked = false;
    readOnlyGuard = false;
    checkedLate = false;
    failure = null;
  }

  private static Object call(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
