package dev.baton.jepsen;

import dev.baton.jepsen.Cluster.Node;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Injects faults one at a time, on a random schedule drawn from the run's seed, and records every
 * start and end: {@code [quiet] fault [quiet] fault ...} until the deadline, then heals everything.
 *
 * <p>The waits here are the faults themselves (how long a partition or a pause lasts), not waits
 * for a state, so they are plain parks of the chosen length.
 */
final class Nemesis {
  private static final Logger LOG = LoggerFactory.getLogger(Nemesis.class);
  static final double[] CLOCK_RATES = {0.92, 0.95, 1.05, 1.08};

  /** One entry of the schedule: a fault starts or ends. */
  record Event(long time, NemesisKind kind, String phase, String detail) {
    /**
     * Who recorded it: the fault kind's name; {@code supervisor} for the {@link Supervisor}'s
     * self-stops and restarts; {@code heal} for the final heal.
     */
    String source() {
      if (kind != null) {
        return kind.wireName();
      }
      return phase.equals(Supervisor.SELF_STOP) || phase.equals(Supervisor.RESTARTED)
          ? "supervisor"
          : "heal";
    }
  }

  private final Cluster cluster;
  private final RunOptions options;
  private final Random random;
  private final Map<String, dev.baton.core.TlsConfig> outsiderCertificates;
  private final List<Event> schedule = Collections.synchronizedList(new ArrayList<>());
  private final List<Runnable> undo = new ArrayList<>();

  Nemesis(Cluster cluster, RunOptions options) {
    this(cluster, options, Map.of());
  }

  /**
   * @param outsiderCertificates the outsider's self-made certificates, one naming each node, made
   *     before the run ({@link #forgedCertificates}): making them during a probe (key generation,
   *     loading the security provider on a loaded machine) took seconds out of a short run
   */
  Nemesis(
      Cluster cluster,
      RunOptions options,
      Map<String, dev.baton.core.TlsConfig> outsiderCertificates) {
    this.cluster = cluster;
    this.options = options;
    this.random = new Random(options.seed() ^ 0x5DEECE66DL);
    this.outsiderCertificates = Map.copyOf(outsiderCertificates);
  }

  /**
   * Certificates of a CA of the outsider's own making, one naming each of {@code n1..nN}, under
   * {@code dir}.
   */
  static Map<String, dev.baton.core.TlsConfig> forgedCertificates(Path dir, int nodes) {
    dev.baton.testing.tls.TestCertificates forger =
        dev.baton.testing.tls.TestCertificates.authority(dir, "forger-ca");
    Map<String, dev.baton.core.TlsConfig> out = new LinkedHashMap<>();
    for (int i = 1; i <= nodes; i++) {
      out.put("n" + i, forger.issue("n" + i));
    }
    return out;
  }

  List<Event> schedule() {
    return List.copyOf(schedule);
  }

  /**
   * Runs faults until {@code deadline} (System.nanoTime), then heals.
   *
   * <p>Every configured kind comes first: while some kind has not happened yet (no {@code start} in
   * the schedule), the next fault is the next such kind in the rotation (which starts at a kind
   * drawn from the seed), so a short run does not spend its time on repeats while a configured kind
   * waits its turn. A kind that has never been tried is started even when too little time is left
   * before the deadline (the run then lasts longer than its time limit: {@link JepsenRun} gives the
   * workloads their recovery time after the last heal): otherwise a configured kind would silently
   * not happen. A kind that was tried and skipped (its precondition did not hold, e.g. no node held
   * a transaction) is tried again at its next turn, but only before the deadline. Once every kind
   * has happened, the rotation goes on over all kinds until the deadline. Whatever did not happen
   * is reported by {@link Checks#faultsHappened}, which makes the run UNKNOWN.
   *
   * <p>An exception inside a fault or its heal is recorded as an {@code error} event (the run is
   * then UNKNOWN, with the error's message, see {@link Checks#faultsHappened}) and the schedule
   * goes on, so that the run still ends with its report and its other checks.
   */
  void run(long deadline) {
    List<NemesisKind> kinds = new ArrayList<>(options.nemeses());
    if (kinds.isEmpty()) {
      return;
    }
    Collections.sort(kinds);
    Set<NemesisKind> tried = EnumSet.noneOf(NemesisKind.class);
    int next = random.nextInt(kinds.size());
    park(between(options.quietDuration()));
    while (true) {
      boolean beforeDeadline = System.nanoTime() < deadline;
      NemesisKind kind = nextKind(kinds, next, settled(), tried, beforeDeadline);
      if (kind == null) {
        break;
      }
      next = kinds.indexOf(kind) + 1;
      long hold = between(options.faultDuration());
      if (kind == NemesisKind.PG_PAUSED_TXN) {
        // A successor must have advanced the fence (terminating the orphaned session after its
        // one-second grace) before the paused node wakes up.
        hold = Math.max(hold, TimeUnit.MILLISECONDS.toNanos(2000));
      } else if (kind == NemesisKind.PAUSE) {
        // Longer than the lease, and often longer than a failover, so that a successor exists
        // when the paused node wakes up.
        hold = Math.max(hold, TimeUnit.MILLISECONDS.toNanos(1500));
      } else if (kind == NemesisKind.REGION_CUT) {
        // The successor is already active when the fault's hold begins (the nemesis waits for it):
        // a short hold gives the stale writer attempts after the old lease's end.
        hold = TimeUnit.MILLISECONDS.toNanos(1000);
      } else if (kind == NemesisKind.OUTSIDER) {
        hold = 0; // the probe's four attempts are the fault; nothing to hold afterwards
      }
      long left = deadline - System.nanoTime();
      if (tried.contains(kind) && left < hold + TimeUnit.MILLISECONDS.toNanos(500)) {
        break;
      }
      if (!tried.contains(kind) && left < hold + TimeUnit.MILLISECONDS.toNanos(500)) {
        LOG.info(
            "nemesis {}: configured and not yet tried, started although the deadline is near",
            kind.wireName());
      }
      tried.add(kind);
      try {
        begin(kind);
        park(hold);
      } catch (RuntimeException e) {
        LOG.warn("nemesis {} failed: {}", kind, e.toString());
        record(kind, "error", e.toString());
      } finally {
        try {
          end(kind);
        } catch (RuntimeException e) {
          LOG.warn("nemesis {} heal failed: {}", kind, e.toString()); // recorded by end()
        } finally {
          cluster.releaseAll();
        }
      }
      park(between(options.quietDuration()));
    }
  }

