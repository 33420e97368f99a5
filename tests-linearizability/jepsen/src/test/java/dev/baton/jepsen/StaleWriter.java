package dev.baton.jepsen;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The region-cut nemesis's writer that keeps running on the old primary: an application in the cut
 * region that still holds the old active's token. The node app's own writer is paused with its JVM,
 * so this one runs on the harness (the host is not inside the cut) and speaks the public SQL fence
 * protocol (docs/fence-protocol.md) directly to the old primary: {@code BEGIN; SELECT
 * baton.check_fence('jepsen', token); INSERT ...; COMMIT}, every 20 ms.
 *
 * <p>Each attempt first reads the database's clock ({@code clock_timestamp()}, the clock {@code
 * valid_until} is written in), so the check can count the attempts made after the old lease's end.
 * Its session commits with {@code synchronous_commit = local}: the cut standby would otherwise hold
 * every commit in the wait for synchronous replication, and the fence must refuse the commit
 * itself, not rely on the standby being gone. The rows go to {@code jepsen.region_cut_writes},
 * which only the old primary ever holds (it is rebuilt from the new primary afterwards).
 */
final class StaleWriter implements Runnable {
  static final String RESOURCE = "jepsen";

  /** One attempt: when it began by the database's clock, and how it ended. */
  record Attempt(Instant began, String outcome) {}

  private final Cluster.Pg pg;
  private final long token;
  private final List<Attempt> attempts = new ArrayList<>();
  private volatile boolean running = true;
  private Thread thread;

  StaleWriter(Cluster.Pg pg, long token) {
    this.pg = pg;
    this.token = token;
  }

  void start() {
    thread = new Thread(this, "nemesis-stale-writer");
    thread.setDaemon(true);
    thread.start();
  }

  /** Stops the writer and returns its attempts. */
  List<Attempt> stop() {
    running = false;
    if (thread != null) {
      try {
        thread.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (attempts) {
      return List.copyOf(attempts);
    }
  }

  @Override
  public void run() {
    Connection c = null;
    long seq = 0;
    while (running) {
      Instant began = null;
      String outcome;
      try {
        if (c == null) {
          c = Cluster.connect(pg);
          try (Statement s = c.createStatement()) {
            s.execute("SET synchronous_commit = local");
          }
          c.setAutoCommit(false);
        }
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
          rs.next();
          began = rs.getObject(1, OffsetDateTime.class).toInstant();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT baton.check_fence(?, ?)")) {
          ps.setString(1, RESOURCE);
          ps.setLong(2, token);
          ps.executeQuery().close();
        }
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO jepsen.region_cut_writes (token, value) VALUES (?, ?)")) {
          ps.setLong(1, token);
          ps.setString(2, "stale-" + token + "-" + (++seq));
          ps.executeUpdate();
        }
        c.commit();
        outcome = "committed";
      } catch (SQLException e) {
        outcome = e.getSQLState() == null ? "error" : e.getSQLState();
        try {
          c.rollback();
        } catch (SQLException | RuntimeException again) {
          closeQuietly(c);
          c = null;
        }
      }
      if (began != null) {
        synchronized (attempts) {
          attempts.add(new Attempt(began, outcome));
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    closeQuietly(c);
  }

  /** How many attempts ended in each outcome ({@code committed}, a SQLSTATE, {@code error}). */
  static Map<String, Integer> outcomes(List<Attempt> attempts) {
    Map<String, Integer> out = new TreeMap<>();
    for (Attempt a : attempts) {
      out.merge(a.outcome(), 1, Integer::sum);
    }
    return out;
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException ignored) {
      // a broken connection
    }
  }
}
