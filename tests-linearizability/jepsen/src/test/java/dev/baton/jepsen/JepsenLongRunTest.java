package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nightly profile: many runs with random schedules, every nemesis and workload unless told
 * otherwise. Only with {@code -Pjepsen} (see {@code scripts/jepsen}); options as system properties:
 *
 * <ul>
 *   <li>{@code jepsen.runs} (default 5) and {@code jepsen.time-limit} (seconds per run, default
 *       120); {@code jepsen.total-limit} (seconds: no new run starts after it; default none)
 *   <li>{@code jepsen.nemeses}: comma-separated, e.g. {@code partition,kill,pause,clock,pg-kill,
 *       dns-pause} ({@code partition} = all four partition kinds, {@code all} = everything; default
 *       all)
 *   <li>{@code jepsen.workloads}: {@code kv,fenced,dns} (default all)
 *   <li>{@code jepsen.nodes} (default 3), {@code jepsen.seed} (default random; run i uses seed+i)
 * </ul>
 *
 * <p>Writes {@code target/jepsen/summary.json} with the figures the README quotes: runs,
 * operations, faults injected by kind, anomalies per checker, runs violated and undecided. Fails
 * when any run is INVALID or UNKNOWN (a run that did not check what it says is not a pass), and
 * when no run was made.
 */
@Tag("jepsen-long")
class JepsenLongRunTest {
  private static final Logger LOG = LoggerFactory.getLogger(JepsenLongRunTest.class);

