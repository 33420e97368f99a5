package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.testing.postgres.PostgresServer;
import java.util.Map;

/**
 * What {@link FenceOverheadInterleaved} and {@link FenceCostBreakdown} share: their arguments
 * {@code [ROUNDS] [BLOCK] [on|off]} (rounds of interleaved blocks, one-row transactions per block,
 * PostgreSQL's {@code fsync} and {@code synchronous_commit}) and the server their writes go to.
 */
record InterleavedFenceRun(int rounds, int block, String fsync) {

  /** {@code args} as {@code [ROUNDS] [BLOCK] [on|off]}, defaults {@code defaultRounds}, 100, on. */
  static InterleavedFenceRun parse(String[] args, int defaultRounds) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : defaultRounds;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    String fsync = args.length > 2 ? args[2] : "on";
    if (rounds < 1 || block < 1 || !(fsync.equals("on") || fsync.equals("off"))) {
      throw new IllegalArgumentException("usage: [ROUNDS>=1] [BLOCK>=1] [on|off]");
    }
    return new InterleavedFenceRun(rounds, block, fsync);
  }

  /**
   * Prints the load average, then starts a PostgreSQL primary named {@code name} with {@code fsync}
   * and {@code synchronous_commit} as asked, and creates in it the table {@code m (id bigint, v
   * text)} that the benchmark writes to.
   */
  PostgresServer startServer(String name) {
    System.out.println("start: " + Results.loadAverage());
    PostgresServer server =
        PostgresServer.startPrimary(name, Map.of("fsync", fsync, "synchronous_commit", fsync));
    try {
      server.execute("CREATE TABLE m (id bigint, v text)");
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    return server;
  }
}