  /**
   * The next fault, from position {@code next} of the rotation: the first kind never tried; else,
   * before the deadline, the first kind tried but not yet {@code settled} (it was skipped); else,
   * before the deadline, the kind at {@code next}; else none ({@code null}: the schedule is over).
   * A kind is settled when it happened or its nemesis failed with an error.
   */
  static NemesisKind nextKind(
      List<NemesisKind> kinds,
      int next,
      Set<NemesisKind> settled,
      Set<NemesisKind> tried,
      boolean beforeDeadline) {
    for (int i = 0; i < kinds.size(); i++) {
      NemesisKind k = kinds.get((next + i) % kinds.size());
      if (!settled.contains(k) && !tried.contains(k)) {
        return k;
      }
    }
    if (!beforeDeadline) {
      return null;
    }
    for (int i = 0; i < kinds.size(); i++) {
      NemesisKind k = kinds.get((next + i) % kinds.size());
      if (!settled.contains(k)) {
        return k;
      }
    }
    return kinds.get(next % kinds.size());
  }

  /** The kinds that have a {@code start} or an {@code error} in the schedule. */
  private Set<NemesisKind> settled() {
    Set<NemesisKind> out = EnumSet.noneOf(NemesisKind.class);
    synchronized (schedule) {
      for (Event e : schedule) {
        if (e.kind() != null && (e.phase().equals("start") || e.phase().equals("error"))) {
          out.add(e.kind());
        }
      }
    }
    return out;
  }

