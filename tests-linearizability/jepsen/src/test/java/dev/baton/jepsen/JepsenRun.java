package dev.baton.jepsen;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryRecorder;
import dev.baton.lincheck.Operation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of the suite: start the cluster, run the workloads while the nemesis injects faults,
 * heal, let the cluster recover, stop, collect what every node recorded, check, and write the
 * report.
 */
final class JepsenRun {
  private static final Logger LOG = LoggerFactory.getLogger(JepsenRun.class);

  /** After the last fault the workloads go on this long, so recovery is in the history. */
  static final Duration RECOVERY = Duration.ofSeconds(6);

  /** How long the supervisor waits before it starts a node app that exited by itself. */
  static final Duration SUPERVISOR_RESTART_DELAY = Duration.ofSeconds(1);

  private JepsenRun() {}

  static Path outputRoot() {
    return Path.of(System.getProperty("jepsen.output", "target/jepsen"));
  }

  static RunResult run(RunOptions o) throws Exception {
    String image = DockerEnvironment.nodeImage();
    Path dir = outputRoot().resolve(o.name()).toAbsolutePath();
    deleteRecursively(dir);
    Files.createDirectories(dir);
    LOG.info(
        "run {}: {} nodes, {} s, nemeses {}, workloads {}, seed {}, unsafe {}",
        o.name(),
        o.nodes(),
        o.timeLimit().toSeconds(),
        o.nemeses(),
        o.workloads(),
        o.seed(),
        o.unsafe());
    long origin = System.nanoTime();
    HistoryRecorder kvRecorder = new HistoryRecorder();
    List<Nemesis.Event> schedule;
    List<DnsWatcher.Observation> dnsObservations = List.of();
    List<Checks.Row> rows = new ArrayList<>();
    Map<String, String> addresses = new LinkedHashMap<>();
    Outcome progress;
    long end;
    // Before the cluster and the clock of the run start: see Nemesis(Cluster, RunOptions, Map).
    Map<String, dev.baton.core.TlsConfig> outsiderCertificates =
        o.nemeses().contains(NemesisKind.OUTSIDER)
            ? Nemesis.forgedCertificates(dir.resolve("outsider"), o.nodes())
            : Map.of();
    outsiderCertificates.values().stream().findFirst().ifPresent(Nemesis::warmUpOutsider);
    try (Cluster cluster = Cluster.start(o, dir, image)) {
      for (Cluster.Node n : cluster.nodes()) {
        addresses.put(n.id(), n.ip());
      }
      long started = System.nanoTime();
      LOG.info("run {}: cluster up in {} ms", o.name(), (started - origin) / 1_000_000);
      KvWorkload kv = null;
      DnsWatcher dns = null;
      if (o.workloads().contains(RunOptions.Workload.KV)) {
        kv = new KvWorkload(cluster.controlEndpoints(), kvRecorder, 3, 4, o.seed());
        kv.start();
      }
      if (o.workloads().contains(RunOptions.Workload.DNS)) {
        dns = new DnsWatcher(cluster.dnsIp(), Cluster.DNS_ZONE);
        dns.start();
      }
      Nemesis nemesis = new Nemesis(cluster, o, outsiderCertificates);
      // The harness as the nodes' supervisor: a node app that exits by itself (status 3, its node
      // stopped itself) is started again after a short delay, as systemd or Kubernetes would, and
      // the self-stop is in the schedule (see Supervisor, Checks#selfStops).
      Supervisor supervisor =
          new Supervisor(
                  cluster.supervised(),
                  SUPERVISOR_RESTART_DELAY,
                  Duration.ofMillis(250),
                  nemesis::recordSupervisor)
              .start();
      try {
        long deadline = started + o.timeLimit().toNanos() - RECOVERY.toNanos();
        try {
          nemesis.run(deadline);
        } finally {
          nemesis.healAll();
        }
        long healed = System.nanoTime();
        progress = progressAfterHeal(cluster);
        // The nemesis may run past its deadline to start a configured kind that had not been tried
        // (see Nemesis#run): the workloads still get their recovery time after the last heal.
        long until = Math.max(started + o.timeLimit().toNanos(), healed + RECOVERY.toNanos());
        while (System.nanoTime() < until) {
          LockSupport.parkNanos(until - System.nanoTime()); // the workloads' remaining run time
        }
        if (kv != null) {
          kv.close();
        }
        if (dns != null) {
          dns.close();
          dnsObservations = dns.observations();
        }
        end = System.nanoTime();
      } finally {
        supervisor.close(); // before the nodes are stopped on purpose
      }
      schedule = nemesis.schedule();
      cluster.stopNodes();
      rows = readRows(cluster);
      cluster.saveLogs();
    }
    NodeEvents events = readEvents(o, dir);
    History kvHistory = kvRecorder.history();
    History fencedHistory = events.fencedHistory();
    List<Outcome> outcomes =
        check(o, kvHistory, events, rows, dnsObservations, addresses, schedule, progress);

    Map<String, Object> stats = stats(kvHistory, events, rows, dnsObservations, schedule);
    RunResult result =
        new RunResult(o, dir, outcomes, stats, schedule, (System.nanoTime() - origin) / 1e9);
    RunReport.writeHistories(dir, kvHistory, fencedHistory, schedule);
    RunReport.writeResults(result, origin);
    List<Checks.Row> stale = staleRows(rows);
    Map<String, Long> rowTimes = new LinkedHashMap<>();
    for (NodeEvents.Op op : events.ops) {
      if (op.type().equals("invoke") && op.value() instanceof List<?> l && l.size() == 2) {
        rowTimes.put(String.valueOf(l.get(1)), op.time());
      }
    }
    List<NodeEvents.Op> refusals =
        events.ops.stream().filter(op -> "rejected".equals(op.value())).toList();
    RunReport.writeTimeline(
        result, origin, end, events.activations, dnsObservations, stale, rowTimes, refusals);
    LOG.info("{}", result.describe());
    return result;
  }

