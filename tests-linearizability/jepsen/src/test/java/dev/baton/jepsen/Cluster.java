package dev.baton.jepsen;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.Network.Ipam;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.utility.DockerImageName;

/**
 * The system under test, in containers on a Docker network of its own: N Baton nodes (the node app,
 * {@code dev.baton.jepsen.node.NodeApp}), a PostgreSQL primary and streaming standby (synchronous
 * replication), and a BIND 9 server holding the zone the nodes switch.
 *
 * <p>Every container gets a fixed address on the network's subnet (x.x.x.11 and up for nodes, .21
 * and .22 for PostgreSQL, .31 for BIND), kept across a kill and restart, so that iptables rules and
 * member lists stay valid. The harness on the host reaches the containers at those addresses (a
 * Linux Docker engine routes them); nothing else is contacted.
 *
 * <p>Nodes run from the host's build output: the test classpath (the repository's {@code target}
 * directories and the local Maven repository) is bind-mounted read-only at the same paths, so the
 * image holds only the system packages and rarely changes.
 */
final class Cluster implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Cluster.class);

  static final int RAFT_PORT = 7400;
  static final int CONTROL_PORT = 7500;
  static final String DNS_ZONE = "baton.test";
  static final String PG_DATA = "/var/lib/postgresql/data";

  /** One Baton node's container. */
  record Node(int index, String id, String ip, Path dir, GenericContainer<?> container) {
    String controlEndpoint() {
      return ip + ":" + CONTROL_PORT;
    }

    String containerId() {
      return container.getContainerId();
    }
  }

  /** One PostgreSQL server's container. */
  record Pg(String name, String ip, Path dir, GenericContainer<?> container) {
    String jdbcUrl() {
      return "jdbc:postgresql://" + ip + ":5432/postgres";
    }
  }

  private final RunOptions options;
  private final Path runDir;
  private final String image;
  private final DockerClient docker = DockerClientFactory.instance().client();
  private final String runId =
      Long.toString(System.currentTimeMillis() % 10_000_000, 36)
          + Integer.toString(ThreadLocalRandom.current().nextInt(1296), 36);
  private Network network;
  private String prefix;
  private final List<Node> nodes = new ArrayList<>();
  // The Raft port's secret, shared by every node of this run (docs/operations/deployment.md).
  private final byte[] clusterSecret = newClusterSecret();
  private final List<Pg> pgs = new ArrayList<>();
  private int primary;
  private GenericContainer<?> dns;
  private String dnsIp;
  private String dnsSecret;
  private final List<GenericContainer<?>> all = new ArrayList<>();
  private Path cdsDir;
  private Path cdsArchive;
  private String nodeClasspath;
  private boolean cdsExists;

  private Cluster(RunOptions options, Path runDir, String image) {
    this.options = options;
    this.runDir = runDir;
    this.image = image;
  }

  /** Creates the network and every container, and waits until a node is active. */
  static Cluster start(RunOptions options, Path runDir, String image) throws Exception {
    Cluster c = new Cluster(options, runDir, image);
    // Without Ryuk nothing else removes the containers if this JVM is stopped mid-run (a build
    // timeout, Ctrl-C): they would keep running and eat the machine's two cores.
    Runtime.getRuntime().addShutdownHook(c.cleanup);
    try {
      c.startAll();
      return c;
    } catch (Exception | Error e) {
      LOG.warn("cluster start failed ({}); container output saved under {}", e.toString(), runDir);
      c.saveLogs();
      c.close();
      throw e;
    }
  }

  List<Node> nodes() {
    return nodes;
  }

  Node node(String id) {
    return nodes.stream()
        .filter(n -> n.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node " + id));
  }

  String dnsIp() {
    return dnsIp;
  }

  String dnsSecret() {
    return dnsSecret;
  }

  Pg primary() {
    return pgs.get(primary);
  }

  Pg standby() {
    return pgs.get(1 - primary);
  }

  List<String> controlEndpoints() {
    return nodes.stream().map(Node::controlEndpoint).toList();
  }

  // ---------------------------------------------------------------- start-up

  private void startAll() throws Exception {
    Files.createDirectories(runDir);
    createNetwork();
    dnsIp = prefix + "31";
    for (int i = 0; i < 2; i++) {
      String name = "pg" + (i + 1);
      Path dir = runDir.resolve("containers").resolve(name);
      Files.createDirectories(dir);
      pgs.add(new Pg(name, prefix + (21 + i), dir, null));
    }
    writePgFiles(pgs.get(0), "primary");
    writePgFiles(pgs.get(1), "standby " + pgs.get(0).ip());
    writeDnsFiles();
    prepareClassDataSharing();
    ExecutorService pool = Executors.newFixedThreadPool(4 + options.nodes());
    try {
      // Everything that does not need the primary starts at once: the node JVMs take longest.
      Future<?> pg1 = pool.submit(() -> startPg(0));
      List<Future<?>> rest = new ArrayList<>();
      rest.add(pool.submit(this::startDns));
      for (int i = 0; i < options.nodes(); i++) {
        int index = i;
        rest.add(pool.submit(() -> startNode(index)));
      }
      pg1.get();
      awaitPgAcceptsWrites(pgs.get(0), Duration.ofSeconds(90));
      createSchema(pgs.get(0));
      rest.add(pool.submit(() -> startPg(1)));
      for (Future<?> f : rest) {
        f.get();
      }
      nodes.sort((a, b) -> Integer.compare(a.index(), b.index()));
    } finally {
      pool.shutdownNow();
    }
    awaitStreaming(pgs.get(0), Duration.ofSeconds(90));
    setSynchronous(pgs.get(0), true);
    awaitActive(Duration.ofSeconds(90));
    dropBootstrapMarkers();
  }

  /**
   * As an operator would after the first start: once each node has claimed its data directory (its
   * identity file exists), its bootstrap marker goes, so a node whose directory is wiped later
   * refuses to start instead of coming back with no memory.
   */
  private void dropBootstrapMarkers() {
    for (Node n : nodes) {
      Path identity = n.dir().resolve("data").resolve("baton-node.properties");
      Awaitility.await(n.id() + " claimed its data directory")
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> Files.exists(identity));
      try {
        Files.deleteIfExists(n.dir().resolve("bootstrap"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  private void createNetwork() {
    RunNetwork n = createNetwork("baton-jepsen-" + runId, "172.29.");
    network = n.network();
    prefix = n.prefix();
  }

  /** A run's own Docker network and its address prefix ({@code 172.29.x.}). */
  record RunNetwork(Network network, String prefix) {}

  /**
   * Creates a bridge network named {@code name} on a {@code /24} of {@code base} ({@code
   * "172.29."}: {@code 172.29.x.0/24} with {@code x} drawn at random), trying another {@code x}
   * when the subnet is taken (another run, another helper's test), eight times at most.
   */
  static RunNetwork createNetwork(String name, String base) {
    RuntimeException last = null;
    for (int attempt = 0; attempt < 8; attempt++) {
      int third = ThreadLocalRandom.current().nextInt(0, 256);
      String subnet = base + third + ".0/24";
      Network n =
          Network.builder()
              .driver("bridge")
              .createNetworkCmdModifier(
                  cmd ->
                      cmd.withName(name)
                          .withIpam(new Ipam().withConfig(new Ipam.Config().withSubnet(subnet))))
              .build();
      try {
        n.getId();
        LOG.info("network {} on {}", name, subnet);
        return new RunNetwork(n, base + third + ".");
      } catch (RuntimeException e) {
        last = e;
        LOG.info("subnet {} not available ({}), trying another", subnet, e.getMessage());
      }
    }
    throw new IllegalStateException("could not create a Docker network for the run", last);
  }

  private GenericContainer<?> container(String name, String ip) {
    GenericContainer<?> c =
        new GenericContainer<>(DockerImageName.parse(image))
            .withNetwork(network)
            .withCreateContainerCmdModifier(
                cmd -> {
                  cmd.withName("baton-jepsen-" + runId + "-" + name)
                      .withHostName(name)
                      .withIpv4Address(ip);
                  cmd.getHostConfig().withCapAdd(Capability.NET_ADMIN);
                });
    return c;
  }

  private void startNode(int index) {
    String id = "n" + (index + 1);
    String ip = prefix + (11 + index);
    Path dir = runDir.resolve("containers").resolve(id);
    try {
      Files.createDirectories(dir);
      Properties p = new Properties();
      p.setProperty("node.id", id);
      List<String> members = new ArrayList<>();
      for (int i = 0; i < options.nodes(); i++) {
        members.add("n" + (i + 1) + "=" + prefix + (11 + i) + ":" + RAFT_PORT);
      }
      p.setProperty("members", String.join(",", members));
      p.setProperty("control.port", Integer.toString(CONTROL_PORT));
      p.setProperty(
          "pg.url",
          "jdbc:postgresql://"
              + pgs.get(0).ip()
              + ":5432,"
              + pgs.get(1).ip()
              + ":5432/postgres?targetServerType=primary");
      p.setProperty("dns.server", dnsIp);
      p.setProperty("dns.zone", DNS_ZONE);
      p.setProperty("dns.secret", dnsSecret);
      p.setProperty("unsafe", Boolean.toString(options.unsafe()));
      p.setProperty("write.interval.ms", "2");
      // The health nemesis's lever (a marker file in the node directory), only in runs that use it.
      p.setProperty(
          "health.marker",
          Boolean.toString(options.nemeses().contains(NemesisKind.HEALTH) && !options.unsafe()));
      // On the bind mount, so the wipe nemesis can empty it while the container is stopped.
      p.setProperty("data.dir", "/jepsen/data");
      Files.write(dir.resolve("cluster.secret"), clusterSecret);
      // The first start of a new cluster; removed once the node has claimed its data directory.
      Files.writeString(dir.resolve("bootstrap"), "true");
      p.setProperty("cluster.secret.file", "/jepsen/cluster.secret");
      try (var w = Files.newBufferedWriter(dir.resolve("node.properties"))) {
        p.store(w, "Jepsen node " + id);
      }
      setClockRate(dir, options.clockRates().get(index));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    GenericContainer<?> c =
        container(id, ip).withFileSystemBind(dir.toString(), "/jepsen", BindMode.READ_WRITE);
    c.withFileSystemBind(cdsDir.toString(), cdsDir.toString(), BindMode.READ_WRITE);
    for (String mount : classpathMounts()) {
      c.withFileSystemBind(mount, mount, BindMode.READ_ONLY);
    }
    List<String> cmd = new ArrayList<>();
    cmd.add("java");
    // Lean: several JVMs share two cores with the database, the DNS server and the harness.
    cmd.addAll(
        List.of(
            "-Xmx192m",
            "-Xss512k",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-XX:+ExitOnOutOfMemoryError",
            "-Dlogback.configurationFile=jepsen-node-logback.xml"));
    cmd.addAll(classDataSharingFlags(index));
    cmd.addAll(
        List.of("-cp", nodeClasspath, "dev.baton.jepsen.node.NodeApp", "/jepsen/node.properties"));
    c.withCommand(cmd.toArray(String[]::new));
    c.start();
    synchronized (this) {
      all.add(c);
      nodes.add(new Node(index, id, ip, dir, c));
    }
  }

  /**
   * Class-data sharing for the node JVMs: they start several times per run on two shared cores, and
   * most of their start-up is loading and verifying the same classes. The first run dumps an
   * archive of them (node n1, at its graceful exit); later runs map it. The archive is keyed by the
   * image and the classpath, so a rebuilt classpath or image makes a new one.
   */
  private void prepareClassDataSharing() throws IOException {
    cdsDir = JepsenRun.outputRoot().toAbsolutePath().resolveSibling("jepsen-cds");
    Files.createDirectories(cdsDir);
    // CDS takes jars only: the build's class directories are packed into jars keyed by content.
    List<String> entries = new ArrayList<>();
    StringBuilder key = new StringBuilder(image);
    for (String entry : classpath().split(File.pathSeparator)) {
      if (entry.isBlank() || !Files.exists(Path.of(entry))) {
        continue;
      }
      Path p = Path.of(entry).toAbsolutePath().normalize();
      if (Files.isDirectory(p)) {
        String digest = directoryDigest(p);
        Path jar = cdsDir.resolve("classes-" + digest + ".jar");
        if (!Files.exists(jar)) {
          writeJar(p, jar);
        }
        entries.add(jar.toString());
        key.append('|').append(jar);
      } else {
        entries.add(p.toString());
        key.append('|').append(p).append(':').append(Files.size(p));
      }
    }
    nodeClasspath = String.join(File.pathSeparator, entries);
    cdsArchive = cdsDir.resolve("node-" + Integer.toHexString(key.toString().hashCode()) + ".jsa");
    cdsExists = Files.isRegularFile(cdsArchive) && Files.size(cdsArchive) > 0;
  }

  private static String directoryDigest(Path dir) throws IOException {
    long h = 1125899906842597L;
    try (var walk = Files.walk(dir)) {
      for (Path f : walk.filter(Files::isRegularFile).sorted().toList()) {
        String s = dir.relativize(f) + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f);
        h = 31 * h + s.hashCode();
      }
    }
    return Long.toHexString(h);
  }

  private static void writeJar(Path dir, Path jar) throws IOException {
    Path tmp = Files.createTempFile(jar.getParent(), "classes", ".tmp");
    try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(tmp));
        var walk = Files.walk(dir)) {
      for (Path f : walk.filter(Files::isRegularFile).sorted().toList()) {
        out.putNextEntry(
            new java.util.jar.JarEntry(dir.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
    Files.move(tmp, jar, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private List<String> classDataSharingFlags(int index) {
    if (cdsExists) {
      return List.of(
          "-XX:SharedArchiveFile=" + cdsArchive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
    }
    return index == 0 ? List.of("-XX:ArchiveClassesAtExit=" + cdsArchive) : List.of();
  }

  static void setClockRate(Path nodeDir, double rate) throws IOException {
    Files.writeString(nodeDir.resolve("clock-rate"), Double.toString(rate));
  }

  static String classpath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /** The directories and jars to mount so that {@link #classpath()} resolves in a container. */
  static Set<String> classpathMounts() {
    Path repo =
        Path.of(
                System.getProperty(
                    "maven.repo.local", System.getProperty("user.home") + "/.m2/repository"))
            .toAbsolutePath()
            .normalize();
    Set<String> mounts = new LinkedHashSet<>();
    for (String entry : classpath().split(File.pathSeparator)) {
      if (entry.isBlank()) {
        continue;
      }
      Path p = Path.of(entry).toAbsolutePath().normalize();
      if (!Files.exists(p)) {
        continue;
      }
      mounts.add(p.startsWith(repo) ? repo.toString() : p.toString());
    }
    return mounts;
  }

  // ---------------------------------------------------------------- PostgreSQL

  private void writePgFiles(Pg pg, String role) throws IOException {
    Files.writeString(pg.dir().resolve("role"), role + "\n");
    Files.writeString(
        pg.dir().resolve("start.sh"),
        String.join(
            "\n",
            "#!/bin/sh",
            "# Written by the Jepsen harness. The role file says what this server is.",
            "set -e",
            "D=" + PG_DATA,
            "ROLE=$(cat /pg/role)",
            "case \"$ROLE\" in",
            "  primary)",
            "    if [ ! -f $D/PG_VERSION ]; then",
            "      initdb -D $D -U postgres --auth=trust -N >/dev/null",
            "      cat /pg/server.conf >> $D/postgresql.conf",
            "      cat /pg/hba.conf >> $D/pg_hba.conf",
            "    fi ;;",
            "  standby*)",
            "    SRC=${ROLE#standby }",
            "    rm -rf $D",
            "    pg_basebackup -h $SRC -U postgres -D $D -R -X stream -c fast",
            "    ;;",
            "esac",
            "exec postgres -D $D",
            ""));
    Files.writeString(
        pg.dir().resolve("server.conf"),
        String.join(
            "\n",
            "listen_addresses = '*'",
            "max_connections = 60",
            "shared_buffers = 32MB",
            "fsync = off",
            "synchronous_commit = on",
            "wal_level = replica",
            "max_wal_senders = 8",
            "wal_keep_size = 128MB",
            "hot_standby = on",
            "wal_log_hints = on",
            // The region-cut check reads each commit's time on the old primary (its own clock).
            "track_commit_timestamp = on",
            "log_min_messages = warning",
            ""));
    Files.writeString(
        pg.dir().resolve("hba.conf"),
        "host all all 0.0.0.0/0 trust\nhost replication all 0.0.0.0/0 trust\n");
  }

  private void startPg(int i) {
    Pg pg = pgs.get(i);
    GenericContainer<?> c =
        container(pg.name(), pg.ip())
            .withFileSystemBind(pg.dir().toString(), "/pg", BindMode.READ_ONLY)
            .withCreateContainerCmdModifier(cmd -> cmd.withUser("postgres"))
            .withCommand("sh", "/pg/start.sh");
    c.start();
    synchronized (this) {
      all.add(c);
      pgs.set(i, new Pg(pg.name(), pg.ip(), pg.dir(), c));
    }
  }

  static Connection connect(Pg pg) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "2");
    p.setProperty("socketTimeout", "10");
    return DriverManager.getConnection(pg.jdbcUrl(), p);
  }

  static void awaitPgAcceptsWrites(Pg pg, Duration timeout) {
    Awaitility.await("PostgreSQL " + pg.name() + " at " + pg.ip() + " accepts writes")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () -> {
              try (Connection c = connect(pg);
                  Statement s = c.createStatement();
                  ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                return !rs.getBoolean(1);
              }
            });
  }

  private static void createSchema(Pg pg) throws SQLException {
    try (Connection c = connect(pg);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS jepsen");
      s.execute(
          "CREATE TABLE IF NOT EXISTS jepsen.commit_order (id int PRIMARY KEY, n bigint NOT NULL)");
      s.execute("INSERT INTO jepsen.commit_order VALUES (1, 0) ON CONFLICT DO NOTHING");
      s.execute(
          "CREATE TABLE IF NOT EXISTS jepsen.writes (commit_seq bigint PRIMARY KEY, token bigint"
              + " NOT NULL, node text NOT NULL, value text NOT NULL UNIQUE)");
      // The region-cut nemesis's stale writer, on the old primary only (see StaleWriter).
      s.execute(
          "CREATE TABLE IF NOT EXISTS jepsen.region_cut_writes (token bigint NOT NULL, value text"
              + " NOT NULL)");
    }
  }

  /** Waits until {@code primary} has a streaming standby. */
  void awaitStreaming(Pg primaryPg, Duration timeout) {
    Awaitility.await("a standby streams from " + primaryPg.name())
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () -> {
              try (Connection c = connect(primaryPg);
                  Statement s = c.createStatement();
                  ResultSet rs =
                      s.executeQuery(
                          "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
                rs.next();
                return rs.getLong(1) > 0;
              }
            });
  }

  /**
   * Synchronous replication on (every commit is on the standby before it is acknowledged, so a
   * promoted standby has every acknowledged row and the fence row as it was) or off (after a
   * failover, until the old primary has rejoined as a standby).
   */
  static void setSynchronous(Pg pg, boolean on) throws SQLException {
    try (Connection c = connect(pg);
        Statement s = c.createStatement()) {
      s.execute(
          on
              ? "ALTER SYSTEM SET synchronous_standby_names = '*'"
              : "ALTER SYSTEM RESET synchronous_standby_names");
      s.execute("SELECT pg_reload_conf()");
    }
  }

  /** SIGKILL of the primary's postmaster (the container stops). */
  void killPrimary() {
    kill(primary().container(), "KILL");
  }

  /**
   * Promotes the standby (as an external HA manager would after the primary died), then rebuilds
   * the old primary as a standby of the new one. Synchronous replication is off while the new
   * primary has no standby.
   */
  void failOverPostgres(Duration timeout) throws Exception {
    Pg old = primary();
    promoteStandby(timeout);
    rejoinAsStandby(old, timeout);
  }

  /**
   * Promotes the standby (as an external HA manager would) and makes it the primary the harness
   * reads; synchronous replication off on it until a standby streams again. Touches only the
   * standby: the old primary may be dead, or alive and cut off (the region-cut nemesis).
   */
  void promoteStandby(Duration timeout) throws Exception {
    Pg newPrimary = standby();
    try (Connection c = connect(newPrimary);
        Statement s = c.createStatement()) {
      s.execute("SELECT pg_promote(true, 30)");
    }
    awaitPgAcceptsWrites(newPrimary, timeout);
    setSynchronous(newPrimary, false);
    primary = 1 - primary;
  }

  /**
   * Rebuilds {@code old}, a former primary that is stopped or being stopped, as a standby of the
   * primary ({@code pg_basebackup}), and turns synchronous replication back on once it streams.
   */
  void rejoinAsStandby(Pg old, Duration timeout) throws Exception {
    Pg newPrimary = primary();
    LOG.info("PostgreSQL: {} is primary; {} rejoins as its standby", newPrimary.name(), old.name());
    Files.writeString(old.dir().resolve("role"), "standby " + newPrimary.ip() + "\n");
    ensureStopped(old.container());
    docker.startContainerCmd(old.container().getContainerId()).exec();
    awaitStreaming(newPrimary, timeout);
    setSynchronous(newPrimary, true);
  }

  /**
   * Drops traffic both ways between PostgreSQL server {@code pg} and each address (iptables in its
   * own network namespace, run as root: the server runs as postgres); the host stays reachable. The
   * rules go with the container's namespace when it is stopped.
   */
  void cutPg(Pg pg, List<String> ips) {
    execAsRoot(pg, dropScript(ips));
  }

  /** Removes {@link #cutPg}'s rules. */
  void uncutPg(Pg pg) {
    if (isRunning(pg.container())) {
      execAsRoot(pg, "iptables -w -F INPUT && iptables -w -F OUTPUT");
    }
  }

  private void execAsRoot(Pg pg, String script) {
    try {
      ExecResult r = pg.container().execInContainerWithUser("root", "sh", "-c", script);
      if (r.getExitCode() != 0) {
        throw new IllegalStateException(
            "on "
                + pg.name()
                + ": `"
                + script
                + "` failed ("
                + r.getExitCode()
                + "): "
                + r.getStderr());
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  // ---------------------------------------------------------------- DNS

  private void writeDnsFiles() throws IOException {
    dnsSecret = writeDnsFiles(runDir.resolve("containers").resolve("dns"), dnsIp);
  }

  /**
   * Writes BIND's configuration and the zone {@value #DNS_ZONE} (updates allowed with the TSIG key
   * {@code baton-key}, hmac-sha256) into {@code dir}, mounted at {@code /dns}; returns the key's
   * secret (base64).
   */
  static String writeDnsFiles(Path dir, String dnsIp) throws IOException {
    Files.createDirectories(dir);
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    String dnsSecret = Base64.getEncoder().encodeToString(key);
    Files.writeString(
        dir.resolve("named.conf"),
        String.join(
            "\n",
            "options {",
            "  directory \"/dns\";",
            "  listen-on port 53 { any; };",
            "  listen-on-v6 { none; };",
            "  recursion no;",
            "  dnssec-validation no;",
            "  notify no;",
            "  pid-file none;",
            "};",
            "controls { };",
            "key \"baton-key\" { algorithm hmac-sha256; secret \"" + dnsSecret + "\"; };",
            "zone \"" + DNS_ZONE + "\" {",
            "  type primary;",
            "  file \"/dns/db." + DNS_ZONE + "\";",
            "  allow-update { key \"baton-key\"; };",
            "};",
            ""));
    Files.writeString(
        dir.resolve("db." + DNS_ZONE),
        String.join(
            "\n",
            "$TTL 5",
            "@ IN SOA ns." + DNS_ZONE + ". admin." + DNS_ZONE + ". 1 60 60 600 5",
            "@ IN NS ns." + DNS_ZONE + ".",
            "ns IN A " + dnsIp,
            ""));
    return dnsSecret;
  }

  private void startDns() {
    Path dir = runDir.resolve("containers").resolve("dns");
    GenericContainer<?> c =
        container("dns", dnsIp)
            .withFileSystemBind(dir.toString(), "/dns", BindMode.READ_WRITE)
            .withCommand("named", "-g", "-4", "-n", "1", "-c", "/dns/named.conf");
    c.start();
    synchronized (this) {
      all.add(c);
      dns = c;
    }
  }

  GenericContainer<?> dnsContainer() {
    return dns;
  }

  // ---------------------------------------------------------------- faults

  /** Sends {@code signal} (KILL, STOP, CONT) to the container's main process. */
  void kill(GenericContainer<?> c, String signal) {
    docker.killContainerCmd(c.getContainerId()).withSignal(signal).exec();
  }

  /** SIGKILLs a container unless it has already stopped (a node that refused to start exits). */
  void killIfRunning(GenericContainer<?> c) {
    try {
      kill(c, "KILL");
    } catch (com.github.dockerjava.api.exception.ConflictException e) {
      if (isRunning(c)) {
        throw e;
      }
    }
  }

  boolean isRunning(GenericContainer<?> c) {
    Boolean running = docker.inspectContainerCmd(c.getContainerId()).exec().getState().getRunning();
    return Boolean.TRUE.equals(running);
  }

  void ensureStopped(GenericContainer<?> c) {
    Awaitility.await("container " + c.getContainerId() + " stopped")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> !isRunning(c));
  }

  /** Empties a stopped node's data directory (a replaced disk). */
  void wipeData(Node n) {
    Path data = n.dir().resolve("data");
    if (Files.exists(data)) {
      try (var walk = Files.walk(data)) {
        for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          if (!f.equals(data)) {
            Files.delete(f);
          }
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** Whether the node app starts its node with {@code joining} (outside the configuration). */
  void setJoining(Node n, boolean joining) {
    try {
      Path marker = n.dir().resolve("joining");
      if (joining) {
        Files.writeString(marker, "true");
      } else {
        Files.deleteIfExists(marker);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  // ------------------------------------------------------------- supervision

  // The nodes a fault of the nemesis is acting on: the supervisor leaves them alone.
  private final Set<String> held = new java.util.HashSet<>();

  /** The nemesis acts on {@code n} (kills it, wipes it, removes it): the supervisor keeps off. */
  synchronized void hold(Node n) {
    held.add(n.id());
  }

  /** The nemesis's fault is over: the supervisor may restart any of them again. */
  synchronized void releaseAll() {
    held.clear();
  }

  /** The node containers as the supervisor sees them. */
  List<Supervisor.Child> supervised() {
    List<Supervisor.Child> out = new ArrayList<>();
    for (Node n : nodes()) {
      out.add(
          new Supervisor.Child() {
            @Override
            public String id() {
              return n.id();
            }

            @Override
            public Supervisor.Exit exit() {
              var state = docker.inspectContainerCmd(n.containerId()).exec().getState();
              if (Boolean.TRUE.equals(state.getRunning()) || state.getExitCodeLong() == null) {
                return null;
              }
              return new Supervisor.Exit(
                  state.getExitCodeLong().intValue(), String.valueOf(state.getFinishedAt()));
            }

            @Override
            public String stopReason() {
              Path f = n.dir().resolve(dev.baton.jepsen.node.NodeApp.STOP_REASON_FILE);
              try {
                return Files.exists(f) ? Files.readString(f).trim() : "";
              } catch (IOException e) {
                return "(unreadable " + f + ": " + e + ")";
              }
            }

            @Override
            public boolean restartUnlessHeld() {
              synchronized (Cluster.this) {
                if (held.contains(n.id())) {
                  return false;
                }
                restart(n);
                return true;
              }
            }
          });
    }
    return out;
  }

  /** Starts a node container again after a kill (same address, same data directory). */
  void restart(Node n) {
    ensureStopped(n.container());
    docker.startContainerCmd(n.containerId()).exec();
  }

  /**
   * Drops traffic both ways between each node and the peers given for it (iptables in the node's
   * own network namespace); the host, PostgreSQL and DNS stay reachable.
   */
  void cut(Map<Node, Set<Node>> grudges) {
    for (Map.Entry<Node, Set<Node>> e : grudges.entrySet()) {
      dropTraffic(
          e.getKey().container(), e.getKey().id(), e.getValue().stream().map(Node::ip).toList());
    }
  }

  /**
   * Drops traffic both ways between container {@code c} ({@code label} in errors) and each of
   * {@code peerIps}: iptables rules in the container's own network namespace (it needs {@code
   * NET_ADMIN}). Shared with {@link ProductPathTest}'s partitions.
   */
  static void dropTraffic(
      GenericContainer<?> c, String label, java.util.Collection<String> peerIps) {
    if (peerIps.isEmpty()) {
      return;
    }
    execIn(c, label, dropScript(peerIps));
  }

  /**
   * The iptables commands that drop traffic both ways between this namespace and each of {@code
   * ips}.
   */
  private static String dropScript(java.util.Collection<String> ips) {
    StringBuilder script = new StringBuilder();
    for (String ip : ips) {
      script
          .append("iptables -w -A INPUT -s ")
          .append(ip)
          .append(" -j DROP && iptables -w -A OUTPUT -d ")
          .append(ip)
          .append(" -j DROP && ");
    }
    return script.append("true").toString();
  }

  /** Removes every rule {@link #dropTraffic} added in {@code c}. */
  static void flushTraffic(GenericContainer<?> c, String label) {
    execIn(c, label, "iptables -w -F INPUT && iptables -w -F OUTPUT");
  }

  /** Drops traffic both ways between node {@code n} and {@code ip} (iptables in n's namespace). */
  void cutFrom(Node n, String ip) {
    dropTraffic(n.container(), n.id(), List.of(ip));
  }

  /** Removes every partition rule. */
  void heal() {
    for (Node n : nodes) {
      if (isRunning(n.container())) {
        flushTraffic(n.container(), n.id());
      }
    }
  }

  /** Runs {@code script} under {@code sh -c} in {@code c}; a non-zero exit is an error. */
  static void execIn(GenericContainer<?> c, String label, String script) {
    try {
      ExecResult r = c.execInContainer("sh", "-c", script);
      if (r.getExitCode() != 0) {
        throw new IllegalStateException(
            "on "
                + label
                + ": `"
                + script
                + "` failed ("
                + r.getExitCode()
                + "): "
                + r.getStderr());
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The node that reports itself ACTIVE now, if exactly one answers so. */
  Optional<Node> activeNode() {
    List<Node> active = new ArrayList<>();
    try (BatonClient client =
        BatonClient.builder()
            .endpoints(controlEndpoints())
            .probeTimeout(Duration.ofMillis(500))
            .build()) {
      for (Node n : nodes) {
        try {
          StatusResponse s = client.status(n.controlEndpoint(), Duration.ofMillis(500));
          if (s.getRole() == Role.ACTIVE) {
            active.add(n);
          }
        } catch (RuntimeException e) {
          // Down, paused or cut off: not known to be active.
        }
      }
    }
    return active.size() == 1 ? Optional.of(active.get(0)) : Optional.empty();
  }

  /** The token {@code n} reports (its own while active or promoting, else 0; 0 if it is down). */
  long tokenOf(Node n) {
    try (BatonClient client =
        BatonClient.builder()
            .endpoints(List.of(n.controlEndpoint()))
            .probeTimeout(Duration.ofMillis(500))
            .build()) {
      StatusResponse s = client.status(n.controlEndpoint(), Duration.ofMillis(500));
      return s.getRole() == Role.ACTIVE ? s.getToken() : 0;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /** Waits until some node reports itself active. */
  Node awaitActive(Duration timeout) {
    return Awaitility.await("a node is active")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .until(this::activeNode, Optional::isPresent)
        .get();
  }

  // ---------------------------------------------------------------- shutdown

  /** Saves every container's output under {@code containers/<name>/output.log}. */
  void saveLogs() {
    Map<String, GenericContainer<?>> byName = new LinkedHashMap<>();
    for (Node n : nodes) {
      byName.put(n.id(), n.container());
    }
    for (Pg pg : pgs) {
      if (pg.container() != null) {
        byName.put(pg.name(), pg.container());
      }
    }
    if (dns != null) {
      byName.put("dns", dns);
    }
    for (Map.Entry<String, GenericContainer<?>> e : byName.entrySet()) {
      Path file = runDir.resolve("containers").resolve(e.getKey()).resolve("output.log");
      try (OutputStream out = Files.newOutputStream(file)) {
        docker
            .logContainerCmd(e.getValue().getContainerId())
            .withStdOut(true)
            .withStdErr(true)
            .withTimestamps(false)
            .exec(
                new com.github.dockerjava.api.async.ResultCallback.Adapter<Frame>() {
                  @Override
                  public void onNext(Frame frame) {
                    try {
                      out.write(frame.getPayload());
                    } catch (IOException ignored) {
                      // Best effort: logs are for reading, the checks do not use them.
                    }
                  }
                })
            .awaitCompletion(30, TimeUnit.SECONDS);
      } catch (Exception ex) {
        LOG.warn("could not save the output of {}: {}", e.getKey(), ex.toString());
      }
    }
  }

  /**
   * Stops the node apps gracefully (SIGTERM) so their last records are written: first every node
   * but the active, together, then the active.
   *
   * <p>Not all at once: a closing active hands Raft leadership to a peer (BatonNode#close), so a
   * peer still running when the active finished closing won the role, began its promotion and was
   * stopped half a second later. The I5 check then rightly found a promotion that began and never
   * completed, an artifact of the teardown, not of the run (seen in CI: token 9985 on n1). With the
   * peers gone first, the active has no one to hand over to and no promotion can begin. When no
   * single node reports itself active, all stop together, as a teardown with no active cannot start
   * a promotion by handing over.
   */
  void stopNodes() {
    Optional<Node> active = activeNode();
    List<Node> first = new ArrayList<>(nodes);
    active.ifPresent(first::remove);
    stopTogether(first);
    active.ifPresent(n -> stopTogether(List.of(n)));
  }

  private void stopTogether(List<Node> which) {
    List<Thread> stoppers = new ArrayList<>();
    for (Node n : which) {
      Thread t =
          new Thread(
              () -> {
                try {
                  if (isRunning(n.container())) {
                    // The node that dumps the class-data archive at exit needs longer.
                    int timeout = !cdsExists && n.index() == 0 ? 40 : 8;
                    docker.stopContainerCmd(n.containerId()).withTimeout(timeout).exec();
                  }
                } catch (RuntimeException e) {
                  LOG.warn("stopping {}: {}", n.id(), e.toString());
                }
              },
              "jepsen-stop-" + n.id());
      t.start();
      stoppers.add(t);
    }
    for (Thread t : stoppers) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(20));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(cleanup);
    } catch (IllegalStateException e) {
      // The JVM is shutting down: this is the hook itself.
    }
    removeAll();
  }

  private final Thread cleanup = new Thread(this::removeAll, "jepsen-cluster-cleanup");

  /**
   * A secret as an operator makes one ({@code openssl rand -base64 32}): base64 text. Raw random
   * bytes written to the file were refused about once in 128 runs: a reader drops the trailing
   * newline an editor adds, so a last byte of 0x0a or 0x0d left 31 bytes, below the minimum.
   */
  private static byte[] newClusterSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return (java.util.Base64.getEncoder().encodeToString(b) + "\n")
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private synchronized void removeAll() {
    List<GenericContainer<?>> containers = new ArrayList<>(all);
    all.clear();
    for (GenericContainer<?> c : containers) {
      try {
        if (c.getContainerId() != null && !isRunning(c)) {
          // Testcontainers stops and removes; a stopped-by-us container only needs removing.
          docker.removeContainerCmd(c.getContainerId()).withForce(true).exec();
        } else {
          c.stop();
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
        LOG.warn("removing network baton-jepsen-{}: {}", runId, e.toString());
      }
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
