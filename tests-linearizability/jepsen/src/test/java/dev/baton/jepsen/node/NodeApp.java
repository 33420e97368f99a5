package dev.baton.jepsen.node;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.HealthCheck;
import dev.baton.core.Member;
import dev.baton.core.PromotionPlan;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.StepPolicy;
import dev.baton.core.Ticker;
import dev.baton.core.Timing;
import dev.baton.core.control.ControlServer;
import dev.baton.dns.DnsSwitch;
import dev.baton.postgres.FenceLeaseRenewer;
import dev.baton.postgres.PostgresFence;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node app of the Jepsen-style suite: a small service that embeds Baton, run in each node
 * container ({@code java ... dev.baton.jepsen.node.NodeApp /jepsen/node.properties}).
 *
 * <p>It runs one {@link BatonNode} with a promotion plan that advances a PostgreSQL fence
 * (recorded, see {@link RecordingFence}) and switches a DNS name with {@link DnsSwitch}; serves the
 * gRPC control API (the harness's KV client talks to it); samples {@code activeContext()} every
 * millisecond ({@link ActiveSampler}); and, while active, writes fenced rows ({@link
 * FencedWriter}). Everything it observes goes to {@code events.jsonl} in its directory, which the
 * harness reads after the run.
 *
 * <p>Test-only switches, read from the node directory when the process starts, and given to the
 * node as its {@link Ticker} (production code has no switch for either): {@code clock-rate} (a file
 * holding e.g. {@code 1.05}: the lease is measured on a ticker running at that rate; the
 * clock-drift nemesis rewrites it and restarts the node) and {@code unsafe=true} in the properties
 * (a ticker that never advances, so the lease never ends, and writes without the fence: the
 * self-test). With {@code health.marker=true} (runs with the health nemesis) the node runs a {@link
 * MarkerHealthCheck}: unhealthy while the file {@code unhealthy} exists in its directory.
 */
public final class NodeApp {
  private static final Logger LOG = LoggerFactory.getLogger(NodeApp.class);

  private NodeApp() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: NodeApp NODE_PROPERTIES_FILE");
      System.exit(2);
    }
    Path propsFile = Path.of(args[0]);
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(propsFile)) {
      p.load(r);
    }
    Path dir = propsFile.getParent();
    String nodeId = required(p, "node.id");
    boolean unsafe = Boolean.parseBoolean(p.getProperty("unsafe", "false"));
    String clockRate = readClockRate(dir);
    Ticker ticker = ticker(unsafe, clockRate);
    Timing timing = clockRate == null ? Timing.DEFAULTS : drifted(Double.parseDouble(clockRate));
    int incarnation = nextIncarnation(dir);
    EventLog log = new EventLog(dir.resolve("events.jsonl"));
    log.write(
        "start",
        "node",
        nodeId,
        "incarnation",
        incarnation,
        "pid",
        ProcessHandle.current().pid(),
        "clockRate",
        clockRate == null ? 1.0 : Double.parseDouble(clockRate),
        "unsafe",
        unsafe);

    List<Member> members = new ArrayList<>();
    Map<String, String> control = new LinkedHashMap<>();
    int controlPort = Integer.parseInt(p.getProperty("control.port", "7500"));
    String selfHost = null;
    for (String m : required(p, "members").split(",")) {
      String[] idAddress = m.trim().split("=", 2);
      members.add(Member.voter(idAddress[0], idAddress[1]));
      String host = idAddress[1].substring(0, idAddress[1].lastIndexOf(':'));
      control.put(idAddress[0], host + ":" + controlPort);
      if (idAddress[0].equals(nodeId)) {
        selfHost = host;
      }
    }

    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setURL(required(p, "pg.url"));
    pg.setUser("postgres");
    pg.setConnectTimeout(2);
    pg.setSocketTimeout(5);
    pg.setLoginTimeout(3);

    DnsSwitch dns =
        DnsSwitch.builder()
            .server(required(p, "dns.server"), 53)
            .zone(required(p, "dns.zone"))
            .tsig("baton-key", "hmac-sha256", required(p, "dns.secret"))
            .address("app", selfHost)
            .ttl(Duration.ofSeconds(5))
            .queryTimeout(Duration.ofSeconds(1))
            .attempts(2)
            .verifyTimeout(Duration.ofSeconds(3))
            .operationTimeout(Duration.ofSeconds(5))
            .build();

    // The self-test's unsafe mode runs no plan: no fence is advanced (its writes skip the fence
    // too), and no plan step can find the lease lapsed: the core's plan runner still checks the
    // lease, and a promotion it abandons leaves an unsafe node PROMOTING for good, because an
    // unsafe node never demotes for its lease.
    // The fence is bounded in time (protocol version 3, issue 32): the advance writes the token's
    // lease lapsed and this node renews it on the primary while it is active (the renewer below),
    // so a cut-off or paused active's primary refuses its token once its lease would have ended
    // (the region-cut nemesis checks it).
    PostgresFence fence =
        PostgresFence.builder(pg)
            .resource(FencedWriter.RESOURCE)
            .maxLockWait(Duration.ofSeconds(5))
            .timeBound(true)
            .build();
    PromotionPlan plan =
        unsafe
            ? PromotionPlan.empty()
            : PromotionPlan.builder()
                .fence(
                    new RecordingFence(fence, log, nodeId),
                    StepPolicy.mustSucceed()
                        .withTimeout(Duration.ofSeconds(8))
                        .withMaxAttempts(2)
                        .withBackoff(Duration.ofMillis(100), Duration.ofMillis(500)))
                .action(
                    dns,
                    StepPolicy.mustSucceed()
                        .withTimeout(Duration.ofSeconds(6))
                        .withMaxAttempts(2)
                        .withBackoff(Duration.ofMillis(100), Duration.ofMillis(500)))
                .build();

    // The node's meters, for its refusal counter (baton.raft.refused): the outsider check's
    // evidence
    // that a refused attempt reached the Raft port and was refused there.
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    List<HealthCheck> healthChecks =
        Boolean.parseBoolean(p.getProperty("health.marker", "false"))
            ? List.of(new MarkerHealthCheck(dir, log))
            : List.of();
    BatonNode node =
        BatonNode.builder()
            .meterRegistry(meters)
            .clusterId("jepsen")
            .nodeId(nodeId)
            .members(members)
            .dataDir(Path.of(p.getProperty("data.dir", "/var/lib/baton")))
            .clusterSecret(Path.of(required(p, "cluster.secret.file")))
            .operationTimeout(Duration.ofSeconds(3))
            .failureBackoff(Duration.ofSeconds(3))
            .promotionPlan(plan)
            .ticker(ticker)
            .joining(Files.exists(dir.resolve("joining")))
            // The harness, as operator, marks each node's first start and removes the marker once
            // the node has claimed its data directory: a wiped node must then be re-added.
            .bootstrap(
                Files.exists(dir.resolve("bootstrap")) && !Files.exists(dir.resolve("joining")))
            .timing(timing)
            // The health nemesis flips this node's health with a marker file in its directory.
            .healthChecks(healthChecks)
            .healthPolicy(MarkerHealthCheck.POLICY)
            .listener(
                new RoleListener() {
                  @Override
                  public void onActive(ActiveContext ctx) {
                    log.write(
                        "role",
                        "role",
                        "active",
                        "token",
                        ctx.token(),
                        "previous",
                        ctx.previousActive().orElse(""),
                        "previousToken",
                        ctx.previousToken());
                  }

                  @Override
                  public void onStandby(StandbyReason reason) {
                    log.write("role", "role", "standby", "reason", reason.name());
                  }
                },
                Executors.newSingleThreadExecutor())
            .build();
    node.start();
    ControlServer controlServer =
        ControlServer.builder(node)
            .listen("0.0.0.0", controlPort)
            .peerControlAddresses(control)
            // Plaintext on purpose, inside the test's own container network: the harness's
            // clients hold no credentials.
            .insecurePlaintext()
            .build()
            .start();
    log.write("started", "node", nodeId);

    ActiveSampler sampler = new ActiveSampler(node, log);
    FencedWriter writer =
        new FencedWriter(
            node,
            pg,
            unsafe,
            log,
            nodeId + "." + incarnation,
            Long.parseLong(p.getProperty("write.interval.ms", "20")),
            dir);
    FenceLeaseRenewer renewer =
        unsafe
            ? null
            : FenceLeaseRenewer.start(
                pg, List.of(fence), node::activeContext, Duration.ofMillis(100));
    JournalRecorder journal = new JournalRecorder(node, log);
    RefusalRecorder refusals = new RefusalRecorder(meters, log);
    Thread refusalThread = new Thread(refusals, "jepsen-refusals");
    refusalThread.setDaemon(true);
    refusalThread.start();
    Thread journalThread = new Thread(journal, "jepsen-journal");
    journalThread.setDaemon(true);
    journalThread.start();
    Thread samplerThread = new Thread(sampler, "jepsen-sampler");
    samplerThread.setPriority(Thread.MAX_PRIORITY);
    samplerThread.start();
    Thread writerThread = new Thread(writer, "jepsen-writer");
    writerThread.start();
    LOG.info("node app {} running (incarnation {}, unsafe {})", nodeId, incarnation, unsafe);

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  writer.stop();
                  if (renewer != null) {
                    renewer.close();
                  }
                  sampler.stop();
                  journal.stop();
                  refusals.stop();
                  controlServer.close();
                  node.close();
                  log.write("stopped", "node", nodeId);
                }));
    exitWhenStoppedItself(node.stoppedItself(), log, nodeId, dir, NodeApp::exit);
    samplerThread.join();
  }

  /**
   * The exit status of a node app whose node stopped by itself, the sidecar's (its {@code Main}):
   * the harness restarts a node that exits with it, as a supervisor would, and records the
   * self-stop.
   */
  public static final int SELF_STOP_STATUS = 3;

  /** The file in the node directory holding why the node last stopped by itself. */
  public static final String STOP_REASON_FILE = "stop-reason";

  /**
   * Like the sidecar: a node that stops by itself (its Raft server stopped, a committed entry in a
   * newer format) takes the app down with it, with {@link #SELF_STOP_STATUS}, rather than serve on
   * with a dead node. Records why in {@code events.jsonl} ({@code stopped-itself}) and in {@link
   * #STOP_REASON_FILE}, then calls {@code exit} on a thread of its own (the completion may run on a
   * thread the shutdown hooks wait for).
   */
  static void exitWhenStoppedItself(
      java.util.concurrent.CompletionStage<String> stopped,
      EventLog log,
      String nodeId,
      Path dir,
      java.util.function.IntConsumer exit) {
    stopped.thenAccept(
        reason -> {
          LOG.error(
              "node app {}: the node stopped by itself, exiting with status {}: {}",
              nodeId,
              SELF_STOP_STATUS,
              reason);
          try {
            log.write("stopped-itself", "node", nodeId, "reason", reason);
            Files.writeString(dir.resolve(STOP_REASON_FILE), reason);
          } catch (IOException | RuntimeException e) {
            LOG.warn("node app {}: recording why it stops: {}", nodeId, e.toString());
          }
          Thread t = new Thread(() -> exit.accept(SELF_STOP_STATUS), "jepsen-self-stop-exit");
          t.start();
        });
  }

  /** {@code System.exit}, and a halt if the shutdown hooks have not finished within 20 s. */
  static void exit(int status) {
    Thread halt =
        new Thread(
            () -> {
              LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(20));
              Runtime.getRuntime().halt(status);
            },
            "jepsen-exit-halt");
    halt.setDaemon(true);
    halt.start();
    System.exit(status);
  }

  private static String required(Properties p, String key) {
    String v = p.getProperty(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("node properties: '" + key + "' is missing");
    }
    return v.trim();
  }

  /**
   * The lease's time source. Unsafe (the self-test): a ticker that never advances, so no lease ever
   * runs out and a node believes it is active for as long as it thinks it leads: the broken design
   * the lease exists to prevent. Drift: {@code System.nanoTime()} scaled by the rate from the
   * moment the node starts.
   */
  static Ticker ticker(boolean unsafe, String clockRate) {
    if (unsafe) {
      LOG.error(
          "TEST ONLY: unsafe mode: this node's lease never ends and it CAN cause split brain");
      return () -> 0L;
    }
    if (clockRate == null) {
      return Ticker.system();
    }
    double rate = Double.parseDouble(clockRate);
    if (!(rate > 0.1 && rate < 10)) {
      throw new IllegalArgumentException("clock-rate " + rate + " is outside (0.1, 10)");
    }
    LOG.warn("TEST ONLY: this node's lease clock runs at rate {}", rate);
    long origin = System.nanoTime();
    return () -> origin + (long) ((System.nanoTime() - origin) * rate);
  }

  /**
   * The whole node drifts, not only its lease clock. A node whose clock runs {@code rate} times
   * fast waits {@code 1/rate} of every configured duration in real time; Ratis's timers (election
   * timeout, the pre-vote refusal window, the leader's step-down) read {@code System.nanoTime()},
   * which the test cannot speed up, so they are given the durations the drifted node would wait:
   * the election timeouts divided by the rate. The lease is measured on the drifted {@link
   * #ticker}, so its configured length must stay the default's 692 ms: the margin is chosen so that
   * {@code min' × (1 − drift) − margin' = } the default lease. A fast follower then refuses
   * pre-votes for only 800/1.08 = 741 ms of real time, the case the 1% bound is about.
   */
  static Timing drifted(double rate) {
    Timing d = Timing.DEFAULTS;
    Duration min = Duration.ofNanos((long) (d.electionTimeoutMin().toNanos() / rate));
    Duration max = Duration.ofNanos((long) (d.electionTimeoutMax().toNanos() / rate));
    long leaseNanos = d.lease().toNanos();
    Duration margin = Duration.ofNanos((long) (min.toNanos() * (1 - d.clockDrift())) - leaseNanos);
    return new Timing(min, max, d.clockDrift(), margin, d.renewInterval(), d.demotionReserve());
  }

  private static String readClockRate(Path dir) throws IOException {
    Path f = dir.resolve("clock-rate");
    if (!Files.exists(f)) {
      return null;
    }
    String s = Files.readString(f).trim();
    return s.isEmpty() || s.equals("1") || s.equals("1.0") ? null : s;
  }

  private static int nextIncarnation(Path dir) throws IOException {
    Path f = dir.resolve("incarnation");
    int n = Files.exists(f) ? Integer.parseInt(Files.readString(f).trim()) + 1 : 0;
    Files.writeString(f, Integer.toString(n));
    return n;
  }
}
