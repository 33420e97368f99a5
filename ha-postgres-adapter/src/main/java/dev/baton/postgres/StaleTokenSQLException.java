package dev.baton.postgres;

import dev.baton.core.StaleTokenException;
import java.sql.SQLException;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A fenced transaction was refused because its token is lower than the one the fence row holds: a
 * newer active has taken over, and nothing this transaction wrote is committed.
 *
 * <p>It is a {@link SQLException} (SQLSTATE {@value FenceSchema#SQLSTATE_STALE_TOKEN}) because it
 * is thrown from JDBC methods, where pools, transaction managers and exception translators expect
 * one: HikariCP inspects it, Spring translates it (to a non-transient exception, so nothing retries
 * the same stale token). Its {@linkplain #getCause() cause} is the core's {@link
 * StaleTokenException}, carrying the resource and both tokens, for code that looks for Baton's own
 * type; {@link #find(Throwable)} digs either out of a wrapped chain.
 */
public class StaleTokenSQLException extends SQLException {
  private static final long serialVersionUID = 1L;

  public StaleTokenSQLException(StaleTokenException cause) {
    super(cause.getMessage(), FenceSchema.SQLSTATE_STALE_TOKEN, cause);
  }

  /** The core exception: resource and both tokens. */
  public StaleTokenException staleToken() {
    // The only constructor sets it.
    return (StaleTokenException) Objects.requireNonNull(getCause(), "cause");
  }

  public String resource() {
    return staleToken().resource();
  }

  public long offeredToken() {
    return staleToken().offeredToken();
  }

  public long fencedToken() {
    return staleToken().fencedToken();
  }

  /** The first {@link StaleTokenException} in {@code t}'s cause chain, or null. */
  public static @Nullable StaleTokenException find(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof StaleTokenException s) {
        return s;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return null;
  }
}
