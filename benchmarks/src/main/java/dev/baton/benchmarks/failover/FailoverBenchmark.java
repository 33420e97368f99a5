package dev.baton.benchmarks.failover;

import static org.awaitility.Awaitility.await;

import dev.baton.benchmarks.report.Plot;
import dev.baton.benchmarks.report.Results;
import dev.baton.core.LocalPorts;
import dev.baton.dns.TsigAlgorithm;
import dev.baton.testing.dns.BindServer;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.process.ChildJvm;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Failover of a whole deployment, measured end to end with real processes on loopback.
 *
 * <p><b>Set-up.</b> A real BIND 9 serving the dynamic zone {@code baton.test.} with a TSIG key; a
 * PostgreSQL 15 primary on 127.0.0.11 and a streaming standby on 127.0.0.12, both on the same port
 * (so the name's A record alone selects the writer); three Baton nodes, each its own JVM ({@link
 * BenchNode}): {@code n1} next to the server on .11, {@code n2} next to .12, {@code w1} a witness.
 * Each eligible node's plan promotes its own server and points {@code db.baton.test.} at it.
 *
 * <p><b>Client.</b> A writer thread that, every 5 ms, resolves {@code db.baton.test.} on BIND
 * (directly, no cache: DNS caching in front of clients adds up to the record's TTL, 1 s here), and
 * inserts one row through a connection to the address the name gives (reconnecting when the address
 * changes or the connection fails; connect timeout 1 s, socket timeout 2 s).
 *
 * <p><b>Unplanned trial.</b> SIGKILL of the active node's JVM and SIGKILL of its PostgreSQL (the
 * postmaster and every backend) at once. Measured from the kill: <i>time to active</i> (the other
 * node reports itself active, after its plan — promote, switch DNS — completed) and <i>time to
 * writable</i> (the client's first committed write through the name on the new server). Then the
 * dead site is rebuilt: a fresh standby of the new primary on the old address, the node's JVM
 * restarted on its data directory.
 *
 * <p><b>Planned trial.</b> {@code switchActive} back to the rebuilt node. Measured: the <i>write
 * gap</i> (from the client's last committed write before the first committed write on the new
 * server, to that write) and the time from the request to the target reporting itself active. The
 * target's JVM was restarted seconds before and has never run its promotion plan: this is the
 * switch of a failback right after a restart, with cold classes and JIT ({@code planned}). Then a
 * second switch moves the role back to the node that was active before ({@code planned-warm}): its
 * JVM has been up through the trial and has promoted once, as on a node that has been running.
 *
 * <p>Before the trials the three idle node processes are measured: CPU over 60 s (from
 * /proc/PID/stat) and heap in use after a full GC.
 *
 * <p>Run (see benchmarks/README.md): {@code java -cp "$(cat benchmarks/target/classpath.txt):
 * benchmarks/target/classes" dev.baton.benchmarks.failover.FailoverBenchmark --trials=20
 * --out=benchmarks/results}
 *
 * <p>Why this class is over 450 lines: it is the scenario, one method per step (set-up, idle
 * measurement, unplanned trial, planned trial, tear-down), read top to bottom as the description
 * above; the parts it drives are classes of their own ({@link BenchNode}, {@link NodeProcess},
 * {@link NameWriter}).
 */
public final class FailoverBenchmark {
  private static final String NAME = "db";
  private static final String ZONE = "baton.test.";
  private static final Duration WAIT = Duration.ofSeconds(90);

  private final Path work;
  private String electionTimeout;
  private final Results results = new Results();
  private BindServer dns;
  private int pgPort;
  private final Map<String, Site> sites = new LinkedHashMap<>();
  private NodeProcess witness;
  private NameWriter writer;
  private String cluster;
  private String membersArg;

  /** One site: a node and its PostgreSQL server on its own loopback address. */
  private static final class Site {
    final String node;
    final String address;
    PostgresServer pg;
    NodeProcess process;

    Site(String node, String address) {
      this.node = node;
      this.address = address;
    }
  }

  /** The Raft port's secret, one file in the work directory for every node (made on first use). */
  synchronized Path clusterSecret() throws IOException {
    Path file = work.resolve("cluster.secret");
    if (!Files.exists(file)) {
      byte[] b = new byte[32];
      new java.security.SecureRandom().nextBytes(b);
      // As base64 text, the form the docs give: raw bytes that happen to end in a line end would
      // lose it when read (a trailing newline is not part of a secret) and be one byte short.
      Files.writeString(file, java.util.Base64.getEncoder().encodeToString(b) + "\n");
    }
    return file;
  }

  private FailoverBenchmark(Path work) {
    this.work = work;
  }

  public static void main(String[] args) throws Exception {
    int trials = 20;
    int idleSeconds = 60;
    String electionTimeout = null;
    Path out = Path.of("benchmarks/results");
    for (String a : args) {
      if (a.startsWith("--trials=")) {
        trials = Integer.parseInt(a.substring(9));
      } else if (a.startsWith("--idle-seconds=")) {
        idleSeconds = Integer.parseInt(a.substring(15));
      } else if (a.startsWith("--election-timeout=")) {
        electionTimeout = a.substring(19);
        BenchNode.timing(electionTimeout); // refuses a malformed range before anything starts
      } else if (a.startsWith("--out=")) {
        out = Path.of(a.substring(6));
      } else {
        throw new IllegalArgumentException(
            "unknown argument '"
                + a
                + "' (expected --trials=N --idle-seconds=N --election-timeout=MIN-MAX --out=DIR)");
      }
    }
    if (trials < 1) {
      throw new IllegalArgumentException("--trials must be at least 1");
    }
    Path work = Files.createTempDirectory("baton-failover-bench-");
    FailoverBenchmark b = new FailoverBenchmark(work);
    b.electionTimeout = electionTimeout;
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    try {
      System.out.println(
          "start: "
              + Results.loadAverage()
              + "; timing "
              + BenchNode.timing(electionTimeout)
              + "; work dir "
              + work);
      b.setUp();
      if (idleSeconds > 0) {
        b.measureIdle(idleSeconds);
      }
      b.writer = new NameWriter(b.dns.host(), b.dns.port(), NAME, ZONE, b.pgPort);
      b.writer.start(WAIT);
      for (int i = 1; i <= trials; i++) {
        b.unplannedTrial(i);
        b.plannedTrial(i, "planned");
        b.plannedTrial(i, "planned-warm");
      }
    } catch (Exception | Error e) {
      b.dumpThreads();
      throw e;
    } finally {
      b.tearDown();
    }
    Path csv = out.resolve("baton-failover-" + stamp + ".csv");
    b.results.writeCsv(csv);
    Map<String, double[]> series =
        Results.bySeries(
            b.results.samples().stream().filter(x -> !x.scenario().startsWith("idle")).toList());
    System.out.println("end: " + Results.loadAverage());
    series.forEach((k, v) -> System.out.println(Results.summary(k, v)));
    Plot.write(
        out.resolve("baton-failover-" + stamp + ".svg"),
        "Baton failover, 3 node JVMs + PostgreSQL pair + BIND on loopback",
        series);
    System.out.println("wrote " + csv + " and its .svg");
  }

  // ---------------------------------------------------------------------------------------------

  private void setUp() throws Exception {
    dns = BindServer.builder().zone(ZONE).start();
    pgPort = portFreeOn("127.0.0.11", "127.0.0.12");
    sites.put("n1", new Site("n1", "127.0.0.11"));
    sites.put("n2", new Site("n2", "127.0.0.12"));
    Site east = sites.get("n1");
    Site west = sites.get("n2");
    east.pg = PostgresServer.startPrimary("east", east.address, pgPort, Map.of());
    west.pg = PostgresServer.startStandbyOf(east.pg, "west", west.address, pgPort, Map.of());
    awaitStreaming(east.pg, west.pg);
    east.pg.execute(
        "CREATE TABLE bench_writes (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())");

    cluster = "failover-bench-" + System.nanoTime();
    int[] ports = {freePort(), freePort(), freePort()};
    membersArg =
        "n1=127.0.0.1:"
            + ports[0]
            + ",n2=127.0.0.1:"
            + ports[1]
            + ",w1=127.0.0.1:"
            + ports[2]
            + ":witness";
    witness = startNode("w1", List.of("--id=w1"));
    east.process = startNode(east, west);
    await("n1 active").atMost(WAIT).until(() -> east.process.lastActive().isPresent());
    west.process = startNode(west, east);
    west.process.awaitEvent("started", 0, WAIT);
    sync(west.process);
    System.out.printf(
        "set up: BIND on %s:%d, PostgreSQL %s (primary) and %s (standby), nodes n1 n2 w1%n",
        dns.host(), dns.port(), east.pg.endpoint(), west.pg.endpoint());
  }

  private NodeProcess startNode(Site self, Site other) throws IOException {
    return startNode(
        self.node,
        List.of(
            "--id=" + self.node,
            "--pg-target=" + self.address + ":" + pgPort,
            "--pg-peer=" + other.address + ":" + pgPort,
            "--dns=" + dns.host() + ":" + dns.port(),
            "--zone=" + ZONE,
            "--key-file=" + dns.keyFile(TsigAlgorithm.HMAC_SHA256.bindName()),
            "--name=" + NAME,
            "--address=" + self.address));
  }

  /** A {@link BenchNode} JVM of this cluster: its first start bootstraps. */
  private NodeProcess startNode(String id, List<String> extra) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add("--cluster=" + cluster);
    cmd.add("--members=" + membersArg);
    Path data = work.resolve("node-" + id);
    cmd.add("--data=" + data);
    cmd.add("--secret=" + clusterSecret());
    // The benchmark is the operator: the first start of each node bootstraps the cluster.
    cmd.add("--bootstrap=" + !Files.exists(data));
    if (electionTimeout != null) {
      cmd.add("--election-timeout=" + electionTimeout);
    }
    cmd.addAll(extra);
    return new NodeProcess(
        id,
        ChildJvm.of(BenchNode.class.getName(), cmd)
            // The class path may hold a logback-test.xml (a test-jar's); the nodes log with their
            // own configuration.
            .jvmOptions("-Dlogback.configurationFile=bench-node-logback.xml"),
        work.resolve("node-" + id + ".log"));
  }

  private void measureIdle(int seconds) throws Exception {
    // Let start-up work (JIT, first snapshots) settle before the window opens.
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(10));
    List<NodeProcess> all = List.of(sites.get("n1").process, sites.get("n2").process, witness);
    double load = Results.load1();
    long[] before = new long[all.size()];
    for (int i = 0; i < all.size(); i++) {
      before[i] = all.get(i).cpuTicks();
    }
    long t0 = System.nanoTime();
    LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(seconds));
    double elapsed = (System.nanoTime() - t0) / 1e9;
    for (int i = 0; i < all.size(); i++) {
      NodeProcess p = all.get(i);
      double cpuPercent = (p.cpuTicks() - before[i]) / 100.0 / elapsed * 100.0;
      p.send("heap");
      String[] heap = p.awaitEvent("heap", 0, WAIT).split(" ");
      double usedMiB = Long.parseLong(heap[1]) / 1048576.0;
      double committedMiB = Long.parseLong(heap[2]) / 1048576.0;
      String role =
          p.lastActive().isPresent() ? "active" : p.id.equals("w1") ? "witness" : "standby";
      System.out.printf(
          Locale.ROOT,
          "idle %s (%s): %.2f %% of one core over %.0f s, heap used after GC %.1f MiB"
              + " (committed %.1f MiB); %s%n",
          p.id,
          role,
          cpuPercent,
          elapsed,
          usedMiB,
          committedMiB,
          Results.loadAverage());
      // The value column holds the measure itself (percent of a core, MiB), not milliseconds.
      results.add(new Results.Sample("baton", "idle-" + role, 1, "cpu_percent", cpuPercent, load));
      results.add(new Results.Sample("baton", "idle-" + role, 1, "heap_used_mib", usedMiB, load));
    }
  }

  private void unplannedTrial(int trial) throws Exception {
    Site active = activeSite();
    Site other = otherSite(active);
    long oldToken = active.process.lastActive().orElseThrow();
    double load = Results.load1();
    long t0 = System.nanoTime();
    active.process.kill();
    active.pg.kill();
    long activeAt = other.process.awaitActiveAfter(oldToken, WAIT);
    long writableAt = writer.awaitWriteOn(other.address, t0, WAIT);
    double toActive = (activeAt - t0) / 1e6;
    double toWritable = (writableAt - t0) / 1e6;
    results.add(new Results.Sample("baton", "unplanned", trial, "time_to_active", toActive, load));
    results.add(
        new Results.Sample("baton", "unplanned", trial, "time_to_writable", toWritable, load));
    System.out.printf(
        Locale.ROOT,
        "trial %2d unplanned: kill %s -> %s active %6.0f ms, writable via DNS %6.0f ms (%s)%n",
        trial,
        active.node,
        other.node,
        toActive,
        toWritable,
        Results.loadAverage());

    // Rebuild the dead site: a fresh standby of the new primary on the old address, the node
    // restarted on its own data directory.
    active.pg.close();
    active.pg =
        PostgresServer.startStandbyOf(
            other.pg, active.node + "-pg-" + trial, active.address, pgPort, Map.of());
    awaitStreaming(other.pg, active.pg);
    active.process = startNode(active, other);
    active.process.awaitEvent("started", 0, WAIT);
    sync(active.process);
  }

  private void plannedTrial(int trial, String scenario) throws Exception {
    Site from = activeSite();
    Site to = otherSite(from);
    long oldToken = from.process.lastActive().orElseThrow();
    double load = Results.load1();
    awaitCaughtUp(from.pg, to.pg);
    long t0 = System.nanoTime();
    from.process.send("switch " + to.node);
    long activeAt = to.process.awaitActiveAfter(oldToken, WAIT);
    long firstNew = writer.awaitWriteOn(to.address, t0, WAIT);
    long lastBefore =
        writer
            .lastBefore(firstNew)
            .orElseThrow(() -> new IllegalStateException("no write before the switch"));
    double gap = (firstNew - lastBefore) / 1e6;
    double toActive = (activeAt - t0) / 1e6;
    results.add(new Results.Sample("baton", scenario, trial, "write_gap", gap, load));
    results.add(new Results.Sample("baton", scenario, trial, "switch_to_active", toActive, load));
    System.out.printf(
        Locale.ROOT,
        "trial %2d %s: %s -> %s active %6.0f ms after the request, write gap %6.0f ms (%s)%n",
        trial,
        scenario,
        from.node,
        to.node,
        toActive,
        gap,
        Results.loadAverage());

    // The old primary was fenced (read-only) and the new one diverged from it: rebuild it as a
    // standby of the new primary.
    from.pg.close();
    from.pg =
        PostgresServer.startStandbyOf(
            to.pg, from.node + "-pg-p" + trial, from.address, pgPort, Map.of());
    awaitStreaming(to.pg, from.pg);
    sync(from.process);
  }

  /** The site whose node is active now, waiting (bounded) for one if the role is moving. */
  private Site activeSite() {
    return await("an active node")
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .until(this::currentActive, s -> s != null);
  }

  private Site currentActive() {
    Site best = null;
    long bestToken = -1;
    for (Site s : sites.values()) {
      Optional<Long> t = s.process.lastActive();
      if (t.isPresent() && t.get() > bestToken) {
        best = s;
        bestToken = t.get();
      }
    }
    return best;
  }

  private Site otherSite(Site s) {
    return sites.get(s.node.equals("n1") ? "n2" : "n1");
  }

  /**
   * Waits until {@code p} has applied the current activation itself. A linearizable read alone is
   * not enough: the leader answers it. A node restarted or bootstrapped a moment earlier may still
   * have an empty log; if the active dies then, Ratis lets no one win (the witness, whose log is
   * longer, refuses the empty node's candidacy and, having commits, does not count an empty-log
   * voter's vote), and the trial waited out its 90 s for nothing.
   */
  private void sync(NodeProcess p) {
    long token = activeSite().process.lastActive().orElse(0L);
    await(p.id + " applied the activation with token " + token)
        .atMost(WAIT)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              long since = System.nanoTime();
              p.send("sync");
              String synced = p.awaitEventAfter("synced", since, Duration.ofSeconds(5));
              return synced != null && Long.parseLong(synced.split(" ")[2]) >= token;
            });
  }

  private static void awaitStreaming(PostgresServer primary, PostgresServer standby) {
    await(standby.endpoint() + " streaming from " + primary.endpoint())
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptions()
        .until(
            () ->
                primary.queryLong(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                    > 0);
  }

  private static void awaitCaughtUp(PostgresServer primary, PostgresServer standby) {
    await(standby.endpoint() + " replayed what " + primary.endpoint() + " wrote")
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .ignoreExceptions()
        .until(
            () -> {
              String target = primary.queryString("SELECT pg_current_wal_lsn()");
              return standby.queryLong(
                      "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '" + target + "')::bigint")
                  >= 0;
            });
  }

  /**
   * When a trial fails (a node that never becomes active, say), each live node's threads go to
   * {@code threads-<id>.txt} in the work directory before the nodes are stopped: what a stuck node
   * was waiting on is gone once it is killed.
   */
  private void dumpThreads() {
    List<NodeProcess> live = new ArrayList<>();
    sites.values().stream().map(s -> s.process).filter(p -> p != null).forEach(live::add);
    if (witness != null) {
      live.add(witness);
    }
    for (NodeProcess p : live) {
      if (!p.process.isAlive()) {
        continue;
      }
      Path file = work.resolve("threads-" + p.id + ".txt");
      try {
        Process jcmd =
            new ProcessBuilder("jcmd", Long.toString(p.process.pid()), "Thread.print")
                .redirectErrorStream(true)
                .redirectOutput(file.toFile())
                .start();
        if (!jcmd.waitFor(30, TimeUnit.SECONDS)) {
          jcmd.destroyForcibly();
        }
        System.out.println("threads of " + p.id + " in " + file);
      } catch (IOException e) {
        System.out.println("could not dump the threads of " + p.id + ": " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void tearDown() {
    if (writer != null) {
      writer.stop();
    }
    for (Site s : sites.values()) {
      if (s.process != null) {
        s.process.close();
      }
    }
    if (witness != null) {
      witness.close();
    }
    for (Site s : sites.values()) {
      if (s.pg != null) {
        s.pg.close();
      }
    }
    if (dns != null) {
      dns.close();
    }
  }

  // ---- ports ---------------------------------------------------------------------------------

  private static int freePort() throws IOException {
    return LocalPorts.next(InetAddress.getByName("127.0.0.1"));
  }

  /** A port free on every one of the loopback addresses. */
  private static int portFreeOn(String... addresses) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int port = freePort();
      boolean free = true;
      for (String a : addresses) {
        try (ServerSocket s = new ServerSocket()) {
          s.bind(new InetSocketAddress(InetAddress.getByName(a), port));
        } catch (IOException e) {
          free = false;
        }
      }
      if (free) {
        return port;
      }
    }
    throw new IOException("no port free on all of " + String.join(", ", addresses));
  }
}
