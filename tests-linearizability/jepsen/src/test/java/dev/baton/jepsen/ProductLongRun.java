package dev.baton.jepsen;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.jepsen.ProductPathChecks.Fault;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The figures of {@link ProductPathTest} runs (issue 39, "The run"): per run, what {@code
 * results.json} carries under {@code figures} ({@link #figures}); over many runs, the long run's
 * summary ({@link #aggregate}), which {@code ProductLongRunTest} writes after each run of {@code
 * scripts/jepsen --product}. Also the writers' load options, {@code -Djepsen.product.writers} and
 * {@code -Djepsen.product.interval}. Pure apart from reading those two properties: {@code
 * ProductLongRunTest} checks it on hand-made histories, without Docker.
 */
final class ProductLongRun {
  private ProductLongRun() {}

  /**
   * The outcome {@link ProductPathChecks} reports and does not assert (replication between the
   * sites is asynchronous): its lost rows are counted apart, not as anomalies.
   */
  static final String REPORTED_ONLY = "acknowledged-rows-on-final-primary";

  /** The pause of each writer before a transaction, by default (the CI run's). */
  static final long DEFAULT_INTERVAL_MILLIS = 20;

  // ------------------------------------------------------------------ the writers' load

  /**
   * {@code -Djepsen.product.writers} (default 1): how many writers run at once on each site, each a
   * writer of its own in the history.
   */
  static int writers() {
    String v = System.getProperty("jepsen.product.writers", "1").trim();
    int n;
    try {
      n = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "-Djepsen.product.writers=" + v + ": not a whole number of writers per site", e);
    }
    if (n < 1 || n > 16) {
      throw new IllegalArgumentException(
          "-Djepsen.product.writers=" + v + ": must be 1 to 16 writers per site");
    }
    return n;
  }

  /**
   * {@code -Djepsen.product.interval} (milliseconds, default {@value #DEFAULT_INTERVAL_MILLIS}):
   * each writer's pause before a transaction.
   */
  static long intervalMillis() {
    String v =
        System.getProperty("jepsen.product.interval", Long.toString(DEFAULT_INTERVAL_MILLIS))
            .trim();
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "-Djepsen.product.interval=" + v + ": not a whole number of milliseconds", e);
    }
    if (n < 0 || n > 10_000) {
      throw new IllegalArgumentException(
          "-Djepsen.product.interval=" + v + ": must be 0 to 10000 ms");
    }
    return n;
  }

  /** The {@code ProtocolWriter}'s last two arguments: {@code intervalMillis writers}. */
  static String writerArgs() {
    return intervalMillis() + " " + writers();
  }

  /**
   * The process of a writer's log line: {@code node.incarnation}, and {@code .w} with the writer's
   * number when the site runs several ({@code "w"} in the line), so that each writer is a process
   * of its own, with one operation at a time.
   */
  static String writerProc(String node, int incarnation, JsonNode line) {
    String proc = node + "." + incarnation;
    return line.has("w") ? proc + ".w" + line.path("w").asInt() : proc;
  }

  // ------------------------------------------------------------------ one run

  /**
   * One run's figures, for {@code results.json}.
   *
   * <ul>
   *   <li>{@code operations}: the writers' operations (an invocation and its completion), by
   *       outcome: {@code ok} (acknowledged), {@code fail} (refused by the fence, or failed before
   *       the COMMIT: nothing committed), {@code info} (the COMMIT's outcome unknown) and {@code
   *       pending} (no completion in the log: the writer died with its site, or its transaction
   *       still ran when the logs were read; an invocation made after {@code readFrom}, when the
   *       final primary's table began to be read, is counted in {@code inFlightAtEnd} instead);
   *       {@code writers}, the processes; {@code overlapping}, invocations of a process made before
   *       its previous one completed (never expected: each writer does one operation at a time)
   *   <li>{@code undecided}: operations of unknown outcome ({@code info} or {@code pending}) whose
   *       value is not on the final primary: committed and lost, or never committed, no check can
   *       say which; {@code infoCommitted}: those found there
   *   <li>{@code writingSeconds}: from the first invocation to the last completion, and over it
   *       {@code operationsPerSecond} and {@code okPerSecond} (the writers' load, the faults'
   *       pauses included)
   *   <li>{@code rows}: rows committed (on the final primary); {@code faultsByKind}; {@code
   *       activations}: the tokens issued (the cluster's history and the sampled activations)
   *   <li>{@code takeovers}: per fault of the active, the gap from the fault to the first write
   *       acknowledged with a higher token by another site's writer ({@code committingMs}: the
   *       failover as a client sees it) and to the first sample of that site's {@code /active}
   *       answering active ({@code activeMs}, as {@code active-fault-taken-over} reports)
   * </ul>
   */
  static Map<String, Object> figures(
      List<NodeEvents.Op> ops,
      List<Row> rows,
      List<Fault> faults,
      List<Activation> activations,
      Map<String, List<Long>> history,
      long readFrom) {
    Set<String> onPrimary = new HashSet<>();
    for (Row r : rows) {
      onPrimary.add(r.value());
    }
    List<NodeEvents.Op> sorted = new ArrayList<>(ops);
    sorted.sort(java.util.Comparator.comparingLong(NodeEvents.Op::time));
    Map<String, Long> byOutcome = new LinkedHashMap<>();
    for (String t : List.of("ok", "fail", "info", "pending")) {
      byOutcome.put(t, 0L);
    }
    Map<String, NodeEvents.Op> open = new HashMap<>();
    Set<String> procs = new TreeSet<>();
    long invocations = 0;
    long overlapping = 0;
    long undecided = 0;
    long infoCommitted = 0;
    List<NodeEvents.Op> unknown = new ArrayList<>();
    for (NodeEvents.Op op : sorted) {
      procs.add(op.proc());
      if (op.type().equals("invoke")) {
        invocations++;
        NodeEvents.Op before = open.put(op.proc(), op);
        if (before != null) {
          overlapping++;
          byOutcome.merge("pending", 1L, Long::sum);
          unknown.add(before);
        }
      } else {
        open.remove(op.proc());
        byOutcome.merge(op.type(), 1L, Long::sum);
        if (op.type().equals("info")) {
          unknown.add(op);
        }
      }
    }
    long inFlightAtEnd = 0;
    for (NodeEvents.Op op : open.values()) {
      if (op.time() >= readFrom) {
        inFlightAtEnd++;
        continue;
      }
      byOutcome.merge("pending", 1L, Long::sum);
      unknown.add(op);
    }
    for (NodeEvents.Op op : unknown) {
      if (onPrimary.contains(valueOf(op))) {
        infoCommitted++;
      } else {
        undecided++;
      }
    }
    Map<String, Long> faultsByKind = new TreeMap<>();
    for (Fault f : faults) {
      faultsByKind.merge(f.kind(), 1L, Long::sum);
    }
    Set<String> issued = new TreeSet<>();
    history.forEach((node, tokens) -> tokens.forEach(t -> issued.add(node + "/" + t)));
    for (Activation a : activations) {
      issued.add(a.node() + "/" + a.token());
    }
    List<Map<String, Object>> takeovers = new ArrayList<>();
    for (Fault f : faults) {
      if (!f.takeover()) {
        continue;
      }
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("kind", f.kind());
      t.put("node", f.node());
      t.put("token", f.token());
      NodeEvents.Op first = null;
      for (NodeEvents.Op op : sorted) {
        if (op.type().equals("ok")
            && op.time() > f.time()
            && !op.node().equals(f.node())
            && tokenOf(op) > f.token()) {
          first = op;
          break;
        }
      }
      if (first != null) {
        t.put("newNode", first.node());
        t.put("newToken", tokenOf(first));
        t.put("committingMs", Math.round((first.time() - f.time()) / 1e6));
      }
      Activation next = null;
      for (Activation a : activations) {
        if (!a.node().equals(f.node())
            && a.token() > f.token()
            && a.firstT1() > f.time()
            && (next == null || a.firstT0() < next.firstT0())) {
          next = a;
        }
      }
      if (next != null) {
        t.put("activeMs", Math.round((next.firstT1() - f.time()) / 1e6));
      }
      takeovers.add(t);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("operations", invocations);
    out.put("byOutcome", byOutcome);
    out.put("writers", procs.size());
    double span =
        sorted.isEmpty() ? 0 : (sorted.get(sorted.size() - 1).time() - sorted.get(0).time()) / 1e9;
    out.put("writingSeconds", Math.round(span * 10) / 10.0);
    out.put("operationsPerSecond", span > 0 ? Math.round(invocations / span * 10) / 10.0 : 0.0);
    out.put("okPerSecond", span > 0 ? Math.round(byOutcome.get("ok") / span * 10) / 10.0 : 0.0);
    out.put("overlapping", overlapping);
    out.put("inFlightAtEnd", inFlightAtEnd);
    out.put("undecided", undecided);
    out.put("infoCommitted", infoCommitted);
    out.put("rows", rows.size());
    out.put("faultsByKind", faultsByKind);
    out.put("activations", issued.size());
    out.put("takeovers", takeovers);
    return out;
  }

  private static String valueOf(NodeEvents.Op op) {
    return op.value() instanceof List<?> l && l.size() >= 2 ? String.valueOf(l.get(1)) : "";
  }

  private static long tokenOf(NodeEvents.Op op) {
    return op.value() instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Number n
        ? n.longValue()
        : -1;
  }

  // ------------------------------------------------------------------ many runs

  /**
   * One run of the long run: its directory's name, its seed, its {@code results.json} (null when
   * the run wrote none: it ended before its checks, e.g. a takeover that never came), the error it
   * ended with (null when none), and its wall time.
   */
  record RunRecord(String name, long seed, JsonNode results, String error, double seconds) {}

  /** The long run's summary: the figures summed over the runs, and one line per run. */
  record Summary(Map<String, Object> figures, List<String> lines) {
    /** The summary as text: the totals, then one line per run. */
    String describe() {
      Map<String, Object> f = figures;
      StringBuilder b = new StringBuilder();
      b.append(
          String.format(
              "product long run: %s runs (%s VALID), %s operations (%s by the writers %s, %s KV;"
                  + " KV histories undecided: %s), %s rows, %s faults %s,"
                  + " %s activations, takeover gap (fault to the first write acknowledged with the"
                  + " new token) p50 %s ms max %s ms over %s takeovers (first sample active: p50"
                  + " %s ms max %s ms), %s undecided writer operations, %s undecided runs %s, anomalies"
                  + " per check %s, %s acknowledged writes lost (reported, not asserted), runs"
                  + " that ended without results: %s, %.0f s%n",
              f.get("runs"),
              f.get("runsValid"),
              f.get("operations"),
              f.get("writerOperations"),
              f.get("byOutcome"),
              f.get("kvOperations"),
              f.get("kvHistoriesUndecided"),
              f.get("rows"),
              f.get("faults"),
              f.get("faultsByKind"),
              f.get("activations"),
              f.get("takeoverMillisP50"),
              f.get("takeoverMillisMax"),
              f.get("takeovers"),
              f.get("activeMillisP50"),
              f.get("activeMillisMax"),
              f.get("undecided"),
              ((List<?>) f.get("runsUndecided")).size(),
              f.get("runsUndecided"),
              f.get("anomaliesByCheck"),
              f.get("lostAcknowledged"),
              f.get("runsWithoutResults"),
              ((Number) f.get("seconds")).doubleValue()));
      for (String line : lines) {
        b.append("  ").append(line).append('\n');
      }
      return b.toString();
    }

    /** Every run VALID, none without results, at least one run. */
    boolean passed() {
      return ((Number) figures.get("runs")).intValue() > 0
          && figures.get("runsValid").equals(figures.get("runs"));
    }
  }

  /** The long run's summary over {@code runs}, in order. */
  static Summary aggregate(List<RunRecord> runs) {
    long operations = 0;
    long kvOperations = 0;
    List<String> kvUndecided = new ArrayList<>();
    long rows = 0;
    long activations = 0;
    long undecided = 0;
    long lost = 0;
    long overlapping = 0;
    double seconds = 0;
    int valid = 0;
    Map<String, Long> byOutcome = new LinkedHashMap<>();
    Map<String, Long> faultsByKind = new TreeMap<>();
    Map<String, Long> anomalies = new LinkedHashMap<>();
    List<Long> gaps = new ArrayList<>();
    List<Long> activeGaps = new ArrayList<>();
    List<String> invalid = new ArrayList<>();
    List<String> unknownRuns = new ArrayList<>();
    List<String> withoutResults = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    for (RunRecord r : runs) {
      seconds += r.seconds();
      JsonNode res = r.results();
      if (res == null || !res.has("figures")) {
        withoutResults.add(r.name());
        lines.add(
            String.format(
                "%s seed %d: no results (%s), %.0f s",
                r.name(),
                r.seed(),
                r.error() == null ? "results.json without figures" : r.error(),
                r.seconds()));
        continue;
      }
      JsonNode f = res.path("figures");
      String validity = res.path("validity").asText("UNKNOWN");
      if (validity.equals("VALID") && r.error() == null) {
        valid++;
      } else if (validity.equals("INVALID")) {
        invalid.add(r.name());
      } else {
        unknownRuns.add(r.name());
      }
      long ops = f.path("operations").asLong();
      operations += ops;
      // The KV workload through the sidecars' control API (ProductKv), its own history.
      JsonNode kv = res.path("kv");
      long kvOps = kv.path("operations").asLong();
      kvOperations += kvOps;
      if (kv.path("undecided").asBoolean(false)) {
        kvUndecided.add(r.name());
      }
      f.path("byOutcome")
          .fields()
          .forEachRemaining(e -> byOutcome.merge(e.getKey(), e.getValue().asLong(), Long::sum));
      rows += f.path("rows").asLong();
      activations += f.path("activations").asLong();
      undecided += f.path("undecided").asLong();
      overlapping += f.path("overlapping").asLong();
      Map<String, Long> runFaults = new TreeMap<>();
      f.path("faultsByKind")
          .fields()
          .forEachRemaining(e -> runFaults.merge(e.getKey(), e.getValue().asLong(), Long::sum));
      runFaults.forEach((k, v) -> faultsByKind.merge(k, v, Long::sum));
      List<Long> runGaps = new ArrayList<>();
      long missingGaps = 0;
      for (JsonNode t : f.path("takeovers")) {
        if (t.has("committingMs")) {
          runGaps.add(t.path("committingMs").asLong());
        } else {
          missingGaps++;
        }
        if (t.has("activeMs")) {
          activeGaps.add(t.path("activeMs").asLong());
        }
      }
      gaps.addAll(runGaps);
      long runLost = 0;
      for (Iterator<Map.Entry<String, JsonNode>> it = res.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode o = e.getValue();
        if (!o.isObject() || !o.has("validity") || !o.has("summary")) {
          continue;
        }
        if (e.getKey().equals(REPORTED_ONLY)) {
          runLost = o.path("details").path("lost").size();
          continue;
        }
        anomalies.merge(
            e.getKey(), o.path("validity").asText().equals("INVALID") ? 1L : 0L, Long::sum);
      }
      lost += runLost;
      List<Long> sortedGaps = runGaps.stream().sorted().toList();
      lines.add(
          String.format(
              "%s seed %d: %s%s, %d writer operations (%d undecided), %d KV operations, %d rows,"
                  + " faults %s, %d activations, takeover gap %s%s, %d lost (reported), %.0f s",
              r.name(),
              r.seed(),
              validity,
              r.error() == null ? "" : " (" + r.error() + ")",
              ops,
              f.path("undecided").asLong(),
              kvOps,
              f.path("rows").asLong(),
              runFaults,
              f.path("activations").asLong(),
              sortedGaps.isEmpty()
                  ? "none"
                  : "p50 "
                      + percentile(sortedGaps, 50)
                      + " ms max "
                      + sortedGaps.get(sortedGaps.size() - 1)
                      + " ms",
              missingGaps == 0 ? "" : " (" + missingGaps + " with no write after)",
              runLost,
              r.seconds()));
    }
    if (overlapping > 0) {
      anomalies.put("writer-one-operation-at-a-time", overlapping);
    }
    List<Long> sortedGaps = gaps.stream().sorted().toList();
    List<Long> sortedActive = activeGaps.stream().sorted().toList();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("runs", runs.size());
    s.put("runsValid", valid);
    s.put("runsWithViolations", invalid);
    s.put("runsUndecided", unknownRuns);
    s.put("runsWithoutResults", withoutResults);
    s.put("operations", operations + kvOperations);
    s.put("writerOperations", operations);
    s.put("kvOperations", kvOperations);
    s.put("kvHistoriesUndecided", kvUndecided);
    s.put("byOutcome", byOutcome);
    s.put("rows", rows);
    s.put("faults", faultsByKind.values().stream().mapToLong(Long::longValue).sum());
    s.put("faultsByKind", faultsByKind);
    s.put("activations", activations);
    s.put("takeovers", sortedGaps.size());
    s.put("takeoverMillisP50", sortedGaps.isEmpty() ? null : percentile(sortedGaps, 50));
    s.put("takeoverMillisMax", sortedGaps.isEmpty() ? null : sortedGaps.get(sortedGaps.size() - 1));
    s.put("activeMillisP50", sortedActive.isEmpty() ? null : percentile(sortedActive, 50));
    s.put(
        "activeMillisMax",
        sortedActive.isEmpty() ? null : sortedActive.get(sortedActive.size() - 1));
    s.put("undecided", undecided);
    s.put("anomaliesByCheck", anomalies);
    s.put("lostAcknowledged", lost);
    s.put("seconds", Math.round(seconds * 10) / 10.0);
    return new Summary(s, List.copyOf(lines));
  }

  /** The nearest-rank percentile of {@code sorted} (not empty). */
  static long percentile(List<Long> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, rank - 1));
  }
}
