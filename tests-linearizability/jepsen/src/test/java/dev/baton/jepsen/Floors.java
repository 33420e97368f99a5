package dev.baton.jepsen;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Operation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The least a run must have recorded for its verdict to mean anything: each checker already answers
 * UNKNOWN on nothing, but a recorder that loses most of what happened (a node's log cut off, a
 * workload that fails nearly every call) would still leave a little to judge. These floors are far
 * below what a healthy run records (see the README, "Floors", for the counts of real CI runs) and
 * far above what a broken one does; a run below any of them is UNKNOWN, naming the floor, the value
 * and the threshold.
 *
 * @param activations activations seen by the nodes' samplers, all nodes together
 * @param activeSamples samples that found a node active, all nodes together (one per 5 ms while
 *     active: 100 is half a second of being active)
 * @param startsPerNode start records in each node's own event log (a node whose log holds none
 *     recorded nothing of itself)
 * @param committedRows rows in the fenced-writes table after the run (workload FENCED)
 * @param acknowledgedWrites fenced writes the nodes saw commit (workload FENCED)
 * @param kvOk KV operations that completed {@code ok} (workload KV)
 * @param dnsFenceReadings readings of the DNS fence record that found it (workload DNS)
 */
record Floors(
    int activations,
    int activeSamples,
    int startsPerNode,
    int committedRows,
    int acknowledgedWrites,
    int kvOk,
    int dnsFenceReadings) {

  /** What every CI and nightly run is held to. */
  static final Floors DEFAULTS = new Floors(1, 100, 1, 50, 50, 50, 5);

  static final String NAME = "recorded-floors";

  /** The counts of one run, and whether each clears its floor. */
  Outcome check(
      RunOptions o,
      NodeEvents events,
      History kv,
      List<Checks.Row> rows,
      List<DnsWatcher.Observation> dns) {
    Map<String, Object> values = new LinkedHashMap<>();
    List<String> below = new ArrayList<>();
    floor(values, below, "activations", events.activations.size(), activations);
    floor(
        values,
        below,
        "active samples",
        events.activations.stream().mapToLong(NodeEvents.Activation::samples).sum(),
        activeSamples);
    Map<String, Long> starts = new TreeMap<>();
    for (int i = 1; i <= o.nodes(); i++) {
      starts.put("n" + i, 0L);
    }
    for (NodeEvents.Start s : events.starts) {
      starts.merge(s.node(), 1L, Long::sum);
    }
    for (Map.Entry<String, Long> e : starts.entrySet()) {
      floor(values, below, "starts recorded by " + e.getKey(), e.getValue(), startsPerNode);
    }
    if (o.workloads().contains(RunOptions.Workload.FENCED)) {
      floor(values, below, "committed fenced rows", rows.size(), committedRows);
      long acknowledged =
          events.ops.stream()
              .filter(op -> op.type().equals("ok") && op.commitSeq() != null)
              .count();
      floor(values, below, "acknowledged fenced writes", acknowledged, acknowledgedWrites);
    }
    if (o.workloads().contains(RunOptions.Workload.KV)) {
      floor(
          values,
          below,
          "successful KV operations",
          kv.operations().stream().filter(Operation::isOk).count(),
          kvOk);
    }
    if (o.workloads().contains(RunOptions.Workload.DNS)) {
      floor(
          values,
          below,
          "DNS readings of the fence record",
          dns.stream().filter(d -> d.error() == null && d.token() > 0).count(),
          dnsFenceReadings);
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("recorded", values);
    details.put("below", below);
    return new Outcome(
        NAME,
        "the run recorded at least what a healthy run always does (activations, active samples,"
            + " each node's start, committed and acknowledged fenced writes, successful KV"
            + " operations, DNS readings of the fence), so its checkers had something to judge",
        below.isEmpty() ? Validity.VALID : Validity.UNKNOWN,
        below.isEmpty()
            ? "every floor cleared: " + values
            : below.size() + " floor(s) not reached: " + String.join("; ", below),
        details);
  }

  private static void floor(
      Map<String, Object> values, List<String> below, String what, long value, int threshold) {
    values.put(what, value);
    if (value < threshold) {
      below.add(what + " " + value + " < floor " + threshold);
    }
  }
}