  @Test
  void longRun() throws Exception {
    int runs = Integer.getInteger("jepsen.runs", 5);
    Duration timeLimit = Duration.ofSeconds(Long.getLong("jepsen.time-limit", 120));
    Long totalLimit = Long.getLong("jepsen.total-limit");
    String nemeses = System.getProperty("jepsen.nemeses", "all");
    String workloads = System.getProperty("jepsen.workloads", "kv,fenced,dns");
    int nodes = Integer.getInteger("jepsen.nodes", 3);
    long seed = Long.getLong("jepsen.seed", System.nanoTime());
    long started = System.nanoTime();

    List<RunResult> results = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      if (totalLimit != null && System.nanoTime() - started > totalLimit * 1_000_000_000L) {
        LOG.info("total time limit of {} s reached after {} runs", totalLimit, i);
        break;
      }
      RunOptions o =
          RunOptions.of(
                  String.format("long-%03d", i),
                  NemesisKind.parse(nemeses),
                  RunOptions.Workload.parse(workloads))
              .withNodes(nodes)
              .withTimeLimit(timeLimit)
              .withFaults(
                  Duration.ofSeconds(2),
                  Duration.ofSeconds(6),
                  Duration.ofSeconds(3),
                  Duration.ofSeconds(6))
              .withSeed(seed + i);
      RunResult r = JepsenRun.run(o);
      results.add(r);
      writeSummary(results, nemeses, workloads, nodes, timeLimit, seed, started);
    }
    assertNightlyPassed(results, runs, totalLimit);
  }

  /**
   * The nightly verdict: at least one run was made, and every run is VALID. A run that is UNKNOWN
   * did not test what it says (a configured fault that never happened, a nemesis error, a checker
   * with nothing to judge, a floor not reached): it fails the nightly run as a violation does, and
   * the message says which.
   */
  static void assertNightlyPassed(List<RunResult> results, int runs, Long totalLimit) {
    assertThat(results)
        .as(
            "runs made (jepsen.runs=%d, jepsen.total-limit=%s): none ran, nothing was checked",
            runs, totalLimit)
        .isNotEmpty();
    List<String> violations = new ArrayList<>();
    List<String> undecided = new ArrayList<>();
    for (RunResult r : results) {
      if (r.validity() == Validity.INVALID) {
        violations.add(r.describe());
      } else if (r.validity() == Validity.UNKNOWN) {
        undecided.add(r.describe());
      }
    }
    assertThat(violations).as("runs with a violated property").isEmpty();
    assertThat(undecided)
        .as("runs that did not check what they say (UNKNOWN: see each run's unknown checkers)")
        .isEmpty();
  }

  private static void writeSummary(
      List<RunResult> results,
      String nemeses,
      String workloads,
      int nodes,
      Duration timeLimit,
      long seed,
      long started)
      throws java.io.IOException {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("runs", results.size());
    s.put("nodes", nodes);
    s.put("timeLimitSecondsPerRun", timeLimit.toSeconds());
    s.put("nemeses", nemeses);
    s.put("workloads", workloads);
    s.put("firstSeed", seed);
    s.put("wallSeconds", Math.round((System.nanoTime() - started) / 1e9));
    long kvOps = 0;
    long fencedOps = 0;
    long committed = 0;
    long refused = 0;
    long activations = 0;
    Map<String, Long> faults = new LinkedHashMap<>();
    Map<String, Long> anomalies = new LinkedHashMap<>();
    Map<String, Long> unknown = new LinkedHashMap<>();
    List<Long> failovers = new ArrayList<>();
    List<String> invalidRuns = new ArrayList<>();
    List<String> unknownRuns = new ArrayList<>();
    // Nodes that stopped by themselves (restarted by the supervisor): not anomalies, but listed.
    Map<String, Long> selfStops = new LinkedHashMap<>();
    for (RunResult r : results) {
      long stops = ((Number) r.stats().getOrDefault("selfStops", 0L)).longValue();
      if (stops > 0) {
        selfStops.put(r.directory().toString(), stops);
      }
      kvOps += ((Number) r.stats().get("kvOperations")).longValue();
      fencedOps += ((Number) r.stats().get("fencedOperations")).longValue();
      committed += ((Number) r.stats().get("committedRows")).longValue();
      refused += ((Number) r.stats().get("refusedByFence")).longValue();
      activations += ((Number) r.stats().get("activations")).longValue();
      @SuppressWarnings("unchecked")
      Map<String, Long> f = (Map<String, Long>) r.stats().get("faults");
      f.forEach((k, v) -> faults.merge(k, v, Long::sum));
      @SuppressWarnings("unchecked")
      List<Long> fo = (List<Long>) r.stats().get("failoverMillis");
      failovers.addAll(fo);
      for (Outcome o : r.outcomes()) {
        anomalies.merge(o.name(), o.validity() == Validity.INVALID ? 1L : 0L, Long::sum);
        if (o.validity() == Validity.UNKNOWN) {
          unknown.merge(o.name(), 1L, Long::sum);
        }
      }
      if (r.validity() == Validity.INVALID) {
        invalidRuns.add(r.directory().toString());
      } else if (r.validity() == Validity.UNKNOWN) {
        unknownRuns.add(r.directory().toString());
      }
    }
    s.put("kvOperations", kvOps);
    s.put("fencedOperations", fencedOps);
    s.put("operations", kvOps + fencedOps);
    s.put("committedRows", committed);
    s.put("refusedByFence", refused);
    s.put("activations", activations);
    s.put("faultsInjected", faults.values().stream().mapToLong(Long::longValue).sum());
    s.put("faultsByKind", faults);
    s.put("anomaliesByChecker", anomalies);
    s.put("undecidedByChecker", unknown);
    s.put("runsWithViolations", invalidRuns);
    s.put("runsUndecided", unknownRuns);
    s.put("selfStopsByRun", selfStops);
    List<Long> sorted = failovers.stream().sorted().toList();
    if (!sorted.isEmpty()) {
      s.put("failoverMillisMedian", sorted.get(sorted.size() / 2));
      s.put("failoverMillisMax", sorted.get(sorted.size() - 1));
    }
    new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(JepsenRun.outputRoot().resolve("summary.json").toFile(), s);
    LOG.info("summary after {} runs: {}", results.size(), s);
  }
}
