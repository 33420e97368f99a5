package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.postgres.FencedDataSource;
import dev.baton.postgres.PostgresFence;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;

/**
 * The fence's cost on a one-row write transaction with {@code fsync} and {@code synchronous_commit}
 * on, where a commit waits for the disk: on a shared machine the disk's latency drifts by more than
 * the fence costs, so the JMH benchmark (which runs plain and fenced one after the other) cannot
 * tell them apart. Here they alternate in short blocks, so both see the same disk, and the
 * per-block mean latencies are compared by their medians. A third column runs the same write
 * through a fence with the time bound of protocol version 3 on (its check also reads the lease and
 * queues the commit-time check), so the bound's cost reads off beside the token check's.
 *
 * <p>Run: {@code java -cp ... dev.baton.benchmarks.FenceOverheadInterleaved [ROUNDS] [BLOCK] [fsync
 * on|off]} (defaults 40, 100, on).
 */
public final class FenceOverheadInterleaved {
  private FenceOverheadInterleaved() {}

  public static void main(String[] args) throws Exception {
    InterleavedFenceRun run = InterleavedFenceRun.parse(args, 40);
    int rounds = run.rounds();
    int block = run.block();
    try (PostgresServer server = run.startServer("fence-interleaved")) {
      PostgresFence.of(server.dataSource(), "m").advance(1, TestStepContext.promote(1));
      FencedDataSource ds = FencedDataSource.builder(server.dataSource()).resource("m").build();
      PostgresFence bound =
          PostgresFence.builder(server.dataSource()).resource("mb").timeBound(true).build();
      bound.advance(1, TestStepContext.promote(1));
      bound.renewLease(1, Duration.ofHours(1)).orElseThrow(); // outlasts the run
      FencedDataSource boundDs =
          FencedDataSource.builder(server.dataSource()).resource("mb").build();
      try (Connection plain = server.connect();
          Connection fenced = ds.connection(1);
          Connection bounded = boundDs.connection(1)) {
        plain.setAutoCommit(false);
        fenced.setAutoCommit(false);
        bounded.setAutoCommit(false);
        PreparedStatement p = plain.prepareStatement("INSERT INTO m VALUES (1, 'plain')");
        PreparedStatement f = fenced.prepareStatement("INSERT INTO m VALUES (1, 'fenced')");
        PreparedStatement b = bounded.prepareStatement("INSERT INTO m VALUES (1, 'bounded')");
        runBlock(plain, p, block); // warm-up
        runBlock(fenced, f, block);
        runBlock(bounded, b, block);
        double[] plainUs = new double[rounds];
        double[] fencedUs = new double[rounds];
        double[] boundedUs = new double[rounds];
        double[] ratio = new double[rounds];
        double[] boundedRatio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          // Rotate which goes first, so none always follows another.
          for (int k = 0; k < 3; k++) {
            switch ((r + k) % 3) {
              case 0 -> plainUs[r] = runBlock(plain, p, block);
              case 1 -> fencedUs[r] = runBlock(fenced, f, block);
              default -> boundedUs[r] = runBlock(bounded, b, block);
            }
          }
          ratio[r] = fencedUs[r] / plainUs[r];
          boundedRatio[r] = boundedUs[r] / plainUs[r];
        }
        System.out.printf(
            Locale.ROOT,
            "fsync %s, %d rounds of %d transactions each: plain median %.0f us, fenced median"
                + " %.0f us, fenced/plain per round median %.3f (p5 %.3f, p95 %.3f)%n",
            run.fsync(),
            rounds,
            block,
            Results.percentile(plainUs, 50),
            Results.percentile(fencedUs, 50),
            Results.percentile(ratio, 50),
            Results.percentile(ratio, 5),
            Results.percentile(ratio, 95));
        System.out.printf(
            Locale.ROOT,
            "  with the time bound (protocol 3): bounded median %.0f us, bounded/plain per round"
                + " median %.3f (p5 %.3f, p95 %.3f)%n",
            Results.percentile(boundedUs, 50),
            Results.percentile(boundedRatio, 50),
            Results.percentile(boundedRatio, 5),
            Results.percentile(boundedRatio, 95));
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
