package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.jepsen.ProductPathChecks.Fault;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ProductLongRun}'s figures and summary on hand-made histories (no Docker), and the long run
 * itself ({@link #productLongRun}, tag {@code jepsen-long}: only with {@code -Pjepsen}, run by
 * {@code scripts/jepsen --product}).
 */
class ProductLongRunTest {
  private static final Logger LOG = LoggerFactory.getLogger(ProductLongRunTest.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  // ------------------------------------------------------------------ the long run (Docker)

  /**
   * {@link ProductPathTest} run {@code jepsen.runs} times (default 10), run K with seed {@code
   * jepsen.seed + K - 1} (default a random first seed, printed), the kinds of {@code
   * jepsen.product.nemeses} (default {@code all} here) and {@code jepsen.product.faults} faults
   * each. Each run's outputs are kept in {@code target/jepsen/product-long/run-K/}; no new run
   * starts when less time is left of {@code jepsen.total-limit} (seconds) than the longest run so
   * far took. After each run {@code summary.json} and {@code summary.txt} are written there. Fails
   * when no run was made or any run is not VALID (a run that ended without results included).
   */
  @Test
  @Tag("jepsen-long")
  void productLongRun() throws Exception {
    int runs = Integer.getInteger("jepsen.runs", 10);
    Long totalLimit = Long.getLong("jepsen.total-limit");
    long seed = Long.getLong("jepsen.seed", System.nanoTime());
    if (System.getProperty("jepsen.product.nemeses") == null) {
      System.setProperty("jepsen.product.nemeses", "all");
    }
    // Checked before the first run: a bad option fails at once, naming it.
    ProductPathTest.productKinds(System.getProperty("jepsen.product.nemeses"));
    ProductLongRun.writerArgs();
    Path out = JepsenRun.outputRoot().resolve("product-long").toAbsolutePath();
    JepsenRun.deleteRecursively(out);
    Files.createDirectories(out);
    String options =
        String.format(
            "runs %d, first seed %d, nemeses %s, faults per run %s, writers per site %d, interval"
                + " %d ms, total limit %s",
            runs,
            seed,
            System.getProperty("jepsen.product.nemeses"),
            System.getProperty("jepsen.product.faults", "one of each kind"),
            ProductLongRun.writers(),
            ProductLongRun.intervalMillis(),
            totalLimit == null ? "none" : totalLimit + " s");
    System.out.println("product long run: " + options);
    long started = System.nanoTime();
    double longest = 0;
    List<ProductLongRun.RunRecord> records = new ArrayList<>();
    ProductLongRun.Summary summary = null;
    for (int k = 1; k <= runs; k++) {
      double elapsed = (System.nanoTime() - started) / 1e9;
      if (totalLimit != null && k > 1 && elapsed + longest > totalLimit) {
        System.out.printf(
            "product long run: stopping after %d runs: %.0f s of the %d s limit left, the longest"
                + " run took %.0f s%n",
            k - 1, totalLimit - elapsed, totalLimit, longest);
        break;
      }
      long runSeed = seed + k - 1;
      System.setProperty("jepsen.seed", Long.toString(runSeed));
      System.out.printf(
          "product long run: run %d of %d, seed %d (-Djepsen.seed=%d replays it)%n",
          k, runs, runSeed, runSeed);
      long t0 = System.nanoTime();
      String error = null;
      try {
        new ProductPathTest().faultsOfTheActiveAreTakenOverByBatonsOwnPromotion();
      } catch (Throwable e) {
        String m = String.valueOf(e.getMessage());
        error = e.getClass().getSimpleName() + ": " + m.lines().findFirst().orElse("");
        LOG.error("product long run: run {} (seed {}) failed", k, runSeed, e);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      longest = Math.max(longest, seconds);
      Path runDir = out.resolve("run-" + k);
      Path from = JepsenRun.outputRoot().resolve("product-path").toAbsolutePath();
      if (Files.exists(from)) {
        Files.move(from, runDir);
      }
      Path results = runDir.resolve("results.json");
      JsonNode res = Files.exists(results) ? JSON.readTree(results.toFile()) : null;
      records.add(new ProductLongRun.RunRecord("run-" + k, runSeed, res, error, seconds));
      summary = ProductLongRun.aggregate(records);
      writeSummary(out, options, summary);
      System.out.println(summary.lines().get(summary.lines().size() - 1));
    }
    assertThat(summary).as("product long run: no run was made (" + options + ")").isNotNull();
    System.out.print(summary.describe());
    System.out.println("product long run: summary in " + out.resolve("summary.txt"));
    assertThat(summary.passed()).as(summary.describe()).isTrue();
  }

  private static void writeSummary(Path out, String options, ProductLongRun.Summary s)
      throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("options", options);
    json.putAll(s.figures());
    json.put("runLines", s.lines());
    new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(out.resolve("summary.json").toFile(), json);
    Files.writeString(
        out.resolve("summary.txt"),
        "options: " + options + "\n" + s.describe(),
        StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ figures (no Docker)

  private static NodeEvents.Op op(String proc, String type, long t, long token, String value) {
    String node = proc.substring(0, proc.indexOf('.'));
    return new NodeEvents.Op(
        node, 0, proc, type, t, List.of(token, value), type.equals("ok") ? t : null, null);
  }

  private static final long MS = 1_000_000L;

  @Test
  void figuresCountOperationsByOutcomeAndTheUndecidedOnes() {
    List<NodeEvents.Op> ops =
        List.of(
            op("n1.0.w0", "invoke", 1, 2, "a"),
            op("n1.0.w1", "invoke", 2, 2, "b"),
            op("n1.0.w0", "ok", 3, 2, "a"),
            op("n1.0.w1", "info", 4, 2, "b"),
            op("n1.0.w0", "invoke", 5, 2, "c"),
            op("n1.0.w0", "info", 6, 2, "c"),
            op("n1.0.w1", "invoke", 7, 2, "d"),
            op("n1.0.w1", "fail", 8, 2, "d"),
            // Killed with its site: no completion.
            op("n1.0.w0", "invoke", 9, 2, "e"),
            op("n1.0.w1", "invoke", 10, 2, "f"),
            // Invoked after the table was read.
            op("n2.0", "invoke", 100, 3, "g"));
    // b (info) and f (pending) committed; c (info) and e (pending) are not on the final primary.
    List<Row> rows =
        List.of(new Row(1, 2, "n1", "a"), new Row(2, 2, "n1", "b"), new Row(3, 2, "n1", "f"));
    Map<String, Object> f =
        ProductLongRun.figures(ops, rows, List.of(), List.of(), Map.of("n1", List.of(2L)), 50);
    assertThat(f.get("operations")).isEqualTo(7L);
    assertThat(f.get("byOutcome"))
        .isEqualTo(Map.of("ok", 1L, "fail", 1L, "info", 2L, "pending", 2L));
    assertThat(f.get("inFlightAtEnd")).isEqualTo(1L);
    assertThat(f.get("undecided")).isEqualTo(2L);
    assertThat(f.get("infoCommitted")).isEqualTo(2L);
    assertThat(f.get("overlapping")).isEqualTo(0L);
    assertThat(f.get("writers")).isEqualTo(3);
    assertThat(f.get("rows")).isEqualTo(3);
    assertThat(f.get("activations")).isEqualTo(1);
  }

  @Test
  void aSecondInvocationBeforeTheFirstCompletedIsCountedAsOverlapping() {
    List<NodeEvents.Op> ops =
        List.of(
            op("n1.0", "invoke", 1, 2, "a"),
            op("n1.0", "invoke", 2, 2, "b"),
            op("n1.0", "ok", 3, 2, "b"));
    Map<String, Object> f =
        ProductLongRun.figures(ops, List.of(), List.of(), List.of(), Map.of(), 100);
    assertThat(f.get("overlapping")).isEqualTo(1L);
    assertThat(f.get("byOutcome"))
        .isEqualTo(Map.of("ok", 1L, "fail", 0L, "info", 0L, "pending", 1L));
  }

  @Test
  void aTakeoversGapEndsAtTheFirstWriteAcknowledgedWithANewerTokenByTheOtherSite() {
    Fault kill = new Fault("kill", "n1", 2, 1000 * MS, true);
    Fault halves = new Fault("partition-halves", "w1", 0, 9000 * MS, false);
    Fault pause = new Fault("pause", "n2", 3, 20_000 * MS, true);
    List<NodeEvents.Op> ops =
        List.of(
            // n1's writer, on its own server, after the fault: not a takeover.
            op("n1.0", "invoke", 1001 * MS, 2, "a"),
            op("n1.0", "ok", 1002 * MS, 2, "a"),
            op("n2.0", "invoke", 4000 * MS, 3, "b"),
            op("n2.0", "fail", 4100 * MS, 3, "b"),
            op("n2.0", "invoke", 4200 * MS, 3, "c"),
            op("n2.0", "ok", 4300 * MS, 3, "c"),
            op("n1.1", "invoke", 24_000 * MS, 4, "d"),
            op("n1.1", "ok", 24_500 * MS, 4, "d"));
    List<Activation> activations =
        List.of(
            new Activation("n1", 0, 2, 0, 1, 900 * MS, 901 * MS, -1, 10),
            new Activation("n2", 0, 3, 3900 * MS, 3950 * MS, 19_000 * MS, 19_001 * MS, -1, 10),
            new Activation("n1", 0, 4, 23_000 * MS, 23_100 * MS, 30_000 * MS, 30_001 * MS, -1, 9));
    Map<String, Object> f =
        ProductLongRun.figures(
            ops,
            List.of(new Row(1, 2, "n1", "a"), new Row(2, 3, "n2", "c"), new Row(3, 4, "n1", "d")),
            List.of(kill, halves, pause),
            activations,
            Map.of("n1", List.of(2L, 4L), "n2", List.of(3L)),
            Long.MAX_VALUE);
    assertThat(f.get("faultsByKind"))
        .isEqualTo(Map.of("kill", 1L, "partition-halves", 1L, "pause", 1L));
    assertThat(f.get("activations")).isEqualTo(3);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> t = (List<Map<String, Object>>) f.get("takeovers");
    assertThat(t).hasSize(2);
    assertThat(t.get(0))
        .containsEntry("kind", "kill")
        .containsEntry("newNode", "n2")
        .containsEntry("newToken", 3L)
        .containsEntry("committingMs", 3300L)
        .containsEntry("activeMs", 2950L);
    assertThat(t.get(1))
        .containsEntry("kind", "pause")
        .containsEntry("newNode", "n1")
        .containsEntry("committingMs", 4500L)
        .containsEntry("activeMs", 3100L);
  }

  // ------------------------------------------------------------------ summary (no Docker)

  private static JsonNode results(
      String validity, long ops, long undecided, long lost, String takeoverAnomaly, long... gaps) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("validity", validity);
    r.put("I2-one-believer", Map.of("validity", "VALID", "summary", "ok", "details", Map.of()));
    r.put(
        "active-fault-taken-over",
        Map.of("validity", takeoverAnomaly, "summary", "s", "details", Map.of()));
    List<String> lostRows = new ArrayList<>();
    for (int i = 0; i < lost; i++) {
      lostRows.add("value x" + i);
    }
    r.put(
        ProductLongRun.REPORTED_ONLY,
        Map.of(
            "validity",
            lost > 0 ? "INVALID" : "VALID",
            "summary",
            "s",
            "details",
            Map.of("lost", lostRows)));
    r.put("seed", 1);
    List<Map<String, Object>> takeovers = new ArrayList<>();
    for (long g : gaps) {
      takeovers.add(Map.of("kind", "kill", "committingMs", g, "activeMs", g - 100));
    }
    // A takeover whose new site wrote nothing the harness saw (no committingMs).
    takeovers.add(Map.of("kind", "pause"));
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("operations", ops);
    figures.put("byOutcome", Map.of("ok", ops - undecided, "info", undecided));
    figures.put("undecided", undecided);
    figures.put("overlapping", 0);
    figures.put("rows", ops - undecided);
    figures.put("faultsByKind", Map.of("kill", (long) gaps.length, "pause", 1L));
    figures.put("activations", gaps.length + 2);
    figures.put("takeovers", takeovers);
    r.put("figures", figures);
    // The KV workload's figures (ProductKv): 200 operations, decided.
    r.put("kv", Map.of("operations", 200L, "undecided", false));
    return JSON.valueToTree(r);
  }

  @Test
  void theSummaryAddsTheRunsUpAndTakesTheGapsPercentilesOverAllTakeovers() {
    List<ProductLongRun.RunRecord> runs =
        List.of(
            new ProductLongRun.RunRecord(
                "run-1", 7, results("VALID", 1000, 2, 5, "VALID", 3000, 5000), null, 100),
            new ProductLongRun.RunRecord(
                "run-2", 8, results("VALID", 500, 1, 0, "VALID", 4000, 9000, 1000), null, 90));
    ProductLongRun.Summary s = ProductLongRun.aggregate(runs);
    Map<String, Object> f = s.figures();
    assertThat(f.get("runs")).isEqualTo(2);
    assertThat(f.get("runsValid")).isEqualTo(2);
    assertThat(f.get("operations")).isEqualTo(1900L);
    assertThat(f.get("writerOperations")).isEqualTo(1500L);
    assertThat(f.get("kvOperations")).isEqualTo(400L);
    assertThat(f.get("kvHistoriesUndecided")).isEqualTo(List.of());
    assertThat(f.get("byOutcome")).isEqualTo(Map.of("ok", 1497L, "info", 3L));
    assertThat(f.get("undecided")).isEqualTo(3L);
    assertThat(f.get("faultsByKind")).isEqualTo(Map.of("kill", 5L, "pause", 2L));
    assertThat(f.get("faults")).isEqualTo(7L);
    assertThat(f.get("activations")).isEqualTo(9L);
    // Gaps 1000, 3000, 4000, 5000, 9000: nearest-rank p50 is the third.
    assertThat(f.get("takeovers")).isEqualTo(5);
    assertThat(f.get("takeoverMillisP50")).isEqualTo(4000L);
    assertThat(f.get("takeoverMillisMax")).isEqualTo(9000L);
    assertThat(f.get("activeMillisP50")).isEqualTo(3900L);
    assertThat(f.get("anomaliesByCheck"))
        .isEqualTo(Map.of("I2-one-believer", 0L, "active-fault-taken-over", 0L));
    assertThat(f.get("lostAcknowledged")).isEqualTo(5L);
    assertThat(s.passed()).isTrue();
    assertThat(s.lines()).hasSize(2);
    assertThat(s.lines().get(0))
        .startsWith("run-1 seed 7: VALID, 1000 writer operations (2 undecided), 200 KV operations")
        .contains("takeover gap p50 3000 ms max 5000 ms (1 with no write after)")
        .contains("5 lost (reported)");
    assertThat(s.describe()).contains("2 runs (2 VALID), 1900 operations (1500 by the writers");
  }

  @Test
  void aRunThatIsNotValidOrEndedWithoutResultsFailsTheLongRunAndIsNamed() {
    List<ProductLongRun.RunRecord> runs =
        List.of(
            new ProductLongRun.RunRecord(
                "run-1", 7, results("VALID", 1000, 0, 0, "VALID", 3000), null, 100),
            new ProductLongRun.RunRecord(
                "run-2",
                8,
                results("UNKNOWN", 10, 0, 0, "UNKNOWN", 3000),
                "AssertionError: run UNKNOWN",
                50),
            new ProductLongRun.RunRecord(
                "run-3", 9, results("INVALID", 10, 0, 0, "INVALID", 3000), "AssertionError: x", 50),
            new ProductLongRun.RunRecord(
                "run-4", 10, null, "AssertionError: n2 is active with a token above 2", 95));
    ProductLongRun.Summary s = ProductLongRun.aggregate(runs);
    assertThat(s.passed()).isFalse();
    assertThat(s.figures().get("runsValid")).isEqualTo(1);
    assertThat(s.figures().get("runsUndecided")).isEqualTo(List.of("run-2"));
    assertThat(s.figures().get("runsWithViolations")).isEqualTo(List.of("run-3"));
    assertThat(s.figures().get("runsWithoutResults")).isEqualTo(List.of("run-4"));
    assertThat(s.figures().get("anomaliesByCheck"))
        .isEqualTo(Map.of("I2-one-believer", 0L, "active-fault-taken-over", 1L));
    assertThat(s.lines().get(3))
        .isEqualTo(
            "run-4 seed 10: no results (AssertionError: n2 is active with a token above 2), 95 s");
    assertThat(ProductLongRun.aggregate(List.of()).passed()).isFalse();
  }

  @Test
  void theWritersOptionsAreCheckedAndNamedWhenWrong() {
    String w = System.getProperty("jepsen.product.writers");
    String i = System.getProperty("jepsen.product.interval");
    try {
      System.clearProperty("jepsen.product.writers");
      System.clearProperty("jepsen.product.interval");
      assertThat(ProductLongRun.writerArgs()).isEqualTo("20 1");
      System.setProperty("jepsen.product.writers", "4");
      System.setProperty("jepsen.product.interval", "0");
      assertThat(ProductLongRun.writerArgs()).isEqualTo("0 4");
      System.setProperty("jepsen.product.writers", "four");
      assertThatThrownBy(ProductLongRun::writers)
          .hasMessageContaining("-Djepsen.product.writers=four");
      System.setProperty("jepsen.product.writers", "0");
      assertThatThrownBy(ProductLongRun::writers).hasMessageContaining("1 to 16");
      System.setProperty("jepsen.product.interval", "-5");
      assertThatThrownBy(ProductLongRun::intervalMillis)
          .hasMessageContaining("-Djepsen.product.interval=-5");
    } finally {
      restore("jepsen.product.writers", w);
      restore("jepsen.product.interval", i);
    }
  }

  @Test
  void eachWriterOfASiteIsAProcessOfItsOwn() throws IOException {
    assertThat(ProductLongRun.writerProc("n1", 2, JSON.readTree("{\"e\":\"op\",\"w\":3}")))
        .isEqualTo("n1.2.w3");
    assertThat(ProductLongRun.writerProc("n1", 2, JSON.readTree("{\"e\":\"op\"}")))
        .isEqualTo("n1.2");
  }

  private static void restore(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }
}
