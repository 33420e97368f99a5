package dev.baton.jepsen;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One run's settings: cluster size, how long the workloads run, which nemeses and workloads, the
 * random seed (the schedule is reproducible from it), and the test-only switches.
 *
 * @param name the run's name (its output directory)
 * @param nodes number of Baton nodes (all voters)
 * @param timeLimit how long the workloads run, nemeses included
 * @param nemeses the faults to inject
 * @param workloads the workloads to run (the I1 and I2 checks need only the node samples and run
 *     always)
 * @param seed seeds the schedule and the clients' choices
 * @param unsafe the self-test: the nodes ignore their lease and write without the fence
 * @param clockRates per node, the rate of its lease clock from the start (1.0 = true time); the
 *     clock nemesis changes them during the run
 * @param faultDuration how long one fault lasts (min and max)
 * @param quietDuration the quiet between faults (min and max)
 */
public record RunOptions(
    String name,
    int nodes,
    Duration timeLimit,
    Set<NemesisKind> nemeses,
    Set<Workload> workloads,
    long seed,
    boolean unsafe,
    List<Double> clockRates,
    Duration[] faultDuration,
    Duration[] quietDuration) {

  /** The workloads (a)–(e) of the suite. */
  public enum Workload {
    /** (a) compare-and-set registers in the KV through the gRPC client; linearizability. */
    KV,
    /** (b) fenced writes to PostgreSQL by the active node; I3 and the fenced-register model. */
    FENCED,
    /** (e) the DNS fence record only moves forward. */
    DNS;

    static Set<Workload> parse(String csv) {
      Set<Workload> out = EnumSet.noneOf(Workload.class);
      for (String s : csv.split(",")) {
        if (!s.isBlank()) {
          out.add(Workload.valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
        }
      }
      return out;
    }
  }

  public RunOptions {
    if (nodes < 3) {
      throw new IllegalArgumentException("a run needs at least 3 nodes, got " + nodes);
    }
    if (clockRates == null || clockRates.isEmpty()) {
      List<Double> ones = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        ones.add(1.0);
      }
      clockRates = List.copyOf(ones);
    }
    if (clockRates.size() != nodes) {
      throw new IllegalArgumentException(
          "clockRates has " + clockRates.size() + " entries for " + nodes + " nodes");
    }
    nemeses = nemeses.isEmpty() ? EnumSet.noneOf(NemesisKind.class) : EnumSet.copyOf(nemeses);
    workloads = workloads.isEmpty() ? EnumSet.noneOf(Workload.class) : EnumSet.copyOf(workloads);
  }

  /** Defaults: 3 nodes, 40 s, faults of 2–5 s separated by 3–5 s of quiet. */
  public static RunOptions of(String name, Set<NemesisKind> nemeses, Set<Workload> workloads) {
    return new RunOptions(
        name,
        3,
        Duration.ofSeconds(40),
        nemeses,
        workloads,
        System.nanoTime(),
        false,
        List.of(),
        new Duration[] {Duration.ofSeconds(2), Duration.ofSeconds(5)},
        new Duration[] {Duration.ofSeconds(3), Duration.ofSeconds(5)});
  }

  public RunOptions withTimeLimit(Duration d) {
    return new RunOptions(
        name, nodes, d, nemeses, workloads, seed, unsafe, clockRates, faultDuration, quietDuration);
  }

  public RunOptions withSeed(long s) {
    return new RunOptions(
        name,
        nodes,
        timeLimit,
        nemeses,
        workloads,
        s,
        unsafe,
        clockRates,
        faultDuration,
        quietDuration);
  }

  public RunOptions withUnsafe(boolean u) {
    return new RunOptions(
        name,
        nodes,
        timeLimit,
        nemeses,
        workloads,
        seed,
        u,
        clockRates,
        faultDuration,
        quietDuration);
  }

  public RunOptions withNodes(int n) {
    return new RunOptions(
        name,
        n,
        timeLimit,
        nemeses,
        workloads,
        seed,
        unsafe,
        List.of(),
        faultDuration,
        quietDuration);
  }

  public RunOptions withClockRates(List<Double> rates) {
    return new RunOptions(
        name,
        nodes,
        timeLimit,
        nemeses,
        workloads,
        seed,
        unsafe,
        rates,
        faultDuration,
        quietDuration);
  }

  public RunOptions withFaults(Duration min, Duration max, Duration quietMin, Duration quietMax) {
    return new RunOptions(
        name,
        nodes,
        timeLimit,
        nemeses,
        workloads,
        seed,
        unsafe,
        clockRates,
        new Duration[] {min, max},
        new Duration[] {quietMin, quietMax});
  }

  public RunOptions withName(String n) {
    return new RunOptions(
        n,
        nodes,
        timeLimit,
        nemeses,
        workloads,
        seed,
        unsafe,
        clockRates,
        faultDuration,
        quietDuration);
  }
}