  /** What every node recorded: {@code containers/<node>/events.jsonl} under the run's directory. */
  static NodeEvents readEvents(RunOptions o, Path dir) throws IOException {
    Map<String, Path> files = new LinkedHashMap<>();
    for (int i = 1; i <= o.nodes(); i++) {
      files.put("n" + i, dir.resolve("containers/n" + i + "/events.jsonl"));
    }
    return NodeEvents.read(files);
  }

  /**
   * The checks of one run on what it recorded: the KV clients' history, what the nodes recorded,
   * the fenced-writes table read after the run, the DNS readings and the fault schedule. Separate
   * from {@link #run} so that what a broken recorder leaves behind can be checked without Docker.
   */
  static List<Outcome> check(
      RunOptions o,
      History kvHistory,
      NodeEvents events,
      List<Checks.Row> rows,
      List<DnsWatcher.Observation> dnsObservations,
      Map<String, String> addresses,
      List<Nemesis.Event> schedule,
      Outcome progress) {
    History fencedHistory = events.fencedHistory();
    List<Outcome> outcomes = new ArrayList<>();
    outcomes.add(Checks.oneBeliever(events.activations));
    outcomes.add(Checks.tokensGrow(events.activations, events.advancedTokens()));
    if (!o.unsafe()) {
      outcomes.add(Checks.promotionJournaled(events.journal, events.activations));
    }
    if (o.workloads().contains(RunOptions.Workload.FENCED)) {
      outcomes.add(Checks.fencedCommitOrder(rows));
      outcomes.add(Checks.fencedDurable(events.ops, rows));
      CheckResult fr = Checks.checkFenced(fencedHistory);
      outcomes.add(
          Checks.linearizable(
              "fenced-register-linearizable",
              "the nodes' fenced writes and fence advances, as they saw them, are linearizable as a"
                  + " fenced register: a write is accepted only with a token at least the last"
                  + " accepted one, and refused only when its token is stale",
              fencedHistory,
              "fenced-register",
              fr));
    }
    if (o.workloads().contains(RunOptions.Workload.KV)) {
      CheckResult kr = Checks.checkKv(kvHistory);
      outcomes.add(
          Checks.linearizable(
              "kv-linearizable",
              "the KV compare-and-set registers, read, written and cas'ed through the gRPC client"
                  + " under faults, are linearizable",
              kvHistory,
              "cas-register",
              kr));
    }
    if (o.workloads().contains(RunOptions.Workload.DNS)) {
      outcomes.add(Checks.dnsForward(dnsObservations, events.advancedTokens(), addresses));
    }
    if (o.nemeses().contains(NemesisKind.OUTSIDER)) {
      outcomes.add(Checks.outsiderRefused(schedule, events.refusals));
    }
    // A fault's own check is present whenever the fault is configured: if the fault never
    // happened, the check is UNKNOWN and says why, rather than missing from the report.
    if (o.nemeses().contains(NemesisKind.PG_PAUSED_TXN)) {
      outcomes.add(Checks.heldTransactionFenced(schedule, rows));
    }
    if (o.nemeses().contains(NemesisKind.REGION_CUT)) {
      outcomes.add(Checks.regionCutFenced(schedule));
    }
    if (o.nemeses().contains(NemesisKind.WIPE)) {
      outcomes.add(Checks.wipedNodeRefused(schedule));
    }
    if (o.nemeses().contains(NemesisKind.HEALTH)) {
      outcomes.add(Checks.healthMoved(schedule, events.activations));
      outcomes.add(
          Checks.healthMovesSpaced(
              events.roles, dev.baton.jepsen.node.MarkerHealthCheck.POLICY.minMoveInterval()));
    }
    outcomes.add(Checks.faultsHappened(o.nemeses(), schedule));
    outcomes.add(Checks.selfStops(schedule));
    outcomes.add(Floors.DEFAULTS.check(o, events, kvHistory, rows, dnsObservations));
    outcomes.add(progress);
    return outcomes;
  }

