package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures what the fence costs per transaction on loopback (one connection, one thread), with and
 * without the time bound of protocol version 3 side by side, and checks that every fenced
 * transaction committed. The numbers are logged, not asserted: they depend on the machine.
 */
class FenceOverheadTest {
  private static final Logger LOG = LoggerFactory.getLogger(FenceOverheadTest.class);
  private static final int N = Integer.getInteger("baton.fence.overhead.n", 1000);

  private interface Tx {
    void run(Connection c, int i) throws SQLException;
  }

  @Test
  void fencedTransactionsCommitAndTheirOverheadIsLogged() throws Exception {
    try (PostgresServer server = PostgresServer.startPrimary("overhead")) {
      server.execute("CREATE TABLE m (id int, mode text)");
      PostgresFence.of(server.dataSource(), "m").advance(1, TestStepContext.promote(1));
      FencedDataSource fenced = FencedDataSource.builder(server.dataSource()).resource("m").build();
      // The same with the time bound on: each check also reads the lease and queues the
      // commit-time check. A lease of ten minutes, renewed once, outlasts the measurement.
      PostgresFence boundedFence =
          PostgresFence.builder(server.dataSource()).resource("mb").timeBound(true).build();
      boundedFence.advance(1, TestStepContext.promote(1));
      boundedFence.renewLease(1, java.time.Duration.ofMinutes(10)).orElseThrow();
      FencedDataSource bounded =
          FencedDataSource.builder(server.dataSource()).resource("mb").build();

      Tx insert =
          (c, i) -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO m VALUES (?, ?)")) {
              ps.setInt(1, i);
              ps.setString(2, c.getAutoCommit() ? "auto" : "tx");
              ps.executeUpdate();
            }
            if (!c.getAutoCommit()) {
              c.commit();
            }
          };
      String rawAuto, fencedAuto, rawTx, fencedTx, boundedTx;
      try (Connection c = server.connect()) {
        rawAuto = measure("plain, auto-commit", c, insert);
      }
      try (Connection c = fenced.connection(1)) {
        fencedAuto = measure("fenced, auto-commit", c, insert);
      }
      try (Connection c = server.connect()) {
        c.setAutoCommit(false);
        rawTx = measure("plain, explicit transaction", c, insert);
      }
      try (Connection c = fenced.connection(1)) {
        c.setAutoCommit(false);
        fencedTx = measure("fenced, explicit transaction", c, insert);
      }
      try (Connection c = bounded.connection(1)) {
        c.setAutoCommit(false);
        boundedTx = measure("fenced+bound, explicit tx", c, insert);
      }
      LOG.info(
          "fence overhead, one INSERT per transaction, {} transactions each (after {} warm-up):"
              + "\n  {}\n  {}\n  {}\n  {}\n  {}",
          N,
          N / 5,
          rawAuto,
          fencedAuto,
          rawTx,
          fencedTx,
          boundedTx);
      assertThat(server.queryLong("SELECT count(*) FROM m")).isEqualTo(5L * (N + N / 5));
    }
  }

  private static String measure(String label, Connection c, Tx tx) throws SQLException {
    for (int i = 0; i < N / 5; i++) {
      tx.run(c, i);
    }
    long[] micros = new long[N];
    long start = System.nanoTime();
    for (int i = 0; i < N; i++) {
      long t0 = System.nanoTime();
      tx.run(c, i);
      micros[i] = (System.nanoTime() - t0) / 1000;
    }
    double totalMs = (System.nanoTime() - start) / 1e6;
    Arrays.sort(micros);
    return String.format(
        Locale.ROOT,
        "%-30s p50 %5d us  p99 %5d us  %7.0f tx/s",
        label,
        micros[N / 2],
        micros[(int) (N * 0.99)],
        N / (totalMs / 1000));
  }
}
