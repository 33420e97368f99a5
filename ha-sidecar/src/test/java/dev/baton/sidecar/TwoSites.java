package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.dns.TsigAlgorithm;
import dev.baton.testing.dns.BindServer;
import dev.baton.testing.postgres.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The two-sites setup of the sidecar mission: three real sidecar processes (n1 beside the
 * PostgreSQL server east, n2 beside west, the witness w1), each eligible node with a {@code type:
 * postgres} and a {@code type: dns} step and a {@code type: postgres} health check from its YAML, a
 * real PostgreSQL 15 primary and streaming standby, a real BIND 9, and a Python writer beside each
 * database node that takes the token from its sidecar's {@code /token}, finds the primary through
 * the DNS name, and writes through the fence ({@code baton.check_fence}) in every transaction.
 *
 * <p>The servers listen on the same port on two loopback addresses, so the DNS name's A record is
 * what tells the writer where the primary is.
 *
 * <p>Started once for several cases: each case begins with {@link #baseline()}, which brings the
 * sites back to the state {@link #start()} leaves (n1 active on east, west a streaming standby, the
 * name on east), whatever the case before it did.
 */
final class TwoSites implements AutoCloseable {
  static final Duration LIVENESS = Duration.ofSeconds(90);
  static final String EAST_IP = "127.0.10.1";
  static final String WEST_IP = "127.0.10.2";
  static final String RESOURCE = "orders";
  static final Duration PLANE_CHECK_INTERVAL = Duration.ofMillis(500);
  private static final Path WRITER_PROGRAM =
      Path.of("..", "examples", "python-fenced-writer", "fenced_writer.py").toAbsolutePath();

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  final int pgPort = SidecarProcesses.freePort();

  /**
   * East's region as a network namespace (null: everything on loopback). With it, east's server, n1
   * and n1's writer run inside; west, n2, the witness and BIND listen on the namespace link's host
   * end, the only address of this machine that a process inside reaches.
   */
  final NetworkNamespace region;

  /** East's and west's addresses: {@link #EAST_IP} and {@link #WEST_IP} unless {@link #region}. */
  final String eastIp;

  final String westIp;

  /** Where BIND is dialled from the sidecars and writers. */
  private String dnsHost;

  PostgresServer east;
  PostgresServer west;
  BindServer dns;
  String name;
  SidecarProcesses cluster;
  Writer w1;
  Writer w2;

  /**
   * The management plane's health endpoint beside each database node (n1, n2), checked by an http
   * check of its sidecar: a case sets one down to stand for a plane that fails while its node, its
   * database and the network stay fine.
   */
  final Map<String, Plane> planes = new java.util.LinkedHashMap<>();

  private TwoSites(NetworkNamespace region) {
    this.region = region;
    this.eastIp = region == null ? EAST_IP : region.address();
    this.westIp = region == null ? WEST_IP : region.hostAddress();
    if (region != null) {
      cleanup.add(region); // closed last, once every process inside has stopped
    }
  }

  /**
   * Starts the servers, the sidecars (n1 and the witness first, so that n1 is the first active) and
   * the writers, and waits until n2 holds the log and the name points at east.
   */
  static TwoSites start() throws Exception {
    return start(new TwoSites(null));
  }

  /**
   * As {@link #start()}, with east's region (its PostgreSQL, n1 and n1's writer) in a new {@link
   * NetworkNamespace} that a test can cut off; east's server records commit timestamps ({@code
   * track_commit_timestamp}), so a test can read when each row committed by the database's clock.
   * No plane checks: the test's plane endpoints are not reachable from inside.
   */
  static TwoSites startWithEastInRegion() throws Exception {
    return start(new TwoSites(NetworkNamespace.create()));
  }

  private static TwoSites start(TwoSites s) throws Exception {
    try {
      s.startAll();
      return s;
    } catch (Exception | AssertionError e) {
      s.close();
      throw e;
    }
  }

  private void startAll() throws Exception {
    Map<String, SidecarProcesses.Placement> placements = Map.of();
    if (region == null) {
      east = closeLater(PostgresServer.startPrimary("east", EAST_IP, pgPort, Map.of()));
      west = closeLater(PostgresServer.startStandbyOf(east, "west", WEST_IP, pgPort, Map.of()));
      dns = closeLater(BindServer.start());
      dnsHost = dns.host();
    } else {
      String cidr = region.network();
      Map<String, String> settings = Map.of("track_commit_timestamp", "on");
      east =
          closeLater(
              PostgresServer.startPrimary(
                  "east",
                  eastIp,
                  pgPort,
                  settings,
                  new PostgresServer.Placement(region.command(), List.of(cidr))));
      west =
          closeLater(
              PostgresServer.startStandbyOf(
                  east,
                  "west",
                  westIp,
                  pgPort,
                  settings,
                  new PostgresServer.Placement(List.of(), List.of(cidr))));
      dns = closeLater(BindServer.builder().alsoListenOn(westIp, cidr).start());
      dnsHost = westIp;
      SidecarProcesses.Placement hostSide = new SidecarProcesses.Placement(westIp, List.of());
      placements =
          Map.of(
              "n1",
              new SidecarProcesses.Placement(eastIp, region.command()),
              "n2",
              hostSide,
              "w1",
              hostSide);
    }
    Path keyFile = dns.keyFile(TsigAlgorithm.HMAC_SHA256.bindName());
    Map<String, PostgresServer> local = Map.of("n1", east, "n2", west);
    if (region == null) {
      for (String id : List.of("n1", "n2")) {
        planes.put(id, closeLater(new Plane()));
      }
    }
    name = "db." + dns.zone();
    cluster =
        closeLater(
            new SidecarProcesses(
                List.of("n1", "n2", "w1"),
                Set.of("w1"),
                (dir, n) ->
                    config(
                        n.id,
                        local.get(n.id),
                        pgPort,
                        dnsStepTarget(dnsHost, dns, keyFile, eastIp, westIp),
                        planes.containsKey(n.id) ? planes.get(n.id).port() : 0,
                        eastIp,
                        westIp,
                        region != null),
                placements));
    // Trust authentication on loopback ignores it, but the file is read as a deployment's is.
    Files.writeString(cluster.dir.resolve("pg-password"), "not-used-with-trust\n");

    cluster.startWithFirstActive("n1", "w1", "n2", LIVENESS);
    await("the name points at east")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(eastIp)));
    List<String> inEast = region == null ? List.of() : region.command();
    w1 = closeLater(new Writer(cluster, "n1", dnsHost, dns, name, pgPort, inEast));
    w2 = closeLater(new Writer(cluster, "n2", dnsHost, dns, name, pgPort, List.of()));
  }

  /**
   * Starts a writer inside east's region that holds {@code token} for good (as an application that
   * read it once and keeps it), writing straight to east's address every 50 ms: what east's fence
   * refuses once the time bound of {@code token} has passed.
   */
  Writer holderInEast(long token) throws IOException {
    Writer w =
        new Writer(
            cluster.dir.resolve("writer-holder"),
            region.command(),
            Writer.straightTo(eastIp, pgPort, token, "holder", "--interval-ms", "50"));
    return closeLater(w);
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    cleanup.add(c);
    return c;
  }

  /**
   * Brings the sites back to where {@link #start()} left them, if a case before moved them. Decided
   * by the databases, not by a look at {@code /active}: on a loaded machine a node can lose a lease
   * and win the role again (ENVIRONMENT.md), so a momentary 503 does not mean the role moved. While
   * west is a standby, east is the primary and n1 holds (or wins back) the role; once west has been
   * promoted, east is started again (n1's guard rewinds it into a standby of west) and the role is
   * switched back to n1 ({@link #rejoinEastAndSwitchBackToN1()}).
   */
  void baseline() throws Exception {
    planes.values().forEach(p -> p.up.set(true));
    if (!cluster.node("n1").orElseThrow().process.isAlive()) {
      cluster.start("n1");
    }
    if (west.isInRecovery()) {
      await("n1 active with the name on east")
          .atMost(LIVENESS)
          .ignoreExceptions()
          .until(
              () ->
                  cluster.get("n1", "/active").code() == 200
                      && dns.dig(name, "A").equals(List.of(eastIp)));
      return;
    }
    east.start();
    rejoinEastAndSwitchBackToN1();
  }

  /**
   * With n2 active on west and east running again: waits until n1's guard has rewound east into a
   * standby of west, switches the role to n1 with the CLI (east is promoted, the name moves back),
   * waits until n1's writer commits on east and n2's guard has rewound west into a standby of east.
   *
   * @return n1's new token
   */
  long rejoinEastAndSwitchBackToN1() throws Exception {
    await("east rejoined as a standby of west")
        .atMost(LIVENESS)
        .ignoreExceptions()
        .until(
            () ->
                east.isInRecovery()
                    && west.queryLong(
                            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                        > 0);
    // A switch-over to an unhealthy node is refused: n1's checks (its plane, east while it was
    // restarted by the rewind) must count as up again first.
    await("n1 healthy and eligible")
        .atMost(LIVENESS)
        .ignoreExceptions()
        .until(
            () ->
                Json.read(cluster.get("n1", "/status").body())
                    .path("healthGating")
                    .path("eligible")
                    .asBoolean());
    Process cli =
        SidecarProcesses.launch(
            cluster.dir.resolve("cli.log"),
            "switch-active",
            "--to",
            "n1",
            "--endpoints",
            String.join(",", cluster.endpoints()),
            "--cluster-secret-file",
            cluster.secretArgs().get(1),
            "--cluster",
            "sidecar-test");
    assertThat(cli.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(cli.exitValue())
        .as(Files.readString(cluster.dir.resolve("cli.log")) + cluster.logTails(60))
        .isZero();
    long t = tokenOf("n1");
    await("the name points at east again")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(eastIp)));
    await("n1's writer commits on east with token " + t)
        .atMost(LIVENESS)
        .until(() -> !w1.committed(t).isEmpty());
    // n1's promotion fenced west (read-only, sessions cut); n2's guard rewinds it into a standby
    // of east.
    try {
      await("west rejoined as a standby of east")
          .atMost(LIVENESS)
          .ignoreExceptions()
          .until(west::isInRecovery);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          e.getMessage()
              + "\nn2 /status: "
              + cluster.get("n2", "/status").body()
              + "\n"
              + cluster.threadDump("n2"),
          e);
    }
    return t;
  }

  /**
   * n1's token once its writer has committed five transactions with it: on this loaded machine a
   * node can lose its first lease at start and win the role again with a higher token
   * (ENVIRONMENT.md), so the token is read again on each poll rather than once.
   */
  long n1TokenOnceItsWriterCommits() {
    return await("n1's writer commits five transactions with n1's token")
        .atMost(LIVENESS)
        .until(
            () -> {
              long t = currentToken("n1");
              return t > 0 && w1.committed(t).size() >= 5 ? t : -1L;
            },
            t -> t > 0);
  }

  /**
   * The token {@code id}'s {@code /token} serves now, or -1 while it serves none. {@code /token}
   * answers loopback callers only, so for a node inside {@link #region} (reached at its namespace
   * address) the token comes from {@code /active}'s {@code token=N} instead.
   */
  long currentToken(String id) {
    if (!cluster.node(id).orElseThrow().host.startsWith("127.")) {
      SidecarProcesses.HttpResult r = cluster.get(id, "/active");
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("token=(\\d+)").matcher(r.body());
      return r.code() == 200 && m.find() ? Long.parseLong(m.group(1)) : -1L;
    }
    SidecarProcesses.HttpResult r = cluster.get(id, "/token");
    return r.code() == 200 ? Json.read(r.body()).path("token").asLong() : -1L;
  }

  long tokenOf(String id) {
    return await("token of " + id).atMost(LIVENESS).until(() -> currentToken(id), t -> t > 0);
  }

  /**
   * The token with which n2's promotion found the unreachable old primary covered by the fence's
   * time bound, from n2's log after {@code from} characters: promoted past it with no stop command
   * and no opt-out.
   */
  long coveredToken(int from) {
    String n2Log = cluster.log("n2");
    String since = n2Log.substring(Math.min(from, n2Log.length()));
    assertThat(since).as(cluster.logTails(40)).doesNotContain("allowUnfencedOldPrimary");
    java.util.regex.Matcher covered =
        java.util.regex.Pattern.compile(
                "unreachable; not stopped; it refuses writes with token (\\d+) \\(resource "
                    + RESOURCE
                    + "\\)")
            .matcher(since);
    assertThat(covered.find()).as(cluster.logTails(40)).isTrue();
    return Long.parseLong(covered.group(1));
  }

  /**
   * What n2's activation after east's loss shows.
   *
   * @param token n2's token
   * @param firstCommitMillis when n2's writer committed its first transaction on west with it (wall
   *     clock, milliseconds, as the writer's {@code t})
   */
  record Moved(long token, long firstCommitMillis) {}

  /**
   * Waits until n2 is active with a token above {@code t1}, promoted west past the unreachable east
   * by the fence's time bound (no stop command, no opt-out; n2's log after {@code n2LogFrom}
   * characters names a covered token in [t1, n2's)), the name points at west and n2's writer has
   * committed on west.
   */
  Moved awaitN2OnWest(long t1, int n2LogFrom) throws IOException {
    return awaitN2OnWest(t1, n2LogFrom, true);
  }

  /**
   * As {@link #awaitN2OnWest(long, int)}; with {@code eastUnreachable} false (east still runs, and
   * n2's promotion fences it by making it read-only), n2's log is not searched for the time bound.
   */
  Moved awaitN2OnWest(long t1, int n2LogFrom, boolean eastUnreachable) throws IOException {
    try {
      await("n2 active").atMost(LIVENESS).until(() -> cluster.get("n2", "/active").code() == 200);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(e.getMessage() + "\n" + cluster.logTails(60), e);
    }
    long t2 = tokenOf("n2");
    assertThat(t2).isGreaterThan(t1);
    assertThat(west.isInRecovery()).as("west was promoted").isFalse();
    // n1's last token before east died (t1, or a later one if it won the role again since).
    if (eastUnreachable) {
      assertThat(coveredToken(n2LogFrom)).isGreaterThanOrEqualTo(t1).isLessThan(t2);
    }
    await("the name points at west")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(westIp)));
    JsonNode first =
        await("n2's writer commits on west with token " + t2)
            .atMost(LIVENESS)
            .until(() -> w2.committed(t2), l -> !l.isEmpty())
            .get(0);
    return new Moved(t2, first.path("t").asLong());
  }

  /**
   * A transaction that carries {@code token}, straight to west (no sidecar, no DNS), is refused.
   */
  void assertRefusedOnWest(long token) throws IOException, InterruptedException {
    JsonNode stale = Writer.once(west, pgPort, westIp, token);
    assertThat(stale.path("outcome").asText()).as(stale.toString()).isEqualTo("refused");
    assertThat(stale.path("sqlstate").asText()).isEqualTo("BT001");
  }

  private static String config(
      String id,
      PostgresServer mine,
      int pgPort,
      String dnsStep,
      int planePort,
      String eastIp,
      String westIp,
      boolean recloneOnRewindFailure) {
    StringBuilder y = new StringBuilder();
    y.append("promotion:\n  watchdog: false\n  steps:\n");
    y.append("    - name: postgres\n      type: postgres\n");
    y.append("      servers:\n");
    y.append("        n1: ").append(eastIp).append(':').append(pgPort).append('\n');
    y.append("        n2: ").append(westIp).append(':').append(pgPort).append('\n');
    y.append("      user: ").append(PostgresServer.SUPERUSER).append('\n');
    y.append("      passwordFile: pg-password\n");
    y.append("      fenceResources: [").append(RESOURCE).append("]\n");
    // The region loss takes east's database down with its node. The fence's time bound (fence
    // protocol 3) makes promoting past the unreachable old primary safe with no STONITH and no
    // opt-out: n1 renews its fence row's valid_until on east while it is active, so once its lease
    // has ended east refuses its token by itself; n2's promotion reads the bound on west, which
    // replays east's WAL, and does not stop east.
    y.append("      fenceLease: {renewInterval: 100ms}\n");
    y.append("      timeout: 60s\n");
    if (mine != null) {
      y.append("      formerPrimaryGuard:\n        checkInterval: 500ms\n        rejoin:\n");
      y.append("          dataDirectory: ").append(mine.dataDir()).append('\n');
      y.append("          binDirectory: ")
          .append(Path.of(PostgresServer.bin("pg_ctl")).getParent())
          .append('\n');
      y.append("          runAs: [")
          .append(String.join(", ", PostgresServer.asPostgresPrefix()))
          .append("]\n");
      y.append("          logFile: ").append(mine.baseDir().resolve("postgres.log")).append('\n');
      if (recloneOnRewindFailure) {
        // A region cut can end a rewind part-way (the new primary's node, losing its lease under
        // load, fences its server and ends pg_rewind's session); PostgreSQL then needs a fresh base
        // backup. A region deployment sets this, as Patroni users set
        // remove_data_directory_on_rewind_failure.
        y.append("          recloneOnRewindFailure: true\n");
      }
      y.append("      positionReporter:\n        interval: 500ms\n");
    }
    y.append("    - name: dns\n      type: dns\n");
    y.append(dnsStep);
    if (mine != null) {
      // The node's own server (server, user and password from the postgres step): an active whose
      // primary stops answering hands the role over (issue 31).
      y.append("health:\n  failuresToDemote: 3\n  successesToRecover: 2\n");
      y.append("  minMoveInterval: 10s\n  checks:\n");
      y.append("    - name: db\n      type: postgres\n");
      y.append("      interval: 500ms\n      timeout: 500ms\n      demote: true\n");
    }
    if (mine != null && planePort != 0) {
      // The plane's own health endpoint: an active whose plane fails hands the role over while its
      // database is fine.
      y.append("    - name: plane\n      type: http\n");
      y.append("      url: http://127.0.0.1:").append(planePort).append("/healthz\n");
      y.append("      interval: ")
          .append(PLANE_CHECK_INTERVAL.toMillis())
          .append("ms\n      timeout: 300ms\n      demote: true\n");
    }
    // Ratis's election rounds in the node logs, for a failure's diagnosis.
    y.append("logging:\n  ratisLevel: INFO\n");
    return y.toString();
  }

  /**
   * The keys of a {@code type: dns} step after its name and type: the BIND server, the zone, the
   * name {@code db} (east's address for n1, west's for n2, TTL 1 s) and the TSIG key file.
   */
  static String dnsStepTarget(BindServer dns, Path keyFile) {
    return dnsStepTarget(dns.host(), dns, keyFile, EAST_IP, WEST_IP);
  }

  /** As above, with BIND dialled at {@code dnsHost} and the name's values east's and west's. */
  static String dnsStepTarget(
      String dnsHost, BindServer dns, Path keyFile, String eastIp, String westIp) {
    return "      server: "
        + dnsHost
        + ':'
        + dns.port()
        + "\n      zone: "
        + dns.zone()
        + "\n      names:\n        - name: db\n          type: A\n          values:\n"
        + "            n1: "
        + eastIp
        + "\n            n2: "
        + westIp
        + "\n      ttl: 1s\n      tsig:\n        keyFile: "
        + keyFile
        + "\n      timeout: 30s\n";
  }

  @Override
  public void close() {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      try {
        cleanup.get(i).close();
      } catch (Exception e) {
        System.err.println("cleanup: " + e);
      }
    }
  }

  /** The Python writer beside one sidecar, as a real process; its JSON lines go to a file. */
  static final class Writer implements AutoCloseable {
    private final Path out;
    private final Process process;

    /**
     * The writer beside sidecar {@code id}: its token from the sidecar's {@code /token} (on
     * loopback), the primary through the DNS name asked of BIND at {@code dnsHost}, launched after
     * {@code prefix} (inside a region's namespace, or empty).
     */
    Writer(
        SidecarProcesses cluster,
        String id,
        String dnsHost,
        BindServer dns,
        String name,
        int pgPort,
        List<String> prefix)
        throws IOException {
      this(
          cluster.dir.resolve("writer-" + id),
          prefix,
          List.of(
              "--token-url",
              "http://127.0.0.1:" + cluster.node(id).orElseThrow().http + "/token",
              "--resolve",
              name,
              "--dns-server",
              dnsHost + ":" + dns.port(),
              "--dsn",
              "port=" + pgPort + " dbname=postgres user=" + PostgresServer.SUPERUSER,
              "--resource",
              RESOURCE,
              "--table",
              "ledger",
              "--writer",
              id,
              "--interval-ms",
              "50"));
    }

    /** The writer program with {@code args}, after {@code prefix}; output to {@code base}.jsonl. */
    Writer(Path base, List<String> prefix, List<String> args) throws IOException {
      out = Path.of(base + ".jsonl");
      List<String> cmd = new ArrayList<>(prefix);
      cmd.add(WRITER_PROGRAM.toString());
      cmd.addAll(args);
      process =
          new ProcessBuilder(cmd)
              .redirectOutput(out.toFile())
              .redirectError(Path.of(base + ".err").toFile())
              .start();
    }

    /** Every JSON line written so far (a line still being written left out). */
    List<JsonNode> lines() throws IOException {
      List<JsonNode> all = new ArrayList<>();
      for (String line : Files.readAllLines(out)) {
        if (!line.isBlank() && line.endsWith("}")) {
          all.add(Json.read(line));
        }
      }
      return all;
    }

    /** The transactions committed with {@code token}, in order. */
    List<JsonNode> committed(long token) throws IOException {
      List<JsonNode> ok = new ArrayList<>();
      for (String line : Files.readAllLines(out)) {
        if (line.isBlank() || !line.endsWith("}")) {
          continue; // a line still being written
        }
        JsonNode j = Json.read(line);
        if (j.path("outcome").asText().equals("ok") && j.path("token").asLong() == token) {
          ok.add(j);
        }
      }
      return ok;
    }

    /**
     * The writer's arguments for writing with a fixed {@code token} straight to {@code host:port}
     * (no sidecar, no DNS) as {@code writer}, then {@code more}.
     */
    static List<String> straightTo(
        String host, int port, long token, String writer, String... more) {
      List<String> args = new ArrayList<>();
      args.addAll(
          List.of(
              "--token",
              Long.toString(token),
              "--dsn",
              "host="
                  + host
                  + " port="
                  + port
                  + " dbname=postgres user="
                  + PostgresServer.SUPERUSER,
              "--resource",
              RESOURCE,
              "--table",
              "ledger",
              "--writer",
              writer));
      args.addAll(List.of(more));
      return args;
    }

    /** One transaction with {@code token} on {@code server} (no sidecar, no DNS). */
    static JsonNode once(PostgresServer server, int port, String host, long token)
        throws IOException, InterruptedException {
      List<String> command = new ArrayList<>();
      command.add(WRITER_PROGRAM.toString());
      command.addAll(straightTo(host, port, token, "stale", "--max-attempts", "1"));
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(output).isTrue();
      String last = output.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("{}");
      return Json.read(last);
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }
}
