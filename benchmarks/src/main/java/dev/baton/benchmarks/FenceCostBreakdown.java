package dev.baton.benchmarks;

import dev.baton.benchmarks.report.Results;
import dev.baton.postgres.FenceSchema;
import dev.baton.postgres.FencedDataSource;
import dev.baton.postgres.PostgresFence;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Where the fence's cost on a one-row write transaction goes (issue 40): the same {@code INSERT} +
 * {@code COMMIT} as {@link FenceOverheadInterleaved}, with {@code fsync} on, preceded by one part
 * of the check at a time, all interleaved in short blocks in one run so that every variant sees the
 * same disk and load. Each variant runs on a connection of its own, in explicit transactions:
 *
 * <ul>
 *   <li>{@code plain}: the write alone;
 *   <li>{@code select-1}: {@code SELECT 1} first, the extra round trip and nothing else;
 *   <li>{@code lookup}: the fence row read by its key, no lock;
 *   <li>{@code for-share}: the fence row read {@code FOR SHARE} (a tuple lock: xmax written, a WAL
 *       record, a dirtied page per transaction), plain SQL;
 *   <li>{@code advisory}: {@code pg_advisory_xact_lock_shared(int, int)}, no tuple write;
 *   <li>{@code plpgsql}: a {@code SECURITY DEFINER} plpgsql function with a pinned search path that
 *       only sets the transaction-local mark, the call's own overhead; {@code plpgsql-bare}, {@code
 *       -definer} and {@code -path}: the same without either, with only {@code SECURITY DEFINER},
 *       with only the pinned search path;
 *   <li>{@code current} and {@code current-bounded}: the {@code check_fence} of the schema this
 *       build installs ({@link FenceSchema#CURRENT_VERSION}, in schema {@code baton});
 *   <li>{@code fenced-ds}: the whole {@link FencedDataSource} path (current schema, unbounded).
 * </ul>
 *
 * <p>Run: {@code scripts/bench fence-parts [ROUNDS] [BLOCK] [on|off]} (defaults 30, 100, on).
 * Prints, per variant, the median and 90th percentile of its single transactions' latencies, the
 * median's excess over {@code plain}'s, and the spread of the per-round ratio of block medians.
 */
public final class FenceCostBreakdown {
  private FenceCostBreakdown() {}

  private record Variant(
      String name, Connection c, @Nullable PreparedStatement pre, PreparedStatement insert) {}

  public static void main(String[] args) throws Exception {
    InterleavedFenceRun run = InterleavedFenceRun.parse(args, 30);
    int rounds = run.rounds();
    int block = run.block();
    try (PostgresServer server = run.startServer("fence-parts")) {
      try (Connection c = server.connect();
          Statement s = c.createStatement()) {
        for (String[] f :
            new String[][] {
              {"bench_noop", "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"},
              {"bench_noop_bare", ""},
              {"bench_noop_definer", "SECURITY DEFINER"},
              {"bench_noop_path", "SET search_path = pg_catalog, pg_temp"}
            }) {
          s.execute(
              "CREATE FUNCTION public."
                  + f[0]
                  + "(p_resource text, p_token bigint) RETURNS bigint LANGUAGE plpgsql "
                  + f[1]
                  + " AS $fn$ BEGIN PERFORM set_config('baton.f' || md5('bench:' || p_resource),"
                  + " p_token::text, true); RETURN p_token; END $fn$");
        }
      }
      PostgresFence.of(server.dataSource(), "m").advance(1, TestStepContext.promote(1));
      PostgresFence bound =
          PostgresFence.builder(server.dataSource()).resource("mb").timeBound(true).build();
      bound.advance(1, TestStepContext.promote(1));
      bound.renewLease(1, Duration.ofHours(1)).orElseThrow(); // outlasts the run
      FencedDataSource ds = FencedDataSource.builder(server.dataSource()).resource("m").build();

      List<Variant> variants = new ArrayList<>();
      variants.add(raw(server, "plain", null));
      variants.add(raw(server, "select-1", "SELECT 1"));
      variants.add(raw(server, "lookup", "SELECT token FROM baton.fence WHERE resource = 'm'"));
      variants.add(
          raw(server, "for-share", "SELECT token FROM baton.fence WHERE resource = 'm' FOR SHARE"));
      variants.add(raw(server, "advisory", "SELECT pg_advisory_xact_lock_shared(1112821582, 7)"));
      variants.add(raw(server, "plpgsql", "SELECT public.bench_noop('m', 1)"));
      variants.add(raw(server, "plpgsql-bare", "SELECT public.bench_noop_bare('m', 1)"));
      variants.add(raw(server, "plpgsql-definer", "SELECT public.bench_noop_definer('m', 1)"));
      variants.add(raw(server, "plpgsql-path", "SELECT public.bench_noop_path('m', 1)"));
      String v = "v" + FenceSchema.CURRENT_VERSION;
      variants.add(raw(server, v, "SELECT baton.check_fence('m', 1)"));
      variants.add(raw(server, v + "-bounded", "SELECT baton.check_fence('mb', 1)"));
      Connection fenced = ds.connection(1);
      fenced.setAutoCommit(false);
      variants.add(
          new Variant(
              "fenced-ds " + v,
              fenced,
              null,
              fenced.prepareStatement("INSERT INTO m VALUES (1, 'fenced-ds')")));

      int n = variants.size();
      for (Variant x : variants) {
        runBlock(x, block, new double[block], 0); // warm-up
      }
      // Every transaction's latency, not a block's mean: under load, other jobs take the CPU or the
      // disk for whole milliseconds now and then, and a median of single transactions ignores those
      // where a mean does not.
      double[][] us = new double[n][rounds * block];
      double[][] blockMedian = new double[n][rounds];
      for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < n; k++) { // rotate the order, so none always follows another
          int i = (r + k) % n;
          runBlock(variants.get(i), block, us[i], r * block);
          blockMedian[i][r] =
              Results.percentile(Arrays.copyOfRange(us[i], r * block, (r + 1) * block), 50);
        }
      }
      System.out.printf(
          Locale.ROOT,
          "fsync %s, %d rounds of %d one-row transactions per variant, interleaved by block%n",
          run.fsync(),
          rounds,
          block);
      System.out.printf(
          Locale.ROOT,
          "%-18s %8s %8s %10s %26s%n",
          "variant",
          "p50 us",
          "p90 us",
          "p50 vs plain",
          "per-round ratio p25 / p75");
      double plain50 = Results.percentile(us[0], 50);
      for (int i = 0; i < n; i++) {
        double[] ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          ratio[r] = blockMedian[i][r] / blockMedian[0][r];
        }
        System.out.printf(
            Locale.ROOT,
            "%-18s %8.0f %8.0f %+11.1f%% %14.3f / %.3f%n",
            variants.get(i).name(),
            Results.percentile(us[i], 50),
            Results.percentile(us[i], 90),
            (Results.percentile(us[i], 50) / plain50 - 1) * 100,
            Results.percentile(ratio, 25),
            Results.percentile(ratio, 75));
      }
      for (Variant x : variants) {
        x.c().close();
      }
    }
    System.out.println("end: " + Results.loadAverage());
  }

  private static Variant raw(PostgresServer server, String name, @Nullable String pre)
      throws SQLException {
    Connection c = server.connect();
    c.setAutoCommit(false);
    return new Variant(
        name,
        c,
        pre == null ? null : c.prepareStatement(pre),
        c.prepareStatement("INSERT INTO m VALUES (1, '" + name + "')"));
  }

  /** Runs {@code n} one-row transactions, their latencies in microseconds into {@code out}. */
  private static void runBlock(Variant v, int n, double[] out, int from) throws SQLException {
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      if (v.pre() != null) {
        try (ResultSet rs = v.pre().executeQuery()) {
          rs.next();
        }
      }
      v.insert().executeUpdate();
      v.c().commit();
      out[from + i] = (System.nanoTime() - t0) / 1e3;
    }
  }
}
