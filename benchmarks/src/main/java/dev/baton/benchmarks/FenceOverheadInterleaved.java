package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.postgres.FencedDataSource;
import dev.baton.postgres.PostgresFence;
import dev.baton.postgres.testing.PostgresServer;
import dev.baton.postgres.testing.TestActionContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Map;

/**
 * The fence's cost on a one-row write transaction with {@code fsync} and {@code synchronous_commit}
 * on, where a commit waits for the disk: on a shared machine the disk's latency drifts by more than
 * the fence costs, so the JMH benchmark (which runs plain and fenced one after the other) cannot
 * tell them apart. Here they alternate in short blocks, so both see the same disk, and the
 * per-block mean latencies are compared by their medians.
 *
 * <p>Run: {@code java -cp ... dev.baton.benchmarks.FenceOverheadInterleaved [ROUNDS] [BLOCK] [fsync
 * on|off]} (defaults 40, 100, on).
 */
public final class FenceOverheadInterleaved {
  private FenceOverheadInterleaved() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    String fsync = args.length > 2 ? args[2] : "on";
    if (rounds < 1 || block < 1 || !(fsync.equals("on") || fsync.equals("off"))) {
      throw new IllegalArgumentException("usage: [ROUNDS>=1] [BLOCK>=1] [on|off]");
    }
    System.out.println("start: " + Results.loadAverage());
    try (PostgresServer server =
        PostgresServer.startPrimary(
            "fence-interleaved", Map.of("fsync", fsync, "synchronous_commit", fsync))) {
      server.execute("CREATE TABLE m (id bigint, v text)");
      PostgresFence.of(server.dataSource(), "m").advance(1, TestActionContext.promote(1));
      FencedDataSource ds = FencedDataSource.builder(server.dataSource()).resource("m").build();
      try (Connection plain = server.connect();
          Connection fenced = ds.connection(1)) {
        plain.setAutoCommit(false);
        fenced.setAutoCommit(false);
        PreparedStatement p = plain.prepareStatement("INSERT INTO m VALUES (1, 'plain')");
        PreparedStatement f = fenced.prepareStatement("INSERT INTO m VALUES (1, 'fenced')");
        runBlock(plain, p, block); // warm-up
        runBlock(fenced, f, block);
        double[] plainUs = new double[rounds];
        double[] fencedUs = new double[rounds];
        double[] ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          // Alternate which goes first, so neither always follows the other.
          if (r % 2 == 0) {
            plainUs[r] = runBlock(plain, p, block);
            fencedUs[r] = runBlock(fenced, f, block);
          } else {
            fencedUs[r] = runBlock(fenced, f, block);
            plainUs[r] = runBlock(plain, p, block);
          }
          ratio[r] = fencedUs[r] / plainUs[r];
        }
        System.out.printf(
            Locale.ROOT,
            "fsync %s, %d rounds of %d transactions each: plain median %.0f us, fenced median"
                + " %.0f us, fenced/plain per round median %.3f (p5 %.3f, p95 %.3f)%n",
            fsync,
            rounds,
            block,
            Results.percentile(plainUs, 50),
            Results.percentile(fencedUs, 50),
            Results.percentile(ratio, 50),
            Results.percentile(ratio, 5),
            Results.percentile(ratio, 95));
      }
    }
    System.out.println("end: " + Results.loadAverage());
  }

  /** Runs {@code n} one-row transactions; returns the mean latency in microseconds. */
  private static double runBlock(Connection c, PreparedStatement insert, int n)
      throws SQLException {
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      insert.executeUpdate();
      c.commit();
    }
    return (System.nanoTime() - t0) / 1e3 / n;
  }
}