  private void begin(NemesisKind kind) {
    List<Node> nodes = new ArrayList<>(cluster.nodes());
    switch (kind) {
      case PARTITION_HALVES -> {
        Collections.shuffle(nodes, random);
        int half = nodes.size() / 2;
        cut(kind, nodes.subList(0, half), nodes.subList(half, nodes.size()), null);
      }
      case PARTITION_ISOLATE_ACTIVE -> {
        Node active = activeOrRandom(nodes);
        List<Node> rest = new ArrayList<>(nodes);
        rest.remove(active);
        cut(kind, List.of(active), rest, null);
      }
      case PARTITION_LEADER_AFTER_READ -> {
        Node leader = activeOrRandom(nodes);
        List<Node> rest = new ArrayList<>(nodes);
        rest.remove(leader);
        String read;
        try (dev.baton.core.control.BatonClient c =
            dev.baton.core.control.BatonClient.builder()
                .endpoints(leader.controlEndpoint())
                .callTimeout(Duration.ofSeconds(2))
                .build()) {
          read = "read " + c.get("jepsen/read-probe").map(e -> "rev " + e.revision()).orElse("nil");
        } catch (RuntimeException e) {
          read = "read failed: " + e.getMessage();
        }
        cut(kind, List.of(leader), rest, "right after a read through it: " + read);
      }
      case PARTITION_BRIDGE -> bridge(kind, nodes);
      case PARTITION_MAJORITY_RING -> {
        if (nodes.size() < 5) {
          bridge(kind, nodes);
        } else {
          ring(kind, nodes);
        }
      }
      case KILL -> {
        int mode = random.nextInt(10);
        List<Node> targets;
        String which;
        if (mode < 5) {
          targets = List.of(nodes.get(random.nextInt(nodes.size())));
          which = "random node";
        } else if (mode < 8) {
          targets = List.of(activeOrRandom(nodes));
          which = "the active";
        } else {
          targets = nodes;
          which = "all nodes";
        }
        for (Node n : targets) {
          cluster.hold(n);
          cluster.killIfRunning(n.container());
        }
        record(kind, "start", "SIGKILL " + which + ": " + ids(targets));
        undo.add(
            () -> {
              for (Node n : targets) {
                cluster.restart(n);
              }
              record(kind, "end", "restarted " + ids(targets));
            });
      }
      case PAUSE -> {
        Node target = activeOrRandom(nodes);
        cluster.kill(target.container(), "STOP");
        record(kind, "start", "SIGSTOP " + target.id());
        undo.add(
            () -> {
              cluster.kill(target.container(), "CONT");
              record(kind, "end", "SIGCONT " + target.id());
            });
      }
      case CLOCK -> {
        Node target = nodes.get(random.nextInt(nodes.size()));
        double rate = CLOCK_RATES[random.nextInt(CLOCK_RATES.length)];
        double baseline = options.clockRates().get(target.index());
        restartWithRate(target, rate);
        record(kind, "start", target.id() + " restarted with lease clock rate " + rate);
        undo.add(
            () -> {
              restartWithRate(target, baseline);
              record(kind, "end", target.id() + " restarted with lease clock rate " + baseline);
            });
      }
      case PG_KILL -> {
        String name = cluster.primary().name();
        cluster.killPrimary();
        record(kind, "start", "SIGKILL PostgreSQL primary " + name);
        undo.add(
            () -> {
              try {
                record(kind, "promote", "promoting standby " + cluster.standby().name());
                cluster.failOverPostgres(Duration.ofSeconds(60));
                record(
                    kind,
                    "end",
                    cluster.primary().name() + " is primary; " + name + " rejoined as its standby");
              } catch (Exception e) {
                throw new IllegalStateException("PostgreSQL fail-over: " + e, e);
              }
            });
      }
      case SWITCH_ACTIVE -> switchActive(kind, nodes);
      case OUTSIDER -> outsider(kind, nodes);
      case MEMBERSHIP -> {
        Node target = standbyOrRandom(nodes);
        cluster.hold(target);
        record(kind, "start", "remove " + target.id());
        try (dev.baton.core.control.BatonClient client = client()) {
          moveRoleOff(kind, client, target, nodes);
          removeUntilGone(kind, client, target);
          record(kind, "removed", target.id());
          // A removed node may already have stopped itself (and exited): see Supervisor.
          cluster.killIfRunning(target.container());
          cluster.ensureStopped(target.container());
          cluster.wipeData(target);
          readd(kind, client, target);
        }
      }
      case WIPE -> {
        Node target = standbyOrRandom(nodes);
        cluster.hold(target);
        cluster.killIfRunning(target.container());
        cluster.ensureStopped(target.container());
        cluster.wipeData(target);
        cluster.restart(target);
        record(kind, "start", "SIGKILL " + target.id() + ", data directory wiped, restarted as is");
        undo.add(
            () -> {
              // The node must refuse its empty data directory and exit; give its JVM time to get
              // that far (bounded), then record what it did.
              boolean up;
              try {
                org.awaitility.Awaitility.await(target.id() + " exits on its empty data directory")
                    .atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !cluster.isRunning(target.container()));
                up = false;
              } catch (org.awaitility.core.ConditionTimeoutException e) {
                up = true;
              }
              record(
                  kind,
                  up ? "RUNNING" : "refused",
                  target.id() + (up ? " is running after the wipe" : " refused to start: stopped"));
              try (dev.baton.core.control.BatonClient client = client()) {
                moveRoleOff(kind, client, target, nodes);
                removeUntilGone(kind, client, target);
                cluster.killIfRunning(target.container());
                cluster.ensureStopped(target.container());
                cluster.wipeData(target);
                readd(kind, client, target);
              }
            });
      }
      case PG_PAUSED_TXN -> pausedTransaction(kind);
      case REGION_CUT -> regionCut(kind, nodes);
      case HEALTH -> health(kind, nodes);
      case DNS_PAUSE -> {
        cluster.kill(cluster.dnsContainer(), "STOP");
        Node active = activeOrRandom(nodes);
        List<Node> rest = new ArrayList<>(nodes);
        rest.remove(active);
        record(
            kind, "start", "SIGSTOP named; " + active.id() + " isolated so a failover needs DNS");
        cut(null, List.of(active), rest, null);
        undo.add(
            () -> {
              cluster.kill(cluster.dnsContainer(), "CONT");
              record(kind, "end", "SIGCONT named; healed");
            });
      }
    }
  }

  private void end(NemesisKind kind) {
    RuntimeException failure = null;
    for (Runnable r : undo) {
      try {
        r.run();
      } catch (RuntimeException e) {
        failure = e;
      }
    }
    undo.clear();
    if (failure != null) {
      record(kind, "error", failure.toString());
      throw failure;
    }
  }

  /** Heals whatever a fault left (called at the end of the run and on errors). */
  void healAll() {
    try {
      end(null);
    } catch (RuntimeException e) {
      LOG.warn("healing: {}", e.toString());
    } finally {
      cluster.releaseAll();
    }
  }

  /**
   * Switch-active under faults. The call returns once the target is active with its plan done, or
   * fails; either outcome is recorded, and the checkers judge what the nodes did meanwhile.
   */
  private void switchActive(NemesisKind kind, List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    List<Node> standbys = new ArrayList<>(nodes);
    active.ifPresent(standbys::remove);
    Node target = standbys.get(random.nextInt(standbys.size()));
    int mode = random.nextInt(3);
    String how;
    if (mode == 1 && nodes.size() >= 3) {
      List<Node> others = new ArrayList<>(nodes);
      others.remove(target);
      active.ifPresent(others::remove);
      Node third = others.get(0);
      List<Node> rest = new ArrayList<>(nodes);
      rest.remove(third);
      cut(null, List.of(third), rest, null);
      how = "with " + third.id() + " cut off";
    } else if (mode == 2) {
      how = "with " + target.id() + " paused 200 ms after the request";
    } else {
      how = "plain";
    }
    record(kind, "start", "switch-active to " + target.id() + " (" + how + ")");
    Thread call =
        new Thread(
            () -> {
              try (dev.baton.core.control.BatonClient client =
                  dev.baton.core.control.BatonClient.builder()
                      .endpoints(cluster.controlEndpoints())
                      .build()) {
                long token = client.switchActive(target.id(), Duration.ofSeconds(10));
                record(kind, "ok", target.id() + " active with token " + token);
              } catch (RuntimeException e) {
                record(kind, "fail", target.id() + ": " + e.getMessage());
              }
            },
            "nemesis-switch");
    call.start();
    if (mode == 2) {
      park(TimeUnit.MILLISECONDS.toNanos(200));
      cluster.kill(target.container(), "STOP");
      undo.add(() -> cluster.kill(target.container(), "CONT"));
    }
    undo.add(
        () -> {
          try {
            call.join(15_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          record(kind, "end", "switch to " + target.id() + " done");
        });
  }

  /**
   * Health gating under the three cases of issue 31, in one fault, each through the node's marker
   * file ({@code unhealthy} in its directory, see {@code node.MarkerHealthCheck}):
   *
   * <ol>
   *   <li>the active turns unhealthy ({@code start}, naming it); the harness waits, bounded by
   *       {@link Checks#HEALTH_MOVE_BOUND}, until another node reports itself active ({@code
   *       moved}, or {@code no-move}): {@link Checks#healthMoved} judges it from the nodes' own
   *       samples;
   *   <li>every node unhealthy at once ({@code all}) for 2 s: the active must stay, with no
   *       flapping storm (what the harness sees then is recorded as {@code all-active});
   *   <li>every node healthy again but the active's marker toggled until the fault ends ({@code
   *       flap}), each unhealthy phase on the node active at its start: in place for {@code
   *       MarkerHealthCheck.flapUnhealthyFor()}, away for {@code flapHealthyFor()}, each one probe
   *       interval longer than the policy's {@code failuresToDemote} and {@code successesToRecover}
   *       probes, so the check goes down, recovers and goes down again, and the gate's {@code
   *       minMoveInterval} is what holds the role.
   * </ol>
   *
   * The heal ({@code end}) stops the flapping and removes every node's marker.
   */
  private void health(NemesisKind kind, List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    if (active.isEmpty()) {
      record(kind, "skipped", "no node is active");
      return;
    }
    Node target = active.get();
    java.util.concurrent.atomic.AtomicBoolean flapping =
        new java.util.concurrent.atomic.AtomicBoolean(false);
    Thread[] flapper = new Thread[1];
    undo.add(
        () -> {
          flapping.set(false);
          if (flapper[0] != null) {
            try {
              flapper[0].join(5_000);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          for (Node n : nodes) {
            deleteQuietly(n.dir().resolve(HEALTH_MARKER));
          }
          record(kind, "end", "every node healthy (markers removed)");
        });
    mark(target);
    record(kind, "start", "active " + target.id() + " unhealthy");
    try {
      Node next =
          org.awaitility.Awaitility.await("the role moves off the unhealthy " + target.id())
              .atMost(Checks.HEALTH_MOVE_BOUND)
              .pollInterval(Duration.ofMillis(100))
              .until(
                  () -> cluster.activeNode().filter(n -> n != target).orElse(null),
                  java.util.Objects::nonNull);
      record(kind, "moved", next.id() + " is active while " + target.id() + " is unhealthy");
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      record(
          kind,
          "no-move",
          "no other node reported itself active within "
              + Checks.HEALTH_MOVE_BOUND.toSeconds()
              + " s");
    }
    for (Node n : nodes) {
      mark(n);
    }
    record(kind, "all", "every node unhealthy " + ids(nodes));
    park(TimeUnit.SECONDS.toNanos(2));
    Optional<Node> stays = cluster.activeNode();
    record(
        kind,
        "all-active",
        stays.map(n -> n.id() + " is active with every node unhealthy").orElse("none active"));
    for (Node n : nodes) {
      deleteQuietly(n.dir().resolve(HEALTH_MARKER));
    }
    Node first = stays.orElse(target);
    Duration unhealthyFor = dev.baton.jepsen.node.MarkerHealthCheck.flapUnhealthyFor();
    Duration healthyFor = dev.baton.jepsen.node.MarkerHealthCheck.flapHealthyFor();
    flapping.set(true);
    // The flap follows the role: each unhealthy phase marks the node that is active then, so a
    // move for health is attempted every cycle, on whichever node holds the role, and only the
    // cluster-wide minMoveInterval (Checks.healthMovesSpaced) holds it. Marking the first node
    // only would, once it has handed over, flap a standby.
    flapper[0] =
        new Thread(
            () -> {
              Node marked = first;
              boolean on = false;
              while (flapping.get()) {
                on = !on;
                if (on) {
                  marked = cluster.activeNode().orElse(marked);
                  mark(marked);
                } else {
                  deleteQuietly(marked.dir().resolve(HEALTH_MARKER));
                }
                LockSupport.parkNanos((on ? unhealthyFor : healthyFor).toNanos());
              }
              deleteQuietly(marked.dir().resolve(HEALTH_MARKER));
            },
            "nemesis-health-flap");
    flapper[0].setDaemon(true);
    flapper[0].start();
    record(
        kind,
        "flap",
        "every node healthy but the active (first "
            + first.id()
            + "), whose health flaps: unhealthy "
            + unhealthyFor.toMillis()
            + " ms, healthy "
            + healthyFor.toMillis()
            + " ms");
  }

  /** The marker file a node's health check answers unhealthy for (see node.MarkerHealthCheck). */
  static final String HEALTH_MARKER = "unhealthy";

  private static void mark(Node n) {
    try {
      Files.writeString(n.dir().resolve(HEALTH_MARKER), "nemesis");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * The active is asked (a marker file in its directory) to hold its next fenced transaction open
   * just before commit; once it says it holds one, it is SIGSTOPped, cut off from the PostgreSQL
   * primary, and the marker removed. The harness then waits (bounded) for a successor to become
   * active, which means its fence advance went through despite the orphaned session's locks. At the
   * end the node is woken while still cut off, then healed; its commit must fail. The phases {@code
   * start} (its detail begins with the value held) and {@code successor} feed {@link
   * Checks#heldTransactionFenced}.
   */
  private void pausedTransaction(NemesisKind kind) {
    Optional<Node> active = cluster.activeNode();
    if (active.isEmpty()) {
      record(kind, "skipped", "no node is active");
      return;
    }
    Node target = active.get();
    Path marker = target.dir().resolve("hold-txn");
    Path holding = target.dir().resolve("holding");
    String held;
    try {
      Files.deleteIfExists(holding);
      Files.writeString(marker, "hold");
      held =
          org.awaitility.Awaitility.await(target.id() + " holds an open fenced transaction")
              .atMost(Duration.ofSeconds(10))
              .pollInterval(Duration.ofMillis(2))
              .until(
                  () -> Files.exists(holding) ? Files.readString(holding).trim() : "",
                  h -> !h.isEmpty());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      deleteQuietly(marker);
      record(kind, "skipped", target.id() + " held no transaction within 10 s (not writing?)");
      return;
    }
    String primary = cluster.primary().name();
    cluster.kill(target.container(), "STOP");
    cluster.cutFrom(target, cluster.primary().ip());
    deleteQuietly(marker);
    String[] valueToken = held.split(" ");
    record(
        kind,
        "start",
        valueToken[0]
            + " token "
            + valueToken[1]
            + ": SIGSTOP "
            + target.id()
            + " with that transaction open on "
            + primary
            + ", cut off from it");
    undo.add(
        () -> {
          cluster.kill(target.container(), "CONT");
          cluster.heal();
          record(kind, "end", "SIGCONT " + target.id() + " (still cut off), then healed");
        });
    try {
      Node next =
          org.awaitility.Awaitility.await("a successor of " + target.id() + " is active")
              .atMost(Duration.ofSeconds(20))
              .pollInterval(Duration.ofMillis(100))
              .until(
                  () -> cluster.activeNode().filter(n -> n != target).orElse(null),
                  java.util.Objects::nonNull);
      record(kind, "successor", next.id() + " is active while " + target.id() + " is paused");
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      record(kind, "no-successor", "no other node became active within 20 s");
    }
  }

  /**
   * The region-cut fault (issue 32): the active and the PostgreSQL primary are the lost region. The
   * active is SIGSTOPped; the active is cut off from the other nodes, the standby and the DNS
   * server, and the primary from the other nodes and the standby, while the primary stays up and a
   * {@link StaleWriter} on the harness keeps committing on it with the token its fence holds, the
   * old active's. The harness promotes the standby (as {@code pg-kill} does, without touching the
   * old primary) and waits, bounded, for a successor. The heal stops the writer, wakes the old
   * active (still cut off, with a moment to try its own writes on the old primary), then reads what
   * the old primary committed with the old token and by when ({@code old-primary}, see {@link
   * Checks#regionCutFenced}), kills it and rebuilds it as the new primary's standby.
   */
  private void regionCut(NemesisKind kind, List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    if (active.isEmpty()) {
      record(kind, "skipped", "no node is active");
      return;
    }
    Node target = active.get();
    Cluster.Pg old = cluster.primary();
    Cluster.Pg standby = cluster.standby();
    long token = cluster.tokenOf(target);
    // The writer starts before the pause, so that its attempts span the end of the old lease:
    // commits while the lease holds, then checks refused (BT007), or a check passed just before
    // the end whose commit comes after it (BT008).
    StaleWriter staleWriter = new StaleWriter(old, token);
    staleWriter.start();
    java.time.Instant stoppedAt;
    try (java.sql.Connection c = Cluster.connect(old)) {
      cluster.kill(target.container(), "STOP");
      // Read after the SIGSTOP returned: the paused node's lease ends at most one lease after it,
      // and it can no longer move its fence.
      stoppedAt = databaseClock(c);
      long fenced = fenceToken(c);
      if (token <= 0 || fenced != token) {
        // The role was moving when the harness looked (a node answered ACTIVE a moment after it
        // lost its lease, or before it advanced its fence): the old token would not be the one
        // the old primary's fence holds.
        staleWriter.stop();
        cluster.kill(target.container(), "CONT");
        record(
            kind,
            "skipped",
            "the fence on "
                + old.name()
                + " holds token "
                + fenced
                + ", not "
                + target.id()
                + "'s token "
                + token
                + " (the role was moving)");
        return;
      }
    } catch (java.sql.SQLException e) {
      staleWriter.stop();
      cluster.kill(target.container(), "CONT");
      record(kind, "skipped", "the primary " + old.name() + " did not answer: " + e.getMessage());
      return;
    }
    List<Node> rest = new ArrayList<>(nodes);
    rest.remove(target);
    boolean[] promoted = {false};
    // The heal, in order: stop the writer; wake the old active while still cut off (and give its
    // own writer a moment on the old primary); read what the old primary committed; then, once the
    // standby was promoted, kill the old primary, heal the nodes and rebuild it as the new
    // primary's standby (else only lift the cut).
    undo.add(
        () -> {
          List<StaleWriter.Attempt> attempts = staleWriter.stop();
          cluster.kill(target.container(), "CONT");
          try {
            park(TimeUnit.MILLISECONDS.toNanos(300));
            record(kind, "old-primary", oldPrimaryFacts(old, token, stoppedAt, attempts));
          } finally {
            if (promoted[0]) {
              cluster.killIfRunning(old.container());
            } else {
              cluster.uncutPg(old);
            }
            cluster.heal();
            if (promoted[0]) {
              try {
                cluster.rejoinAsStandby(old, Duration.ofSeconds(60));
              } catch (Exception e) {
                throw new IllegalStateException(
                    "rebuilding " + old.name() + " as a standby: " + e, e);
              }
            }
            record(
                kind,
                "end",
                "SIGCONT "
                    + target.id()
                    + (promoted[0]
                        ? "; "
                            + old.name()
                            + " killed and rejoined as the standby of "
                            + cluster.primary().name()
                        : "")
                    + "; healed");
          }
        });
    // The old primary first, in one step: from then on no other node can reach it, whoever
    // becomes active while the nodes' own rules are being written.
    List<String> outside = new ArrayList<>();
    rest.forEach(n -> outside.add(n.ip()));
    outside.add(standby.ip());
    cluster.cutPg(old, outside);
    Map<Node, Set<Node>> grudges = new HashMap<>();
    grudges.put(target, new HashSet<>(rest));
    for (Node n : rest) {
      grudges.put(n, new HashSet<>(List.of(target)));
    }
    cluster.cut(grudges);
    cluster.cutFrom(target, standby.ip());
    cluster.cutFrom(target, cluster.dnsIp());
    record(
        kind,
        "start",
        target.id()
            + " token "
            + token
            + ": SIGSTOP "
            + target.id()
            + "; region ["
            + target.id()
            + ", "
            + old.name()
            + "] cut off from "
            + ids(rest)
            + ", "
            + standby.name()
            + " and dns; a stale writer commits on "
            + old.name()
            + " with token "
            + token);
    try {
      cluster.promoteStandby(Duration.ofSeconds(30));
      promoted[0] = true;
      record(kind, "promote", standby.name() + " promoted without reaching " + old.name());
    } catch (Exception e) {
      throw new IllegalStateException("promoting " + standby.name() + ": " + e, e);
    }
    try {
      Node next =
          org.awaitility.Awaitility.await("a successor of " + target.id() + " is active")
              .atMost(Duration.ofSeconds(20))
              .pollInterval(Duration.ofMillis(100))
              .until(
                  () -> cluster.activeNode().filter(n -> n != target).orElse(null),
                  java.util.Objects::nonNull);
      record(kind, "successor", next.id() + " is active while " + target.id() + " is cut off");
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      record(kind, "no-successor", "no other node became active within 20 s");
    }
  }

  private static long fenceToken(java.sql.Connection c) throws java.sql.SQLException {
    try (java.sql.PreparedStatement ps =
        c.prepareStatement("SELECT token FROM baton.fence WHERE resource = ?")) {
      ps.setString(1, StaleWriter.RESOURCE);
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new java.sql.SQLException("no fence row for resource " + StaleWriter.RESOURCE);
        }
        return rs.getLong(1);
      }
    }
  }

  private static java.time.Instant databaseClock(java.sql.Connection c)
      throws java.sql.SQLException {
    try (java.sql.Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
      rs.next();
      return rs.getObject(1, java.time.OffsetDateTime.class).toInstant();
    }
  }

  /**
   * What the old primary holds after a region cut, as {@code key=value} words for {@link
   * Checks#regionCutFenced}: the old token's {@code valid_until} there (if its fence is bounded);
   * the bound the check applies (the earlier of that and the harness's own bound, the pause plus
   * one lease at the slowest clock rate); the stale writer's attempts and those begun after the
   * bound; and the commits with the old token (the stale writer's and the node writers') whose
   * commit time, by the old primary's clock, is after the bound.
   */
  private static String oldPrimaryFacts(
      Cluster.Pg old, long token, java.time.Instant stoppedAt, List<StaleWriter.Attempt> attempts) {
    java.time.Instant leaseEnd = stoppedAt.plus(Checks.regionCutLeaseBound());
    try (java.sql.Connection c = Cluster.connect(old)) {
      java.time.Instant validUntil = null;
      try (java.sql.PreparedStatement ps =
          c.prepareStatement(
              "SELECT valid_until FROM baton.fence_lease WHERE resource = ? AND token = ?")) {
        ps.setString(1, StaleWriter.RESOURCE);
        ps.setLong(2, token);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          if (rs.next() && rs.getObject(1) != null) {
            validUntil = rs.getObject(1, java.time.OffsetDateTime.class).toInstant();
          }
        }
      }
      java.time.Instant bound =
          validUntil != null && validUntil.isBefore(leaseEnd) ? validUntil : leaseEnd;
      long[] stale = commitsAfter(c, "jepsen.region_cut_writes", token, bound);
      long[] own = commitsAfter(c, "jepsen.writes", token, bound);
      long attemptsAfter = attempts.stream().filter(a -> a.began().isAfter(bound)).count();
      String outcomes =
          StaleWriter.outcomes(attempts).entrySet().stream()
              .map(e -> e.getKey() + ":" + e.getValue())
              .collect(Collectors.joining(","));
      return "token="
          + token
          + " validUntil="
          + (validUntil == null ? "none" : validUntil)
          + " leaseEnd="
          + leaseEnd
          + " bound="
          + bound
          + " attempts="
          + attempts.size()
          + " attemptsAfter="
          + attemptsAfter
          + " outcomes="
          + (outcomes.isEmpty() ? "none" : outcomes)
          + " staleCommits="
          + stale[1]
          + " commitsAfter="
          + (stale[0] + own[0])
          + " nodeCommitsAfter="
          + own[0];
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("reading the old primary " + old.name() + ": " + e, e);
    }
  }

  /** {count of rows with {@code token} committed after {@code bound}, count of all of them}. */
  private static long[] commitsAfter(
      java.sql.Connection c, String table, long token, java.time.Instant bound)
      throws java.sql.SQLException {
    try (java.sql.PreparedStatement ps =
        c.prepareStatement(
            "SELECT count(*) FILTER (WHERE pg_xact_commit_timestamp(xmin) > ?), count(*) FROM "
                + table
                + " WHERE token = ?")) {
      ps.setObject(1, java.time.OffsetDateTime.ofInstant(bound, java.time.ZoneOffset.UTC));
      ps.setLong(2, token);
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1), rs.getLong(2)};
      }
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.warn("cannot delete {}: {}", p, e.toString());
    }
  }

  /**
   * What the issue's probe did, from the harness, which knows the cluster id and the Raft addresses
   * but not the secret. Each attempt is recorded {@code failed} or {@code ACCEPTED}; the
   * outsider-refused checker fails the run on any acceptance and counts a failed attempt as refused
   * only when a node counted a refusal while it ran.
   */
  private void outsider(NemesisKind kind, List<Node> nodes) {
    List<dev.baton.core.Member> members = new ArrayList<>();
    for (Node n : nodes) {
      members.add(dev.baton.core.Member.voter(n.id(), n.ip() + ":" + Cluster.RAFT_PORT));
    }
    Node leader = activeOrRandom(nodes);
    Node other = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
    long termKnown = 1;
    try (dev.baton.core.control.BatonClient client = client()) {
      termKnown = client.status(leader.controlEndpoint(), Duration.ofSeconds(1)).getTerm();
    } catch (RuntimeException e) {
      // An estimate is enough: the outsider guesses.
    }
    long term = termKnown;
    record(kind, "start", "outsider probes the Raft port (leader " + leader.id() + ")");
    dev.baton.core.TlsConfig forged = outsiderCertificates.get(leader.id());
    if (forged == null) {
      record(kind, "error", "no outsider certificate naming " + leader.id() + " was made");
    } else {
      probeRaftPort("jepsen", members, forged, leader.id(), other.id(), term, this::record);
    }
    record(kind, "end", "outsider done");
  }

  /**
   * Loads what a probe uses (the Ratis client, gRPC, TLS with {@code forged}) before the run, with
   * one raw write and one forced election aimed at a loopback port nobody listens on: a first probe
   * otherwise spent seconds of a short run loading classes (4.7 s to build its client in one CI
   * run), time the schedule then lacked for faults.
   */
  static void warmUpOutsider(dev.baton.core.TlsConfig forged) {
    long t = System.nanoTime();
    int port;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    } catch (IOException e) {
      LOG.warn("outsider warm-up skipped: {}", e.toString());
      return;
    }
    List<dev.baton.core.Member> nobody =
        List.of(dev.baton.core.Member.voter("n1", "127.0.0.1:" + port));
    try (dev.baton.core.testing.RaftOutsider o =
        dev.baton.core.testing.RaftOutsider.withCertificate("warm-up", nobody, forged)) {
      o.rawWrite(new byte[] {0});
      o.startLeaderElection("n1", "n1", 1);
    } catch (IOException | RuntimeException e) {
      LOG.warn("outsider warm-up: {}", e.toString());
    }
    LOG.info("outsider warmed up in {} ms", (System.nanoTime() - t) / 1_000_000);
  }

  /** Where a probe records what it did (the nemesis's schedule, or a test's list). */
  interface Recorder {
    void record(NemesisKind kind, String phase, String detail);
  }

  /**
   * The outsider's four attempts (a raw write, a reconfiguration, a leadership transfer, a forced
   * election), each between an {@code attempt} event and its outcome ({@link #outsiderPhase}), and
   * apart from the next by twice {@link Checks#REFUSAL_RECORD_SLACK}: the checker confirms a
   * refusal by a node's refusal counter rising inside that window.
   *
   * <p>The outsider speaks TLS with {@code forged}, a certificate of its own making that names the
   * leader ({@link #forgedCertificates}): the nodes' handshake check refuses it and counts the
   * refusal, which is what the checker needs to call an attempt refused. (A plaintext call is
   * closed by the TLS layer before any check sees it, so nothing counts it, and a failed call
   * proves nothing by itself; RaftPortTest covers the plaintext outsider in-JVM, where the test can
   * see the cluster.)
   */
  static void probeRaftPort(
      String clusterId,
      List<dev.baton.core.Member> members,
      dev.baton.core.TlsConfig forged,
      String leader,
      String other,
      long term,
      Recorder rec) {
    NemesisKind kind = NemesisKind.OUTSIDER;
    try (dev.baton.core.testing.RaftOutsider o =
        dev.baton.core.testing.RaftOutsider.withCertificate(clusterId, members, forged)) {
      List<java.util.function.Supplier<dev.baton.core.testing.RaftOutsider.Attempt>> attempts =
          List.of(
              () ->
                  o.rawWrite(
                      "garbage from an outsider".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
              () -> o.setConfiguration(List.of(leader)),
              () -> o.transferLeadership(other),
              () -> o.startLeaderElection(other, leader, term));
      for (var attempt : attempts) {
        rec.record(kind, "attempt", "outsider attempt begins");
        var a = attempt.get();
        String why = a.detail().length() > 300 ? a.detail().substring(0, 300) + "…" : a.detail();
        rec.record(kind, outsiderPhase(a), a.what() + (a.succeeded() ? "" : ": " + why));
        LockSupport.parkNanos(Checks.REFUSAL_RECORD_SLACK * 2);
      }
    } catch (java.io.IOException e) {
      rec.record(kind, "error", e.toString());
    }
  }

  /**
   * How an outsider attempt is recorded in the schedule, for the outsider-refused checker: {@code
   * ACCEPTED} when it succeeded, else {@code failed}. A failure is not yet a refusal (connection
   * refused, a timeout or a wrong address fail too): the checker counts it refused only when a
   * node's refusal counter rose while it ran.
   */
  static String outsiderPhase(dev.baton.core.testing.RaftOutsider.Attempt a) {
    return a.succeeded() ? "ACCEPTED" : "failed";
  }

  private dev.baton.core.control.BatonClient client() {
    return dev.baton.core.control.BatonClient.builder()
        .endpoints(cluster.controlEndpoints())
        .callTimeout(Duration.ofSeconds(30))
        .build();
  }

  /**
   * Starts a removed, wiped node with {@code joining} and adds it back as a voter: waits until its
   * control API answers (its JVM starts and waits out its quiet period), then adds it until the
   * member list holds it (an add that timed out may or may not have been applied).
   */
  private void readd(NemesisKind kind, dev.baton.core.control.BatonClient client, Node target) {
    cluster.setJoining(target, true);
    cluster.restart(target);
    try {
      org.awaitility.Awaitility.await(target.id() + " answers on its control API")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptions()
          .until(
              () -> {
                client.status(target.controlEndpoint(), Duration.ofMillis(500));
                return true;
              });
      dev.baton.core.Member member =
          dev.baton.core.Member.voter(target.id(), target.ip() + ":" + Cluster.RAFT_PORT);
      org.awaitility.Awaitility.await(target.id() + " added back as a voter")
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                try {
                  client.addMember(member);
                } catch (RuntimeException e) {
                  LOG.info("add {}: {}", target.id(), e.getMessage());
                }
                try {
                  return client.members().stream().anyMatch(m -> m.getId().equals(target.id()));
                } catch (RuntimeException e) {
                  return false;
                }
              });
      // The member list is the leader's; the node itself holds the entry that makes it a voter only
      // once it reports itself in its own configuration. Until then it counts in the majority but
      // cannot vote, and the documented procedure says to touch no other member (the next fault
      // would otherwise test a cluster the operator was told not to leave).
      org.awaitility.Awaitility.await(target.id() + " holds the configuration that adds it")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptions()
          .until(
              () ->
                  client
                      .status(target.controlEndpoint(), Duration.ofMillis(500))
                      .getMembersList()
                      .stream()
                      .anyMatch(
                          m ->
                              m.getMember().getId().equals(target.id()) && m.getInConfiguration()));
      record(kind, "end", target.id() + " added back as a voter, caught up");
    } finally {
      // From now on it restarts as an ordinary member with its new data directory.
      cluster.setJoining(target, false);
    }
  }

  /**
   * The documented procedure removes only a standby: if {@code target} holds the role (the role may
   * have moved since it was picked, or a wiped node won it), switch-active to another node first.
   */
  /**
   * Removes {@code target} from the cluster and waits until the member list no longer holds it. A
   * removal that timed out may or may not have been applied (a membership change commits twice,
   * through joint consensus, and a busy machine can take longer than one call's deadline), so it is
   * asked again until the list says it is gone: continuing on a timeout could leave the cluster in
   * a configuration the next fault would cut below a majority.
   */
  private void removeUntilGone(
      NemesisKind kind, dev.baton.core.control.BatonClient client, Node target) {
    int[] attempts = {0};
    org.awaitility.Awaitility.await("members remove " + target.id())
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(
            () -> {
              if (client.members().stream().noneMatch(m -> m.getId().equals(target.id()))) {
                return true;
              }
              attempts[0]++;
              client.removeMember(target.id());
              return client.members().stream().noneMatch(m -> m.getId().equals(target.id()));
            });
    if (attempts[0] > 1) {
      record(kind, "retried", "members remove " + target.id() + ": " + attempts[0] + " calls");
    }
  }

  private void moveRoleOff(
      NemesisKind kind, dev.baton.core.control.BatonClient client, Node target, List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    if (active.isPresent() && active.get() == target) {
      Node other = nodes.stream().filter(n -> n != target).findFirst().orElseThrow();
      record(kind, "switch", target.id() + " is active; switch-active to " + other.id() + " first");
      org.awaitility.Awaitility.await("switch-active away from " + target.id())
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptions()
          .until(
              () -> {
                client.switchActive(other.id(), Duration.ofSeconds(10));
                return true;
              });
    }
  }

  private Node standbyOrRandom(List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    List<Node> standbys = new ArrayList<>(nodes);
    active.ifPresent(standbys::remove);
    return standbys.get(random.nextInt(standbys.size()));
  }

  private void restartWithRate(Node n, double rate) {
    try {
      Cluster.setClockRate(n.dir(), rate);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    cluster.hold(n);
    cluster.killIfRunning(n.container());
    cluster.restart(n);
  }

  private void bridge(NemesisKind kind, List<Node> nodes) {
    Collections.shuffle(nodes, random);
    Node bridge = nodes.get(0);
    List<Node> rest = nodes.subList(1, nodes.size());
    int half = rest.size() / 2;
    cut(kind, rest.subList(0, half), rest.subList(half, rest.size()), "bridge " + bridge.id());
  }

  private void ring(NemesisKind kind, List<Node> nodes) {
    Collections.shuffle(nodes, random);
    int n = nodes.size();
    int keep = (int) Math.ceil((n / 2) / 2.0);
    Map<Node, Set<Node>> grudges = new LinkedHashMap<>();
    List<String> cuts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        int d = Math.min(j - i, n - (j - i));
        if (d > keep) {
          grudges.computeIfAbsent(nodes.get(i), k -> new HashSet<>()).add(nodes.get(j));
          grudges.computeIfAbsent(nodes.get(j), k -> new HashSet<>()).add(nodes.get(i));
          cuts.add(nodes.get(i).id() + "-" + nodes.get(j).id());
        }
      }
    }
    cluster.cut(grudges);
    record(kind, "start", "ring " + ids(nodes) + ", cut " + cuts);
    undo.add(
        () -> {
          cluster.heal();
          record(kind, "end", "healed");
        });
  }

  private void cut(NemesisKind kind, List<Node> a, List<Node> b, String note) {
    Map<Node, Set<Node>> grudges = new HashMap<>();
    for (Node x : a) {
      grudges.put(x, new HashSet<>(b));
    }
    for (Node y : b) {
      grudges.put(y, new HashSet<>(a));
    }
    cluster.cut(grudges);
    if (kind == null) {
      undo.add(cluster::heal);
      return;
    }
    record(kind, "start", ids(a) + " | " + ids(b) + (note == null ? "" : " (" + note + ")"));
    undo.add(
        () -> {
          cluster.heal();
          record(kind, "end", "healed");
        });
  }

  private Node activeOrRandom(List<Node> nodes) {
    Optional<Node> active = cluster.activeNode();
    return active.orElseGet(() -> nodes.get(random.nextInt(nodes.size())));
  }

  /** Records a {@link Supervisor} event in the schedule (kind {@code null}). */
  void recordSupervisor(String phase, String detail) {
    record(null, phase, detail);
  }

  private void record(NemesisKind kind, String phase, String detail) {
    Event e = new Event(System.nanoTime(), kind, phase, detail);
    schedule.add(e);
    LOG.info("nemesis {} {}: {}", kind == null ? "-" : kind.wireName(), phase, detail);
  }

  private long between(Duration[] range) {
    long min = range[0].toNanos();
    long max = range[1].toNanos();
    return min + (max > min ? (long) (random.nextDouble() * (max - min)) : 0);
  }

  private static void park(long nanos) {
    long until = System.nanoTime() + nanos;
    long left;
    while ((left = until - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  private static String ids(List<Node> nodes) {
    return nodes.stream().map(Node::id).collect(Collectors.joining(",", "[", "]"));
  }
}
