package dev.baton.postgres;

/**
 * Where a {@link FencedDataSource} gets the token of each transaction. It is asked once per
 * transaction, when the transaction's first statement runs, so a data source bound to a node's
 * current activation (for example {@code () -> node.activeContext().orElseThrow().token()}) picks
 * up each new token without being rebuilt. Throwing (for example because the node is not active)
 * fails the statement before anything runs.
 */
@FunctionalInterface
public interface FencingTokenSource {

  /** The fencing token the next transaction carries. */
  long currentToken() throws Exception;

  /** A source that always returns {@code token}. */
  static FencingTokenSource fixed(long token) {
    return () -> token;
  }
}