  /**
   * Not a safety property, but a suite in which nothing ever happens proves nothing: after the last
   * fault is healed, some node must be active again (I4) within a generous bound.
   */
  private static Outcome progressAfterHeal(Cluster cluster) {
    long t = System.nanoTime();
    Map<String, Object> details = new LinkedHashMap<>();
    try {
      Cluster.Node n = cluster.awaitActive(Duration.ofSeconds(30));
      long ms = (System.nanoTime() - t) / 1_000_000;
      details.put("active", n.id());
      details.put("millisAfterHeal", ms);
      return new Outcome(
          "I4-active-after-heal",
          "once every fault is healed, a node is active again within 30 s",
          Checks.Validity.VALID,
          n.id() + " active " + ms + " ms after the last heal",
          details);
    } catch (ConditionTimeoutException e) {
      return new Outcome(
          "I4-active-after-heal",
          "once every fault is healed, a node is active again within 30 s",
          Checks.Validity.INVALID,
          "no node reported itself active within 30 s of the last heal",
          details);
    }
  }

  private static List<Checks.Row> readRows(Cluster cluster) throws Exception {
    Cluster.awaitPgAcceptsWrites(cluster.primary(), Duration.ofSeconds(60));
    List<Checks.Row> rows = new ArrayList<>();
    try (Connection c = Cluster.connect(cluster.primary());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT commit_seq, token, node, value FROM jepsen.writes ORDER BY commit_seq")) {
      while (rs.next()) {
        rows.add(new Checks.Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
      }
    }
    return rows;
  }

  private static List<Checks.Row> staleRows(List<Checks.Row> rows) {
    List<Checks.Row> out = new ArrayList<>();
    long max = Long.MIN_VALUE;
    for (Checks.Row r : rows) {
      if (r.token() < max) {
        out.add(r);
      }
      max = Math.max(max, r.token());
    }
    return out;
  }

  private static Map<String, Object> stats(
      History kv,
      NodeEvents events,
      List<Checks.Row> rows,
      List<DnsWatcher.Observation> dns,
      List<Nemesis.Event> schedule) {
    Map<String, Object> s = new LinkedHashMap<>();
    List<Operation> kvOps = kv.operations();
    s.put("kvOperations", kvOps.size());
    s.put("kvOk", kvOps.stream().filter(Operation::isOk).count());
    s.put("kvUnknown", kvOps.stream().filter(Operation::isUnknown).count());
    long writes = events.ops.stream().filter(op -> op.type().equals("invoke")).count();
    s.put("fencedOperations", writes);
    s.put("committedRows", rows.size());
    s.put(
        "refusedByFence", events.ops.stream().filter(op -> "rejected".equals(op.value())).count());
    s.put("activations", events.activations.size());
    s.put("nodeStarts", events.starts.size());
    s.put("samples", events.activations.stream().mapToLong(Activation::samples).sum());
    s.put("dnsReadings", dns.size());
    s.put(
        "dnsReadingsWithFence",
        dns.stream().filter(d -> d.error() == null && d.token() > 0).count());
    s.put(
        "fencedAcknowledged",
        events.ops.stream().filter(op -> op.type().equals("ok") && op.commitSeq() != null).count());
    Map<String, Long> faults = new LinkedHashMap<>();
    for (Nemesis.Event e : schedule) {
      if (e.phase().equals("start") && e.kind() != null) {
        faults.merge(e.kind().wireName(), 1L, Long::sum);
      }
    }
    s.put("faults", faults);
    s.put(
        "selfStops", schedule.stream().filter(e -> e.phase().equals(Supervisor.SELF_STOP)).count());
    List<Long> failovers =
        RunReport.failovers(events.activations).stream()
            .map(f -> (f[1] - f[0]) / 1_000_000)
            .toList();
    s.put("failoverMillis", failovers);
    s.put("unreadableEventLines", events.unreadableLines);
    return s;
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
