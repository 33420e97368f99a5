package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Capability;
import dev.baton.jepsen.Checks.Row;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.jepsen.ProductPathChecks.Fault;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.utility.DockerImageName;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * The Jepsen-style run through the product path (issue 39, slice 1): no test node app. Three node
 * containers (image from {@code scripts/node-image}) run the sidecar's main class, {@code
 * dev.baton.sidecar.Main sidecar --config node.yaml}, from this module's test class path (bind-
 * mounted as {@link Cluster} mounts it), each with a YAML written here: n1 and n2 with a {@code
 * type: postgres} step (Baton promotes the standby; the harness never does) and a {@code type: dns}
 * step against the suite's BIND, w1 a witness with no steps.
 *
 * <p><b>Each site's PostgreSQL runs inside its eligible node's container</b>, started by the
 * container's start script before the sidecar. That is the simplest wiring that is still real: the
 * former-primary guard's rejoin runs {@code pg_ctl} and {@code pg_rewind} on the data directory, so
 * it must run on the database's host (docs/sidecar-config.md, "Where the guard runs"), and {@code
 * /token} answers loopback callers only, so the writer must share the sidecar's host too. One
 * container per site then makes the fault a real site loss: a SIGKILL of the container's first
 * process (the start script, which runs the sidecar in a restart loop as systemd would) takes the
 * sidecar, its PostgreSQL and its writer with it, as a power cut of the site's machine does.
 * STONITH is wired as a user wires it ({@link FenceAgent}): the {@code postgres} step's {@code
 * stopCommand} asks a fence agent (a power API's stand-in in this JVM, on the network's gateway,
 * each site with its own credential in a file) to power off the old primary, which it does by a
 * SIGKILL of the site's container. Baton runs it for an old primary it reaches as a primary (a
 * {@code pause}); past an unreachable one (a site loss, a partition, a dead server) the fence's
 * time bound ({@code fenceLease}, fence protocol 3) lets the surviving node promote without it, as
 * in examples/two-regions: that old primary refuses the old token by itself (the sidecar's WARN).
 * The partitions cut a site off from the other site and the witness, not from the agent (nor the
 * harness) on the gateway: a region cut of the sites' links leaves a cloud's power API or an
 * out-of-band IPMI network reachable. When a killed or powered-off site comes back, its guard
 * ({@code formerPrimaryGuard} with {@code rejoin}) makes its server read-only and rejoins it as a
 * standby with {@code pg_rewind}. Replication is asynchronous (the product does not manage
 * synchronous replication), so writes acknowledged just before a site loss may be lost: reported
 * with the run, not asserted ({@link ProductPathChecks}).
 *
 * <p>Beside each sidecar, a {@link dev.baton.jepsen.product.ProtocolWriter} writes through the
 * public protocol: the token from {@code /token}, {@code baton.check_fence} first in every
 * transaction, the DNS name {@code app.baton.test} resolved through BIND on every connect.
 *
 * <p>On the host, the suite's KV workload ({@link ProductKv}, {@link KvWorkload}: {@value
 * ProductKv#DEFAULT_CLIENTS} clients, {@code -Djepsen.product.kvClients}) reads, writes and
 * compare-and-sets four registers through the three sidecars' control API (gRPC on port 7500,
 * mutual TLS on the cluster secret) from the first activation to the end of the run; its history
 * ({@code history.jsonl}) is checked as the suite's ({@link Checks#checkKv}, the cas-register
 * model).
 *
 * <p>The faults (issue 39, slice 2), picked as the suite's nemesis picks them ({@link
 * Nemesis#nextKind}: every configured kind once, from a place drawn from {@code jepsen.seed}, then
 * the rotation again): {@code -Djepsen.product.nemeses} (default {@value #DEFAULT_NEMESES}; {@code
 * all} is every kind run here, {@link #RUN_HERE}) and {@code -Djepsen.product.faults} (default: one
 * of each). A site loss (SIGKILL of a site's container, the active's seven times in ten), the
 * active's site cut off ({@code partition-isolate-active}, iptables through {@link
 * Cluster#dropTraffic}), one member cut off from the two others ({@code partition-halves}), the
 * active's sidecar SIGSTOPped under its live PostgreSQL and writer ({@code pause}), the active's
 * PostgreSQL SIGKILLed under its live sidecar ({@code pg-kill}: the sidecar's {@code health:} check
 * of type {@code postgres} counts it down and the role moves), the Raft leader cut off right after
 * a KV read through its sidecar ({@code partition-leader-after-read}). After a fault of the active,
 * the other site must take over by itself (Baton's promotion, the name moved, a row committed there
 * with the new token); the fault is then healed, and before the next one the other site must be
 * streaming from the new primary (the guard's rejoin), so the next takeover has a standby to
 * promote.
 *
 * <p>Four more faults, done as a user's failure would happen ({@link ProductAppFaults}):
 *
 * <ul>
 *   <li>{@code switch-active}: the CLI's {@code switch-active} run in the active's container.
 *   <li>{@code health}: on the active, a marker file that the sites' {@code exec} check counts.
 *   <li>{@code dns-pause}: BIND SIGSTOPped while the active's site is killed, until the takeover.
 *   <li>{@code pg-paused-txn}: a fenced transaction held on the active's server across a takeover.
 *       Checked: its COMMIT, tried once the successor is active, must fail.
 * </ul>
 *
 * <p>The Raft faults, each as an operator's action or a user's failure ({@link ProductRaftFaults}):
 * {@code membership}: a member that is not the active removed and added back with the sidecar's
 * CLI; {@code wipe}: a member's data directory lost, its sidecar's refusal to start on it, then the
 * documented runbook; {@code outsider}: a process without the cluster secret probing the Raft
 * ports.
 *
 * <p>{@code partition-bridge} and {@code partition-majority-ring} (with three members a ring is a
 * bridge, as in the suite): two members cut off from each other only, the third the bridge; nobody
 * must take over. {@code region-cut}: the active's whole site frozen (docker pause: sidecar,
 * PostgreSQL and writer stopped mid-flight) until the other site took over, then thawed at once:
 * the writer's transaction in flight with the old token must not commit on the server that wakes
 * believing it is the primary.
 *
 * <p>{@code clock}: a member's sidecar restarted with its whole JVM's clock running 0.92 to 1.08
 * times true time ({@link ProductClock}: libfaketime, within the {@code timing.clockDrift: 0.1}
 * every node states; the site's PostgreSQL and writer keep true time), a takeover if it was the
 * active, then restarted at the normal rate.
 *
 * <p>Checked ({@link ProductPathChecks}): no two actives (the sidecars' {@code /active} sampled by
 * the harness), tokens only grow, rows commit in token order (I3), no write acknowledged with a
 * token after a newer token's write was (I3, the rows a rewind discarded included), the DNS fence
 * only moves forward, every fault of the active was taken over, STONITH held, and the KV history is
 * linearizable; a run with no committed row, no activation, no fault or no completed KV operation,
 * or whose KV history the checker could not decide, is not VALID. Each acknowledged row missing
 * from the final primary is named (token, value, writer, the failover it straddled) and reported,
 * not asserted: replication between the sites is asynchronous. After the Raft faults ({@link
 * ProductRaftFaults#judge}): the outsider was refused, each wiped sidecar refused to start, the
 * cluster ends with its three members. Outputs: {@code target/jepsen/product-path/}.
 */
class ProductPathTest {
  private static final Logger LOG = LoggerFactory.getLogger(ProductPathTest.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ZONE = Cluster.DNS_ZONE;
  private static final String RESOURCE = "jepsen";
  private static final Duration TAKEOVER = Duration.ofSeconds(90);
  private static final Duration REJOIN = Duration.ofSeconds(120);
  private static final Duration POLL = Duration.ofMillis(200);
  private static final String PG_BIN = "/usr/lib/postgresql/15/bin";
  private static final String PG_DATA = "/var/lib/postgresql/data";

  /** One eligible site (node, PostgreSQL, writer) or the witness. */
  record Site(String id, String ip, Path dir, GenericContainer<?> container) {
    String url(String path) {
      return "http://" + ip + ":8008" + path;
    }
  }

  private final DockerClient docker = DockerClientFactory.instance().client();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
  final List<GenericContainer<?>> containers = new ArrayList<>();
  private final Map<String, Site> sites = new LinkedHashMap<>();
  private final List<Sample> samples = new ArrayList<>();
  private final ProductAppFaults appFaults = new ProductAppFaults(this);
  private volatile boolean sampling = true;
  private Network network;
  private String prefix;
  private Path runDir;
  private FenceAgent stonith;
  private ProductKv kv;
  private ProductRaftFaults raft;

  /** One reading of a node's {@code /active}: active with {@code token}, or not (token 0). */
  record Sample(String node, long t0, long t1, long token) {}

  @Test
  void faultsOfTheActiveAreTakenOverByBatonsOwnPromotion() throws Exception {
    String image = DockerEnvironment.nodeImage();
    Set<NemesisKind> kinds =
        productKinds(System.getProperty("jepsen.product.nemeses", DEFAULT_NEMESES));
    int faultCount = Integer.getInteger("jepsen.product.faults", kinds.size());
    long seed = Long.getLong("jepsen.seed", System.nanoTime());
    Random random = new Random(seed);
    LOG.info(
        "product path: seed {} (-Djepsen.seed={} replays the choices), {} faults of {}",
        seed,
        seed,
        faultCount,
        kinds);
    runDir = JepsenRun.outputRoot().resolve("product-path").toAbsolutePath();
    JepsenRun.deleteRecursively(runDir);
    Files.createDirectories(runDir);
    long started = System.nanoTime();
    List<Thread> samplers = new ArrayList<>();
    DnsWatcher dnsWatcher = null;
    List<Fault> faults = new ArrayList<>();
    // Without Ryuk nothing else removes the containers if this JVM is stopped mid-run (a build
    // timeout, Ctrl-C): they would keep running and eat the machine's two cores.
    Thread cleanup = new Thread(this::removeAll, "product-path-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      createNetwork();
      String dnsIp = prefix + "31";
      Path dnsDir = runDir.resolve("containers").resolve("dns");
      String tsigSecret = Cluster.writeDnsFiles(dnsDir, dnsIp);
      GenericContainer<?> dns =
          container(image, "dns", dnsIp)
              .withFileSystemBind(dnsDir.toString(), "/dns", BindMode.READ_WRITE)
              .withCommand("named", "-g", "-4", "-n", "1", "-c", "/dns/named.conf");
      dns.start();
      byte[] clusterSecret =
          (Base64.getEncoder().encodeToString(random(32)) + "\n")
              .getBytes(StandardCharsets.US_ASCII);
      String[] ids = {"n1", "n2", "w1"};
      for (int i = 0; i < ids.length; i++) {
        Path dir = runDir.resolve("containers").resolve(ids[i]);
        Files.createDirectories(dir);
        // The site's PostgreSQL (user postgres) writes its log here.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.write(dir.resolve("cluster.secret"), clusterSecret);
        sites.put(ids[i], new Site(ids[i], prefix + (11 + i), dir, null));
      }
      stonith =
          FenceAgent.start(
              docker,
              network,
              prefix,
              Map.of(sites.get("n1").ip(), "n1", sites.get("n2").ip(), "n2"),
              id -> sites.get(id).container().getContainerId());
      for (Site s : List.copyOf(sites.values())) {
        writeSiteFiles(s, dnsIp, tsigSecret);
      }
      // All at once: n2's start script waits for n1's server before it copies it.
      for (Site s : List.copyOf(sites.values())) {
        startSite(image, s);
      }
      for (String id : List.of("n1", "n2")) {
        Thread t = new Thread(() -> sample(sites.get(id)), "product-sampler-" + id);
        t.setDaemon(true);
        t.start();
        samplers.add(t);
      }
      dnsWatcher = new DnsWatcher(dnsIp, ZONE);
      dnsWatcher.start();
      LOG.info("product path: containers started after {} ms", ms(started));

      Site active = awaitActiveWithCommits(null, 0, TAKEOVER);
      LOG.info(
          "product path: {} active with token {} and committing after {} ms",
          active.id(),
          tokenOf(active),
          ms(started));
      // The KV workload through the three sidecars' control API, until the last stretch of writes.
      Map<String, String> control = new LinkedHashMap<>();
      sites.values().forEach(s -> control.put(s.id(), s.ip() + ":7500"));
      kv =
          new ProductKv(
              "jepsen-product",
              sites.get("n1").dir().resolve("cluster.secret"),
              control,
              ProductKv.clients(),
              seed);
      kv.start();
      List<NemesisKind> rotation = new ArrayList<>(kinds);
      Collections.sort(rotation);
      int next = random.nextInt(rotation.size());
      Set<NemesisKind> tried = EnumSet.noneOf(NemesisKind.class);
      for (int k = 0; k < faultCount; k++) {
        // As the suite's nemesis picks: every configured kind once, from a place drawn from the
        // seed, then the rotation again.
        NemesisKind kind = Nemesis.nextKind(rotation, next, tried, tried, true);
        next = rotation.indexOf(kind) + 1;
        tried.add(kind);
        stonith.powerOnAll(); // a server powered off by a promotion no fault caused
        // The role may have moved since the last fault's heal (a site started again can win the
        // next election): the fault goes to whoever holds it now.
        active = awaitActiveWithCommits(null, 0, TAKEOVER);
        awaitStreaming(active, otherSite(active), REJOIN);
        // Every sidecar up (a site killed by the last fault is back), so that a takeover's time is
        // the failover's, not a JVM's start.
        for (Site s : sites.values()) {
          awaitUp(s, REJOIN);
        }
        Map.Entry<Site, Long> current = awaitActiveCommitted(20, TAKEOVER);
        active = current.getKey();
        long token = current.getValue();
        active = inject(kind, active, token, random, faults, dnsIp, k == faultCount - 1);
      }
      // A last stretch of writes on the final primary, then everything is read.
      long last = tokenOf(active);
      awaitCommitted(active, last, 40, TAKEOVER);
      sampling = false;
      for (Thread s : samplers) {
        s.join(5000);
      }
      dnsWatcher.close();
      kv.close();
      Map<String, List<Long>> history = readHistory(active);
      // The writers keep writing while the table is read: only the outcomes they recorded before
      // the read began are judged (a write acknowledged later may be missing from the rows read
      // without being lost). Every invocation is kept: a row read must have been tried.
      long readFrom = System.nanoTime();
      List<Row> rows = readRows(active);
      List<NodeEvents.Op> ops = new ArrayList<>();
      List<NodeEvents.Op> allOps = new ArrayList<>();
      for (String id : List.of("n1", "n2")) {
        for (NodeEvents.Op op : readWriterOps(sites.get(id))) {
          allOps.add(op);
          if (op.type().equals("invoke") || op.time() < readFrom) {
            ops.add(op);
          }
        }
      }
      ops.sort(java.util.Comparator.comparingLong(NodeEvents.Op::time));
      ProductPathChecks.Verdict verdict =
          ProductPathChecks.check(
              new ProductPathChecks.Observations(
                  activations(),
                  rows,
                  ops,
                  dnsWatcher.observations(),
                  faults,
                  Map.of("n1", sites.get("n1").ip(), "n2", sites.get("n2").ip()),
                  history,
                  appFaults.held()),
              stonith.stops());
      ProductKv.Result kvResult = kv.check(runDir);
      verdict = ProductKv.withKv(verdict, kvResult.outcome());
      if (raft != null) {
        verdict = raft.judge(verdict);
      }
      Map<String, Integer> sidecarExits = new LinkedHashMap<>();
      for (Site s : sites.values()) {
        Path log = s.dir().resolve("sidecar.log");
        int exits = 0;
        if (Files.exists(log)) {
          for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (line.startsWith("start.sh: the sidecar exited")) {
              exits++;
            } else if (line.startsWith(ProductClock.RESTART_MARK)) {
              exits--; // the clock fault's restart, not the sidecar's own exit
            }
          }
        }
        sidecarExits.put(s.id(), exits - (raft == null ? 0 : raft.exitsWhileHeld(s.id())));
      }
      String report =
          verdict.describe()
              + stonith.describe(sites.values())
              + "  sidecar exits restarted by the site's loop (not faults of the test): "
              + sidecarExits
              + "\n"
              + String.format(
                  "  %d faults (seed %d), %d rows committed, %d writer operations, %d /active"
                      + " samples, %d DNS readings, %.1f s%n",
                  faults.size(),
                  seed,
                  rows.size(),
                  ops.size(),
                  samples.size(),
                  dnsWatcher.observations().size(),
                  ms(started) / 1000.0);
      report += kvResult.describe();
      Files.writeString(runDir.resolve("results.txt"), report);
      Map<String, Object> results = new LinkedHashMap<>();
      results.put("validity", verdict.validity().name());
      List<Checks.Outcome> all = new ArrayList<>(verdict.outcomes());
      all.add(verdict.durability());
      for (Checks.Outcome out : all) {
        results.put(
            out.name(),
            Map.of(
                "validity", out.validity().name(),
                "summary", out.summary(),
                "details", out.details()));
      }
      results.put("seed", seed);
      results.put("faults", faults);
      results.put("sidecarExits", sidecarExits);
      results.put("stonith", stonith.stops());
      results.put("kv", kvResult.figures());
      results.put(
          "figures",
          ProductLongRun.figures(allOps, rows, faults, activations(), history, readFrom));
      JSON.writerWithDefaultPrettyPrinter()
          .writeValue(runDir.resolve("results.json").toFile(), results);
      LOG.info("product path:\n{}", report);
      assertThat(verdict.validity()).as(report + logHints()).isEqualTo(Validity.VALID);
      assertThat(faults).as(report).hasSize(faultCount);
      stonith.assertCredentialsNotIn(runDir);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + logHints(), e);
    } finally {
      sampling = false;
      if (dnsWatcher != null) {
        dnsWatcher.close();
      }
      if (kv != null) {
        kv.close();
      }
      Runtime.getRuntime().removeShutdownHook(cleanup);
      if (stonith != null) {
        stonith.close();
      }
      removeAll();
    }
  }

  // ------------------------------------------------------------------ the faults

  /**
   * What CI runs, one fault each: the three ways the active's site fails over (the site lost, cut
   * off, its database dead under a live sidecar), about the cost of slice 1's three site losses.
   * {@code pause} and {@code partition-halves} run with {@code -Djepsen.product.nemeses=all}.
   */
  static final String DEFAULT_NEMESES = "kill,partition-isolate-active,pg-kill";

  /**
   * The suite's nemeses that this test runs through the product, and why the others are not here
   * (the error names them): a kind needs a hook or a part that the product path has no reason to
   * carry, or a part this test does not run yet.
   */
  static final Set<NemesisKind> RUN_HERE =
      EnumSet.of(
          NemesisKind.KILL,
          NemesisKind.PARTITION_ISOLATE_ACTIVE,
          NemesisKind.PARTITION_HALVES,
          NemesisKind.PAUSE,
          NemesisKind.PG_KILL,
          NemesisKind.PARTITION_LEADER_AFTER_READ,
          NemesisKind.SWITCH_ACTIVE,
          NemesisKind.HEALTH,
          NemesisKind.DNS_PAUSE,
          NemesisKind.PG_PAUSED_TXN,
          NemesisKind.MEMBERSHIP,
          NemesisKind.WIPE,
          NemesisKind.OUTSIDER,
          NemesisKind.CLOCK,
          NemesisKind.PARTITION_BRIDGE,
          NemesisKind.PARTITION_MAJORITY_RING,
          NemesisKind.REGION_CUT);

  /**
   * Parses {@code jepsen.product.nemeses} as the suite does ({@link NemesisKind#parse}: {@code
   * all}, {@code partition} for every partition kind, wire names); every kind of the suite runs
   * here.
   */
  static Set<NemesisKind> productKinds(String csv) {
    Set<NemesisKind> kinds = EnumSet.noneOf(NemesisKind.class);
    for (String name : csv.split(",")) {
      String n = name.trim();
      if (!n.isEmpty()) {
        try {
          kinds.addAll(NemesisKind.parse(n));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "-Djepsen.product.nemeses=" + csv + ": no fault named " + n, e);
        }
      }
    }
    if (kinds.isEmpty()) {
      throw new IllegalArgumentException("-Djepsen.product.nemeses=" + csv + ": no fault named");
    }
    return kinds;
  }

  private Site otherSite(Site s) {
    return s.id().equals("n1") ? sites.get("n2") : sites.get("n1");
  }

  /**
   * Injects one fault of {@code kind}, waits for what must follow it (the other site active with a
   * higher token and committing, the name moved to it, when the fault hit the active), heals it,
   * and returns the active site afterwards. The fault is recorded in {@code faults}.
   *
   * <ul>
   *   <li>{@code kill}: SIGKILL of a site's container (its sidecar, PostgreSQL and writer): the
   *       active's seven times in ten, else the other site's or the witness; started again after
   *       (the last kill of the active excepted: the run ends on the survivor).
   *   <li>{@code partition-isolate-active}: the active's container cut off (iptables, both ways)
   *       from the other site and the witness, database replication included, until the other site
   *       took over; then healed.
   *   <li>{@code partition-halves}: with three members, one member drawn at random cut off from the
   *       two others for 3 s (a minority), or until a takeover if it is the active.
   *   <li>{@code pause}: SIGSTOP of the active's sidecar (its PostgreSQL and writer run on) until
   *       the other site took over; then SIGCONT.
   *   <li>{@code partition-leader-after-read}: as the suite's, a linearizable KV read through the
   *       Raft leader's sidecar alone (recorded in the KV history, {@link
   *       ProductKv#readThroughLeader}), then that node cut off from the two others as {@code
   *       partition-isolate-active} cuts (the leader is the active, unless the role was moving);
   *       healed after the other site took over, or after a few seconds if it was not the active.
   *   <li>{@code switch-active}, {@code health}, {@code dns-pause}, {@code pg-paused-txn}: {@link
   *       ProductAppFaults}.
   *   <li>{@code membership}, {@code wipe}, {@code outsider}: {@link ProductRaftFaults}.
   *   <li>{@code clock}: a member drawn at random has its sidecar restarted with its clock at a
   *       drifted rate ({@link ProductClock}; a takeover if it was the active), confirmed and
   *       measured on the restarted process; restarted at the normal rate after 15 s of drift.
   * </ul>
   */
  private Site inject(
      NemesisKind kind,
      Site active,
      long token,
      Random random,
      List<Fault> faults,
      String dnsIp,
      boolean last)
      throws IOException {
    List<Site> members = List.copyOf(sites.values());
    Site target;
    Runnable heal;
    String detail = "";
    long t;
    switch (kind) {
      case KILL -> {
        if (random.nextInt(10) < 7) {
          target = active;
        } else {
          List<Site> rest = new ArrayList<>(members);
          rest.remove(active);
          target = rest.get(random.nextInt(rest.size()));
        }
        t = System.nanoTime();
        docker.killContainerCmd(target.container().getContainerId()).withSignal("KILL").exec();
        Site killed = target;
        heal =
            () -> {
              awaitStopped(killed);
              docker.startContainerCmd(killed.container().getContainerId()).exec();
              LOG.info("product path: site {} started again", killed.id());
            };
        if (last && target == active) {
          heal = () -> {};
        }
      }
      case PARTITION_ISOLATE_ACTIVE, PARTITION_HALVES -> {
        target =
            kind == NemesisKind.PARTITION_ISOLATE_ACTIVE
                ? active
                : members.get(random.nextInt(members.size()));
        Site cut = target;
        List<String> peers = members.stream().filter(m -> m != cut).map(Site::ip).toList();
        t = System.nanoTime();
        Cluster.dropTraffic(cut.container(), cut.id(), peers);
        heal =
            () -> {
              Cluster.flushTraffic(cut.container(), cut.id());
              LOG.info("product path: {} healed", cut.id());
            };
      }
      case PARTITION_BRIDGE, PARTITION_MAJORITY_RING -> {
        // As the suite's: with three members a majority ring is a bridge (Nemesis.ring needs
        // five). One member drawn as the bridge, the two others cut off from each other only: two
        // sites that cannot see each other (nor replicate) while both see the witness, or a site
        // and the witness that cannot while both see the other site. The active keeps a majority
        // through the bridge, so nobody must take over; the role may move, and the run goes on
        // from whoever holds it.
        List<Site> shuffled = new ArrayList<>(members);
        Collections.shuffle(shuffled, random);
        Site bridge = shuffled.get(0);
        Site a = shuffled.get(1);
        Site b = shuffled.get(2);
        // The fault is recorded against the member of the cut pair that is not the active.
        target = a == active ? b : a;
        Site other = target == a ? b : a;
        Site cut = target;
        t = System.nanoTime();
        Cluster.dropTraffic(cut.container(), cut.id(), List.of(other.ip()));
        detail =
            cut.id()
                + " and "
                + other.id()
                + " cut from each other, "
                + bridge.id()
                + " the bridge";
        LOG.info("product path: {}", detail);
        heal =
            () -> {
              Cluster.flushTraffic(cut.container(), cut.id());
              LOG.info("product path: {} healed", cut.id());
            };
      }
      case REGION_CUT -> {
        // The active's whole site goes dark and comes back: its container frozen (the cgroup
        // freezer, docker pause), the sidecar, PostgreSQL and writer stopped mid-flight, none of
        // them told. The other site must take over past an old primary it cannot reach (the fence's
        // time bound). On the heal all three wake at once: the writer's transaction in flight
        // carries the old token to a server that still thinks it is the primary, and it must not
        // commit (I3-no-stale-acknowledgement judges it from the writer's log; the guard then
        // rejoins the server).
        target = active;
        Site dark = target;
        t = System.nanoTime();
        docker.pauseContainerCmd(dark.container().getContainerId()).exec();
        heal =
            () -> {
              docker.unpauseContainerCmd(dark.container().getContainerId()).exec();
              LOG.info("product path: {}'s site thawed (docker unpause)", dark.id());
            };
      }
      case PAUSE -> {
        target = active;
        Site paused = target;
        t = System.nanoTime();
        Cluster.execIn(paused.container(), paused.id(), "kill -STOP $(cat /site/sidecar.pid)");
        heal =
            () -> {
              Cluster.execIn(
                  paused.container(), paused.id(), "kill -CONT $(cat /site/sidecar.pid)");
              LOG.info("product path: {}'s sidecar resumed (SIGCONT)", paused.id());
            };
      }
      case PG_KILL -> {
        // The active's PostgreSQL dies under a live sidecar: its health: check (type postgres)
        // counts it down and the active hands the role over. Heal: the server is started again,
        // as systemd's Restart= would, and the guard fences it and rejoins it as a standby.
        target = active;
        Site site = target;
        t = System.nanoTime();
        Cluster.execIn(
            site.container(), site.id(), "kill -KILL $(head -1 " + PG_DATA + "/postmaster.pid)");
        heal =
            () -> {
              Awaitility.await(site.id() + "'s PostgreSQL started again")
                  .atMost(Duration.ofSeconds(60))
                  .pollInterval(Duration.ofSeconds(1))
                  .ignoreExceptions()
                  .until(
                      () -> {
                        Cluster.execIn(
                            site.container(),
                            site.id(),
                            "runuser -u postgres -- "
                                + PG_BIN
                                + "/pg_ctl -D "
                                + PG_DATA
                                + " -l /site/postgres.log -w -t 30 start");
                        return true;
                      });
              LOG.info("product path: {}'s PostgreSQL started again", site.id());
            };
      }
      case PARTITION_LEADER_AFTER_READ -> {
        ProductKv.LeaderRead read = kv.readThroughLeader(active.id());
        target = sites.get(read.leader());
        Site cut = target;
        List<String> peers = members.stream().filter(m -> m != cut).map(Site::ip).toList();
        t = System.nanoTime();
        Cluster.dropTraffic(cut.container(), cut.id(), peers);
        LOG.info("product path: {} cut off right after a {}", cut.id(), read.description());
        heal =
            () -> {
              Cluster.flushTraffic(cut.container(), cut.id());
              LOG.info("product path: {} healed", cut.id());
            };
      }
      case SWITCH_ACTIVE, HEALTH, DNS_PAUSE, PG_PAUSED_TXN -> {
        ProductAppFaults.Injected in =
            appFaults.inject(
                kind, active, otherSite(active), token, random, members, containers, dnsIp, last);
        target = in.target();
        t = in.time();
        heal = in.heal();
      }
      case MEMBERSHIP, WIPE, OUTSIDER -> {
        // Through the operator's CLI, a lost data directory, the Raft port: ProductRaftFaults.
        if (raft == null) {
          raft = new ProductRaftFaults(sites, runDir);
        }
        ProductRaftFaults.Injected in = raft.inject(kind, active, random);
        target = in.target();
        t = in.time();
        heal = in.heal();
      }
      case CLOCK -> {
        // As the suite's clock nemesis: a member drawn at random restarted with its clock at a
        // rate drawn from CLOCK_RATES (its whole JVM, libfaketime), then at the normal rate.
        target = members.get(random.nextInt(members.size()));
        double rate = ProductClock.drawRate(random);
        t = System.nanoTime();
        ProductClock drift = ProductClock.inject(target, rate);
        heal = () -> drift.heal(faults);
      }
      default -> throw new IllegalArgumentException(kind.wireName() + " is not run here");
    }
    boolean takeover = target == active;
    Fault f = new Fault(kind.wireName(), target.id(), takeover ? token : 0, t, takeover);
    if (!detail.isEmpty()) {
      f = f.withDetail(detail);
    }
    faults.add(f);
    LOG.info("product path: fault {}", f.describe());
    if (takeover) {
      Site next = awaitActiveWithCommits(active, token, TAKEOVER);
      LOG.info(
          "product path: {} took over with token {} after {} ms", next.id(), tokenOf(next), ms(t));
      awaitNameOn(dnsIp, next, TAKEOVER);
      if (stonith.poweredOffSince(target.id(), t)) {
        clearFaultFiles(kind, target);
        if (kind == NemesisKind.PG_PAUSED_TXN) {
          // The held transaction's COMMIT is tried whatever happened to its server: the
          // outcome is what held-transaction-fenced judges (its undo tolerates the power-off).
          heal.run();
        }
      }
      stonith.healOr(target, t, heal);
      return next;
    }
    // Off the active: a few seconds of the fault while the active keeps writing.
    long before = committedWith(active, token);
    Awaitility.await("the active " + active.id() + " commits on during " + f.describe())
        .pollDelay(Duration.ofSeconds(3))
        .atMost(TAKEOVER)
        .pollInterval(POLL)
        .until(() -> committedWith(active, token) > before);
    if (stonith.poweredOffSince(target.id(), t)) {
      clearFaultFiles(kind, target);
      if (kind == NemesisKind.PG_PAUSED_TXN) {
        // The held transaction's COMMIT is tried whatever happened to its server: the
        // outcome is what held-transaction-fenced judges (its undo tolerates the power-off).
        heal.run();
      }
    }
    stonith.healOr(target, t, heal);
    // The active may have moved meanwhile (nothing made it): the run goes on from whoever is.
    return awaitActiveWithCommits(null, 0, TAKEOVER);
  }

  // ------------------------------------------------------------------ the sites

  private void writeSiteFiles(Site s, String dnsIp, String tsigSecret) throws IOException {
    boolean witness = s.id().startsWith("w");
    Site n1 = sites.get("n1");
    Site n2 = sites.get("n2");
    StringBuilder y = new StringBuilder();
    y.append("cluster: jepsen-product\n");
    y.append("node: ").append(s.id()).append('\n');
    y.append("dataDir: /site/data\n");
    y.append("clusterSecretFile: /site/cluster.secret\n");
    // The first start only; on a later start the directory exists and the key is ignored.
    y.append("bootstrap: true\n");
    y.append("members:\n");
    for (Site m : sites.values()) {
      y.append("  - id: ").append(m.id()).append('\n');
      y.append("    raft: ").append(m.ip()).append(":7400\n");
      y.append("    control: ").append(m.ip()).append(":7500\n");
      if (m.id().startsWith("w")) {
        y.append("    witness: true\n");
      }
    }
    // /active for the harness; the same port on loopback serves /token to the local writer.
    y.append("http:\n  listen: ").append(s.ip()).append(":8008\n");
    // Five JVMs, two PostgreSQL servers and BIND share the machine's two cores with the build:
    // with the default lease (under 0.7 s) the actives gave up their role under load 25 before
    // their promotion ended (watchdog halts, fence leases not renewed in time), so the run tested
    // churn rather than the site losses. Same on every node (docs/sidecar-config.md, timing).
    y.append("timing:\n  electionTimeoutMin: 2s\n");
    // The clock fault's rates (ProductClock) are within the drift bound the cluster states.
    y.append("  clockDrift: ").append(ProductClock.DRIFT_BOUND).append('\n');
    if (!witness) {
      y.append("promotion:\n  steps:\n");
      y.append("    - name: postgres\n      type: postgres\n      servers:\n");
      y.append("        n1: ").append(n1.ip()).append(":5432\n");
      y.append("        n2: ").append(n2.ip()).append(":5432\n");
      y.append("      user: postgres\n");
      y.append("      fenceResources: [").append(RESOURCE).append("]\n");
      y.append("      fenceLease: {renewInterval: 100ms}\n");
      y.append("      connectTimeout: 1s\n");
      y.append("      formerPrimaryGuard:\n        checkInterval: 500ms\n        rejoin:\n");
      y.append("          dataDirectory: /var/lib/postgresql/data\n");
      y.append("          binDirectory: ").append(PG_BIN).append('\n');
      y.append("          runAs: [runuser, -u, postgres, --]\n");
      y.append("          logFile: /site/postgres.log\n");
      y.append("          recloneOnRewindFailure: true\n");
      y.append("      positionReporter:\n        interval: 500ms\n");
      y.append("      timeout: 60s\n");
      y.append(FenceAgent.stepYaml());
      stonith.writeSiteFiles(s.dir(), s.id());

      y.append("    - name: dns\n      type: dns\n");
      y.append("      server: ").append(dnsIp).append(":53\n");
      y.append("      zone: ").append(ZONE).append('\n');
      y.append("      names:\n        - name: app\n          type: A\n          values:\n");
      y.append("            n1: ").append(n1.ip()).append('\n');
      y.append("            n2: ").append(n2.ip()).append('\n');
      y.append("      ttl: 1s\n");
      y.append("      tsig:\n        keyFile: /site/tsig.key\n");
      y.append("      timeout: 30s\n");
      // The site's server is checked (on the active: a writable primary); a dead server moves the
      // role (the pg-kill fault). One second, three failures: not counted down by a slow probe
      // on a loaded machine, and the move waits at least 5 s after another.
      y.append("health:\n  failuresToDemote: 3\n  successesToRecover: 2\n");
      y.append("  minMoveInterval: 5s\n  checks:\n");
      y.append("    - name: db\n      type: postgres\n      interval: 1s\n      timeout: 1s\n");
      // The health marker flip (ProductAppFaults): a script's verdict, as an operator's check is.
      y.append("    - name: ").append(ProductAppFaults.HEALTH_CHECK).append("\n      type: exec\n");
      y.append("      command: test ! -e ").append(ProductAppFaults.HEALTH_MARKER).append('\n');
      y.append("      interval: 1s\n      timeout: 1s\n");
      Files.writeString(
          s.dir().resolve("tsig.key"),
          "key \"baton-key\" {\n  algorithm hmac-sha256;\n  secret \"" + tsigSecret + "\";\n};\n");
    }
    Files.writeString(s.dir().resolve("node.yaml"), y.toString());
    Files.writeString(
        s.dir().resolve("server.conf"),
        String.join(
            "\n",
            "listen_addresses = '*'",
            "max_connections = 40",
            "shared_buffers = 32MB",
            "fsync = off",
            "wal_level = replica",
            "max_wal_senders = 8",
            "wal_keep_size = 128MB",
            "hot_standby = on",
            "wal_log_hints = on",
            "log_min_messages = warning",
            ""));
    Files.writeString(
        s.dir().resolve("hba.conf"),
        "host all all 0.0.0.0/0 trust\nhost replication all 0.0.0.0/0 trust\n");
    // java @file: the class path is long.
    Files.writeString(s.dir().resolve("classpath.args"), "-cp " + Cluster.classpath() + "\n");
    String jvm =
        "-Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
            + " -XX:+ExitOnOutOfMemoryError @/site/classpath.args";
    String role = s.id().equals("n1") ? "primary" : "standby";
    List<String> script = new ArrayList<>();
    script.add("#!/bin/sh");
    script.add(
        "# Written by ProductPathTest: the site's PostgreSQL, its writer, then its sidecar.");
    if (!witness) {
      script.add("D=/var/lib/postgresql/data");
      script.add("PG='runuser -u postgres --'");
      script.add("if [ ! -f $D/PG_VERSION ]; then");
      script.add("  mkdir -p $D && chown postgres:postgres $D && chmod 700 $D");
      if (role.equals("primary")) {
        script.add("  $PG " + PG_BIN + "/initdb -D $D -U postgres --auth=trust -N >/dev/null");
        script.add("  cat /site/server.conf >> $D/postgresql.conf");
        script.add("  cat /site/hba.conf >> $D/pg_hba.conf");
        script.add("  FIRST=1");
      } else {
        // The first start: a copy of n1's server once it has the writers' tables.
        script.add(
            "  until $PG "
                + PG_BIN
                + "/psql -h "
                + n1.ip()
                + " -U postgres -d postgres -tAc 'SELECT 1 FROM jepsen.commit_order'"
                + " >/dev/null 2>&1; do sleep 0.3; done");
        script.add(
            "  $PG "
                + PG_BIN
                + "/pg_basebackup -h "
                + n1.ip()
                + " -U postgres -D $D -R -X stream -c fast");
      }
      script.add("fi");
      // A server that comes back after a site loss starts as it was; the guard fences and rejoins
      // it when another site holds the writer.
      script.add(
          "$PG "
              + PG_BIN
              + "/pg_ctl -D $D -l /site/postgres.log -w -t 60 start"
              + " || echo 'start.sh: PostgreSQL did not start'");
      if (role.equals("primary")) {
        script.add("if [ -n \"${FIRST:-}\" ]; then");
        script.add(
            "  $PG "
                + PG_BIN
                + "/psql -v ON_ERROR_STOP=1 -U postgres -d postgres -c \"CREATE SCHEMA jepsen;"
                + " CREATE TABLE jepsen.commit_order (id int PRIMARY KEY, n bigint NOT NULL);"
                + " INSERT INTO jepsen.commit_order VALUES (1, 0);"
                + " CREATE TABLE jepsen.writes (commit_seq bigint PRIMARY KEY, token bigint NOT"
                + " NULL, node text NOT NULL, value text NOT NULL UNIQUE);\"");
        script.add("fi");
      }
      script.add(
          "java -Xmx48m "
              + jvm
              + " dev.baton.jepsen.product.ProtocolWriter "
              + s.id()
              + " http://127.0.0.1:8008/token "
              + dnsIp
              + " app."
              + ZONE
              + " "
              + RESOURCE
              + " /site/writer.jsonl "
              + ProductLongRun.writerArgs()
              + " >> /site/writer.log 2>&1 &");
    }
    // The sidecar runs under a restart loop, as under systemd's Restart=always: a sidecar that
    // halts itself (the watchdog, exit 70) comes back, while the site's PostgreSQL and writer keep
    // running. The fault is the SIGKILL of the container's first process, this loop: the kernel
    // then kills every process of the container, the sidecar, PostgreSQL and the writer (a site
    // loss). Each exit is written to sidecar.log, and the run reports how many there were.
    script.add("while true; do");
    // Held stopped while the harness works on the site (ProductRaftFaults: wipe, membership).
    script.add("  while [ -e /site/hold ]; do sleep 0.2; done");
    // In the background with its pid written down, for the pause fault (SIGSTOP of the sidecar
    // alone).
    script.add(ProductClock.LOOP_LINE);
    script.add(
        "  \"$@\" java -Xmx160m "
            + jvm
            + " dev.baton.sidecar.Main sidecar --config /site/node.yaml >> /site/sidecar.log 2>&1 &");
    script.add("  echo $! > /site/sidecar.pid");
    script.add("  wait $!");
    script.add(
        "  echo \"start.sh: the sidecar exited with status $? at $(date -u +%FT%TZ); starting it"
            + " again in 1 s\" >> /site/sidecar.log");
    script.add("  sleep 1");
    script.add("done");
    Files.writeString(s.dir().resolve("start.sh"), String.join("\n", script) + "\n");
  }

  private void startSite(String image, Site s) {
    GenericContainer<?> c =
        container(image, s.id(), s.ip())
            .withFileSystemBind(s.dir().toString(), "/site", BindMode.READ_WRITE)
            .withCommand("sh", "/site/start.sh");
    for (String mount : Cluster.classpathMounts()) {
      c.withFileSystemBind(mount, mount, BindMode.READ_ONLY);
    }
    c.start();
    sites.put(s.id(), new Site(s.id(), s.ip(), s.dir(), c));
  }

  private GenericContainer<?> container(String image, String name, String ip) {
    GenericContainer<?> c =
        new GenericContainer<>(DockerImageName.parse(image))
            .withNetwork(network)
            .withCreateContainerCmdModifier(
                cmd -> {
                  cmd.withName("baton-product-" + name + "-" + network.getId().substring(0, 8))
                      .withHostName(name)
                      .withIpv4Address(ip);
                  // The partitions are iptables rules in the container's own namespace.
                  cmd.getHostConfig().withCapAdd(Capability.NET_ADMIN);
                });
    containers.add(c);
    return c;
  }

  private void createNetwork() {
    Cluster.RunNetwork n =
        Cluster.createNetwork("baton-product-" + Long.toString(System.nanoTime(), 36), "172.28.");
    network = n.network();
    prefix = n.prefix();
  }

  private synchronized void removeAll() {
    List<GenericContainer<?>> all = new ArrayList<>(containers);
    containers.clear();
    for (GenericContainer<?> c : all) {
      try {
        if (c.getContainerId() != null) {
          docker.removeContainerCmd(c.getContainerId()).withForce(true).exec();
        }
      } catch (RuntimeException e) {
        LOG.warn("removing a container: {}", e.toString());
      }
    }
    if (network != null) {
      Network n = network;
      network = null;
      try {
        n.close();
      } catch (RuntimeException e) {
        LOG.warn("removing the network: {}", e.toString());
      }
    }
  }

  // ------------------------------------------------------------------ observing

  private void sample(Site s) {
    while (sampling) {
      long t0 = System.nanoTime();
      long token = 0;
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(s.url("/active")))
                    .timeout(Duration.ofMillis(500))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          token = r.headers().firstValue("X-Baton-Token").map(Long::parseLong).orElse(0L);
        }
      } catch (IOException e) {
        // Down or not started yet: not known to be active.
      } catch (InterruptedException e) {
        return;
      }
      long t1 = System.nanoTime();
      synchronized (samples) {
        samples.add(new Sample(s.id(), t0, t1, token));
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
    }
  }

  /**
   * The sampled activations: per node, the samples that answered active with one token. A token
   * names one activation, so its first and last samples bound it.
   */
  private List<Activation> activations() {
    List<Sample> all;
    synchronized (samples) {
      all = new ArrayList<>(samples);
    }
    all.sort(java.util.Comparator.comparingLong(Sample::t0));
    Map<String, long[]> byKey = new LinkedHashMap<>();
    Map<String, Long> lastActive = new LinkedHashMap<>();
    for (Sample s : all) {
      String node = s.node();
      if (s.token() > 0) {
        String key = node + "/" + s.token();
        long[] a = byKey.get(key);
        if (a == null) {
          byKey.put(key, new long[] {s.t0(), s.t1(), s.t0(), s.t1(), -1, 1});
        } else {
          a[2] = s.t0();
          a[3] = s.t1();
          a[5]++;
        }
        lastActive.put(node, s.token());
      } else if (lastActive.containsKey(node)) {
        long[] a = byKey.get(node + "/" + lastActive.remove(node));
        if (a[4] < 0) {
          a[4] = s.t0();
        }
      }
    }
    List<Activation> out = new ArrayList<>();
    for (Map.Entry<String, long[]> e : byKey.entrySet()) {
      String[] k = e.getKey().split("/");
      long[] a = e.getValue();
      out.add(
          new Activation(k[0], 0, Long.parseLong(k[1]), a[0], a[1], a[2], a[3], a[4], (int) a[5]));
    }
    out.sort(java.util.Comparator.comparingLong(Activation::firstT0));
    return out;
  }

  long tokenOf(Site s) {
    return tokenOf(http, s);
  }

  /**
   * The token {@code s}'s sidecar answers {@code GET /active} with ({@code X-Baton-Token}), or 0 if
   * it is not active or does not answer within a second.
   */
  static long tokenOf(HttpClient http, Site s) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(s.url("/active")))
                  .timeout(Duration.ofMillis(1000))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200
          ? r.headers().firstValue("X-Baton-Token").map(Long::parseLong).orElse(0L)
          : 0;
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /**
   * Waits until an eligible node other than {@code killed} is active with a token above {@code
   * after} and its writer has committed a row with that token on its own server.
   */
  private Site awaitActiveWithCommits(Site killed, long after, Duration timeout) {
    String what =
        killed == null
            ? "a node is active and its writer commits"
            : "a node other than "
                + killed.id()
                + " is active with a token above "
                + after
                + " and its writer commits with it";
    return Awaitility.await(what)
        .atMost(timeout)
        .pollInterval(POLL)
        .until(
            () -> {
              for (String id : List.of("n1", "n2")) {
                Site s = sites.get(id);
                if (killed != null && killed.id().equals(id)) {
                  continue;
                }
                long t = tokenOf(s);
                if (t > after && committedWith(s, t) > 0) {
                  return Optional.of(s);
                }
              }
              return Optional.<Site>empty();
            },
            Optional::isPresent)
        .get();
  }

  /**
   * The files a fault left in its target's site directory that its heal would remove, removed when
   * the fence agent powered the target off during the fault: {@link FenceAgent#healOr} then powers
   * it on instead of running the heal, and a health marker or a clock rate left behind would keep
   * the site unhealthy, or its sidecar drifted, for the rest of the run.
   */
  private static void clearFaultFiles(NemesisKind kind, Site target) throws IOException {
    if (kind == NemesisKind.HEALTH) {
      Files.deleteIfExists(ProductAppFaults.markerOf(target));
    } else if (kind == NemesisKind.CLOCK) {
      Files.deleteIfExists(ProductClock.rateFile(target));
    }
  }

  /**
   * Waits until an eligible node is active and its writer has committed {@code rows} rows with its
   * token, and answers both, read together: the role may move while the harness waits.
   */
  private Map.Entry<Site, Long> awaitActiveCommitted(int rows, Duration timeout) {
    return Awaitility.await(
            "a node is active and its writer committed " + rows + " rows with its token")
        .atMost(timeout)
        .pollInterval(POLL)
        .until(
            () -> {
              for (String id : List.of("n1", "n2")) {
                Site s = sites.get(id);
                long t = tokenOf(s);
                if (t > 0 && committedWith(s, t) >= rows) {
                  return Optional.of(Map.entry(s, t));
                }
              }
              return Optional.<Map.Entry<Site, Long>>empty();
            },
            Optional::isPresent)
        .get();
  }

  private void awaitCommitted(Site s, long token, int rows, Duration timeout) {
    Awaitility.await(s.id() + "'s writer commits " + rows + " rows with token " + token)
        .atMost(timeout)
        .pollInterval(POLL)
        .until(() -> committedWith(s, token) >= rows);
  }

  private static long committedWith(Site s, long token) {
    try (Connection c = connect(s);
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery("SELECT count(*) FROM jepsen.writes WHERE token = " + token)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      return 0;
    }
  }

  /** Waits until {@code s}'s sidecar answers {@code GET /health} with 200 (it runs). */
  private void awaitUp(Site s, Duration timeout) {
    Awaitility.await(s.id() + "'s sidecar answers /health")
        .atMost(timeout)
        .pollInterval(POLL)
        .ignoreExceptions()
        .until(
            () ->
                http.send(
                            HttpRequest.newBuilder(URI.create(s.url("/health")))
                                .timeout(Duration.ofMillis(1000))
                                .GET()
                                .build(),
                            HttpResponse.BodyHandlers.discarding())
                        .statusCode()
                    == 200);
  }

  /** Waits until {@code standby}'s server streams from {@code primary}'s (the guard's rejoin). */
  private void awaitStreaming(Site primary, Site standby, Duration timeout) {
    Awaitility.await(standby.id() + "'s server streams from " + primary.id() + "'s")
        .atMost(timeout)
        .pollInterval(POLL)
        .ignoreExceptions()
        .until(
            () -> {
              try (Connection c = connect(primary);
                  Statement st = c.createStatement();
                  ResultSet rs =
                      st.executeQuery(
                          "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                              + " AND client_addr = '"
                              + standby.ip()
                              + "'")) {
                rs.next();
                return rs.getLong(1) > 0;
              }
            });
  }

  private void awaitNameOn(String dnsIp, Site s, Duration timeout) throws IOException {
    SimpleResolver resolver = new SimpleResolver(InetAddress.getByName(dnsIp));
    resolver.setTimeout(Duration.ofMillis(500));
    Name app = Name.fromString("app." + ZONE + ".");
    Awaitility.await("app." + ZONE + " points at " + s.id() + " (" + s.ip() + ")")
        .atMost(timeout)
        .pollInterval(POLL)
        .ignoreExceptions()
        .until(
            () -> {
              Message m = resolver.send(Message.newQuery(Record.newRecord(app, Type.A, DClass.IN)));
              for (Record r : m.getSection(Section.ANSWER)) {
                if (r instanceof ARecord a && a.getAddress().getHostAddress().equals(s.ip())) {
                  return true;
                }
              }
              return false;
            });
  }

  void awaitStopped(Site s) {
    Awaitility.await(s.id() + "'s container stopped")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                !Boolean.TRUE.equals(
                    docker
                        .inspectContainerCmd(s.container().getContainerId())
                        .exec()
                        .getState()
                        .getRunning()));
  }

  private static Connection connect(Site s) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "2");
    p.setProperty("socketTimeout", "10");
    return DriverManager.getConnection("jdbc:postgresql://" + s.ip() + ":5432/postgres", p);
  }

  private static List<Row> readRows(Site primary) throws SQLException {
    List<Row> rows = new ArrayList<>();
    try (Connection c = connect(primary);
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT commit_seq, token, node, value FROM jepsen.writes ORDER BY commit_seq")) {
      while (rs.next()) {
        rows.add(new Row(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
      }
    }
    return rows;
  }

  /**
   * The tokens of every activation the cluster recorded ({@code GET /history}), per node; the
   * answer is kept as {@code history.json}.
   */
  private Map<String, List<Long>> readHistory(Site s) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(s.url("/history")))
                .timeout(Duration.ofSeconds(5))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    Files.writeString(runDir.resolve("history.json"), r.body());
    assertThat(r.statusCode()).as("GET /history on " + s.id() + ": " + r.body()).isEqualTo(200);
    Map<String, List<Long>> out = new java.util.TreeMap<>();
    collectTokens(JSON.readTree(r.body()), out);
    return out;
  }

  private static void collectTokens(JsonNode n, Map<String, List<Long>> out) {
    // The control API's Activation as JSON: nodeId and token (a uint64: a string in proto JSON).
    JsonNode node = n.has("nodeId") ? n.path("nodeId") : n.path("node");
    if (n.isObject() && n.has("token") && node.isTextual()) {
      long token = n.path("token").asLong();
      List<Long> tokens = out.computeIfAbsent(node.asText(), k -> new ArrayList<>());
      if (token > 0 && !tokens.contains(token)) {
        tokens.add(token);
      }
    }
    for (JsonNode child : n) {
      collectTokens(child, out);
    }
  }

  /** The writer's log as the suite's fenced-write operations (value {@code [token, value]}). */
  static List<NodeEvents.Op> readWriterOps(Site s) throws IOException {
    Path file = s.dir().resolve("writer.jsonl");
    List<NodeEvents.Op> ops = new ArrayList<>();
    if (!Files.exists(file)) {
      throw new IOException(s.id() + "'s writer log " + file + " is missing: the writer never ran");
    }
    int incarnation = -1;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      JsonNode r;
      try {
        r = JSON.readTree(line);
      } catch (IOException e) {
        continue; // a line cut short by SIGKILL
      }
      String e = r.path("e").asText();
      if (e.equals("start")) {
        incarnation++;
      } else if (e.equals("op")) {
        ops.add(
            new NodeEvents.Op(
                s.id(),
                incarnation,
                ProductLongRun.writerProc(s.id(), incarnation, r),
                r.path("type").asText(),
                r.path("time").asLong(),
                List.of(r.path("token").asLong(), r.path("value").asText()),
                r.has("seq") ? r.path("seq").asLong() : null,
                r.has("error") ? r.path("error").asText() : null));
      }
    }
    return ops;
  }

  private String logHints() {
    StringBuilder b = new StringBuilder("\nlogs under ").append(runDir).append("/containers:");
    for (Site s : sites.values()) {
      for (String f : List.of("sidecar.log", "postgres.log", "writer.log")) {
        Path p = s.dir().resolve(f);
        if (Files.exists(p)) {
          b.append("\n--- ").append(s.id()).append('/').append(f).append(" (last lines)\n");
          try {
            List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
            b.append(
                String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
          } catch (IOException e) {
            b.append("(unreadable: ").append(e).append(')');
          }
        }
      }
    }
    return b.toString();
  }

  private static long ms(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new SecureRandom().nextBytes(b);
    return b;
  }
}
