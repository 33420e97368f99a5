package dev.baton.jepsen.node;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.postgres.FencedDataSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.sql.DataSource;

/**
 * Workload (b): while this node believes it is active, it writes rows {@code (token, node, value)}
 * to PostgreSQL through {@link FencedDataSource}, one transaction each, and records every attempt
 * as a {@code write [token value]} operation of the fenced-register model.
 *
 * <p>Each transaction also increments one counter row and stores the result with the row: the row
 * lock serialises the writers' commits, so that number is the commit order, which is what the I3
 * check needs ("no committed row carries a token lower than one committed before it").
 *
 * <p>Between reading its token and writing, the writer "works" for 0–30 ms, as an application does
 * between checking its role and acting on it; a pause of the process in that window is how a stale
 * write reaches the database, so the pause nemesis exercises the fence itself, not only the lease.
 *
 * <p>In the unsafe self-test mode the writes go through the plain DataSource: no fence, which
 * together with the node ignoring its lease is what a design without Baton's safety would do.
 *
 * <p>Outcomes: committed = {@code ok}; refused by the fence (SQLSTATE BT001) = {@code ok
 * "rejected"} (the fenced-register model checks that the token really was stale); any other error
 * before {@code commit()} = {@code fail} (an uncommitted transaction is rolled back); an error from
 * {@code commit()} itself = {@code info} (it may have committed), after which the writer continues
 * as a new process, as Jepsen's clients do.
 */
final class FencedWriter implements Runnable {
  static final String RESOURCE = "jepsen";
  private static final int THINK_MILLIS = 30;

  private final BatonNode node;
  private final DataSource plain;
  private final FencedDataSource fenced;
  private final boolean unsafe;
  private final EventLog log;
  private final String valuePrefix;
  private final long intervalNanos;
  private final Path holdMarker;
  private final Path holding;
  private volatile boolean running = true;

  FencedWriter(
      BatonNode node,
      DataSource plain,
      boolean unsafe,
      EventLog log,
      String valuePrefix,
      long intervalMillis,
      Path nodeDir) {
    this.node = node;
    this.plain = plain;
    this.fenced = FencedDataSource.builder(plain).resource(RESOURCE).build();
    this.unsafe = unsafe;
    this.log = log;
    this.valuePrefix = valuePrefix;
    this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
    this.holdMarker = nodeDir.resolve("hold-txn");
    this.holding = nodeDir.resolve("holding");
  }

  void stop() {
    running = false;
  }

  private enum Stage {
    CONNECT,
    STATEMENTS,
    COMMIT
  }

  @Override
  public void run() {
    int process = 0;
    long seq = 0;
    Connection conn = null;
    long connToken = 0;
    while (running) {
      Optional<ActiveContext> ctx = node.activeContext();
      if (ctx.isEmpty()) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        continue;
      }
      long token = ctx.get().token();
      // The application's work between its check and its effect: a pause that lands here (a GC,
      // a SIGSTOP) makes the write below stale, which is exactly what the fence must refuse.
      LockSupport.parkNanos(
          TimeUnit.MILLISECONDS.toNanos(ThreadLocalRandom.current().nextInt(THINK_MILLIS + 1)));
      String value = valuePrefix + "-" + (++seq);
      String proc = "w" + process;
      log.write("op", "proc", proc, "type", "invoke", "f", "write", "value", List.of(token, value));
      Stage stage = Stage.CONNECT;
      try {
        if (conn == null || connToken != token) {
          closeQuietly(conn);
          conn = null;
          conn = unsafe ? plain.getConnection() : fenced.connection(token);
          connToken = token;
          conn.setAutoCommit(false);
        }
        stage = Stage.STATEMENTS;
        long commitSeq;
        try (PreparedStatement s =
            conn.prepareStatement("UPDATE jepsen.commit_order SET n = n + 1 RETURNING n")) {
          try (ResultSet rs = s.executeQuery()) {
            rs.next();
            commitSeq = rs.getLong(1);
          }
        }
        try (PreparedStatement s =
            conn.prepareStatement(
                "INSERT INTO jepsen.writes (commit_seq, token, node, value) VALUES (?, ?, ?, ?)")) {
          s.setLong(1, commitSeq);
          s.setLong(2, token);
          s.setString(3, node.id());
          s.setString(4, value);
          s.executeUpdate();
        }
        holdIfAsked(token, value);
        stage = Stage.COMMIT;
        conn.commit();
        log.write(
            "op",
            "proc",
            proc,
            "type",
            "ok",
            "f",
            "write",
            "value",
            List.of(token, value),
            "commit_seq",
            commitSeq);
      } catch (SQLException e) {
        boolean stale = isStale(e);
        if (stale) {
          log.write(
              "op",
              "proc",
              proc,
              "type",
              "ok",
              "f",
              "write",
              "value",
              "rejected",
              "error",
              e.getMessage());
          rollbackQuietly(conn);
        } else if (stage == Stage.COMMIT) {
          log.write("op", "proc", proc, "type", "info", "f", "write", "error", e.toString());
          process++;
          closeQuietly(conn);
          conn = null;
        } else {
          log.write("op", "proc", proc, "type", "fail", "f", "write", "error", e.toString());
          closeQuietly(conn);
          conn = null;
        }
      } catch (RuntimeException e) {
        // Not from the database (should not happen); the outcome is unknown.
        log.write("op", "proc", proc, "type", "info", "f", "write", "error", e.toString());
        process++;
        closeQuietly(conn);
        conn = null;
      }
      LockSupport.parkNanos(intervalNanos);
    }
    closeQuietly(conn);
  }

  /**
   * The paused-transaction nemesis: while the harness's {@code hold-txn} marker exists in the node
   * directory, the writer keeps this transaction open (its share lock on the fence row and its row
   * lock on the commit counter held) and says so in a {@code holding} file; the harness then
   * SIGSTOPs the node, cuts it off from the primary and removes the marker, so the transaction
   * resumes, and tries to commit, only after the fault. Bounded, so a lost marker cannot wedge the
   * writer.
   */
  private void holdIfAsked(long token, String value) {
    if (!Files.exists(holdMarker)) {
      return;
    }
    try {
      Files.writeString(holding, value + " " + token);
    } catch (IOException e) {
      return;
    }
    log.write("hold", "token", token, "value", value);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (running && Files.exists(holdMarker) && System.nanoTime() - until < 0) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    log.write("release", "token", token, "value", value);
  }

  /** The fence refused the token as stale (SQLSTATE BT001), anywhere in the cause chain. */
  static boolean isStale(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && "BT001".equals(s.getSQLState())) {
        return true;
      }
      if (t instanceof dev.baton.core.StaleTokenException) {
        return true;
      }
    }
    return false;
  }

  private static void rollbackQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // The connection is unusable; the next attempt opens a new one.
    }
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException ignored) {
      // Closing a broken connection; nothing to do.
    }
  }
}
