package dev.baton.testing.postgres;

import dev.baton.core.LocalPorts;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL 15 server for tests, on a free loopback port, in a temporary directory that the
 * {@code postgres} user owns; {@link #close()} stops it ({@code pg_ctl stop -m immediate}) and
 * removes the directory.
 *
 * <p>The server refuses to run as root, so when the JVM runs as root every PostgreSQL binary runs
 * through {@code runuser -u postgres --}. Authentication is {@code trust} on loopback only: no
 * password exists, so none can leak into a log. {@code initdb} runs once per JVM into a template
 * that each server copies (a copy takes a fraction of initdb's second).
 *
 * <p>Binaries come from {@code /usr/lib/postgresql/15/bin} unless the system property {@code
 * baton.pg.bin} says otherwise; directories go under {@code /tmp} unless {@code baton.pg.tmp} says
 * otherwise (the path must stay short: it holds the Unix socket).
 *
 * <p>Why this class is over 450 lines: it is one job, one server's life for a test, and half of it
 * is the public surface the adapters' and the suite's tests call (the start variants, a standby of
 * a primary, queries, stop/kill/restart, the log tail), one short method each; the other half is
 * the process plumbing behind the divider below (the initdb template, pg_ctl, running as {@code
 * postgres}), which no caller sees and which would only move, not shrink, in a class of its own.
 */
public final class PostgresServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresServer.class);

  public static final String HOST = "127.0.0.1";
  public static final String SUPERUSER = "postgres";

  private static final Path BIN =
      Path.of(System.getProperty("baton.pg.bin", "/usr/lib/postgresql/15/bin"));
  private static final Path TMP = Path.of(System.getProperty("baton.pg.tmp", "/tmp"));
  private static final boolean AS_ROOT = "root".equals(System.getProperty("user.name"));
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);
  private static final Set<PostgresServer> LIVE = ConcurrentHashMap.newKeySet();

  private static Path template;

  static {
    // A test that dies before close() must not leave servers behind on a shared machine.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (PostgresServer s : List.copyOf(LIVE)) {
                    s.close();
                  }
                },
                "postgres-fixture-cleanup"));
  }

  private final String name;
  private final String host;
  private final int fixedPort;
  private final Path baseDir;
  private final Path dataDir;
  private final Path logFile;
  private volatile int port;
  private volatile boolean running;

  private final Map<String, String> settings;
  private final Placement placement;

  /**
   * Where a server runs, beyond its address: {@code launchPrefix} goes before every command run for
   * it (for example {@code ip netns exec NAME}, so that the postmaster runs in a network namespace
   * the test made), and {@code trustedNetworks} are CIDRs that pg_hba trusts beside loopback (for
   * all databases and replication), so that a peer on the namespace's link can connect.
   */
  public record Placement(List<String> launchPrefix, List<String> trustedNetworks) {
    public static final Placement LOOPBACK = new Placement(List.of(), List.of());

    public Placement {
      launchPrefix = List.copyOf(launchPrefix);
      trustedNetworks = List.copyOf(trustedNetworks);
      for (String cidr : trustedNetworks) {
        if (!cidr.matches("10\\.233\\.\\d{1,3}\\.\\d{1,3}/(3[0-2]|[12]\\d)")) {
          throw new IllegalArgumentException(
              "trusted network '" + cidr + "' is not a CIDR in 10.233.0.0/16 (test namespaces)");
        }
      }
    }
  }

  private PostgresServer(
      String name,
      String host,
      int fixedPort,
      Path baseDir,
      Map<String, String> settings,
      Placement placement) {
    // Loopback, or a network namespace's link that the test made (NetworkNamespace: 10.233.x.y).
    if (!host.startsWith("127.") && !host.startsWith("10.233.")) {
      throw new IllegalArgumentException(
          "test servers listen on loopback or a test namespace's 10.233.0.0/16 only, not " + host);
    }
    this.placement = placement;
    if (fixedPort < 0 || fixedPort > 65535) {
      throw new IllegalArgumentException("port out of range: " + fixedPort);
    }
    this.settings = Map.copyOf(settings);
    this.name = name;
    this.host = host;
    this.fixedPort = fixedPort;
    this.baseDir = baseDir;
    this.dataDir = baseDir.resolve("data");
    this.logFile = baseDir.resolve("postgres.log");
  }

  /** Starts a new primary (a fresh cluster) named {@code name} (the name is only for logs). */
  public static PostgresServer startPrimary(String name) {
    return startPrimary(name, Map.of());
  }

  /**
   * Starts a new primary with extra server settings, for example {@code Map.of("fsync", "on",
   * "synchronous_commit", "on")} for a benchmark that should pay for durability (the fixture's
   * default is {@code fsync = off}).
   */
  public static PostgresServer startPrimary(String name, Map<String, String> settings) {
    return startPrimary(name, HOST, 0, settings);
  }

  /**
   * Starts a new primary listening on loopback address {@code host} (any 127.x.y.z, so that servers
   * on the same port are told apart by address alone, as a DNS name's A record would) and {@code
   * port} (0: a free one).
   */
  public static PostgresServer startPrimary(
      String name, String host, int port, Map<String, String> settings) {
    return startPrimary(name, host, port, settings, Placement.LOOPBACK);
  }

  /** A new primary on {@code host} and {@code port}, run as {@code placement} says. */
  public static PostgresServer startPrimary(
      String name, String host, int port, Map<String, String> settings, Placement placement) {
    PostgresServer server =
        new PostgresServer(name, host, port, newBaseDir(name), settings, placement);
    try {
      Path tpl = template();
      server.runAsPostgres("cp", "-a", tpl.toString(), server.dataDir.toString());
      server.trustNetworks();
      server.startOnFreePort();
      return server;
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  /**
   * Starts a streaming standby of {@code primary}: {@code pg_basebackup -R -X stream} (which writes
   * {@code standby.signal} and {@code primary_conninfo}), then starts it on its own port.
   */
  public static PostgresServer startStandbyOf(PostgresServer primary, String name) {
    return startStandbyOf(primary, name, primary.settings);
  }

  /** A streaming standby of {@code primary} with its own extra settings. */
  public static PostgresServer startStandbyOf(
      PostgresServer primary, String name, Map<String, String> settings) {
    return startStandbyOf(primary, name, HOST, 0, settings);
  }

  /** A streaming standby of {@code primary} on loopback address {@code host} and {@code port}. */
  public static PostgresServer startStandbyOf(
      PostgresServer primary, String name, String host, int port, Map<String, String> settings) {
    return startStandbyOf(primary, name, host, port, settings, Placement.LOOPBACK);
  }

  /** A streaming standby of {@code primary} on {@code host} and {@code port}, run as placed. */
  public static PostgresServer startStandbyOf(
      PostgresServer primary,
      String name,
      String host,
      int port,
      Map<String, String> settings,
      Placement placement) {
    PostgresServer server =
        new PostgresServer(name, host, port, newBaseDir(name), settings, placement);
    try {
      server.runAsPostgres(
          bin("pg_basebackup"),
          "-h",
          primary.host(),
          "-p",
          Integer.toString(primary.port()),
          "-U",
          SUPERUSER,
          "-D",
          server.dataDir.toString(),
          "-R",
          "-X",
          "stream",
          "-c",
          "fast",
          "--no-sync");
      server.trustNetworks();
      server.startOnFreePort();
      return server;
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  public String name() {
    return name;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  /** {@code host:port}, as error messages name it. */
  public String endpoint() {
    return host + ":" + port;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + host + ":" + port + "/postgres";
  }

  public Path dataDir() {
    return dataDir;
  }

  public Path baseDir() {
    return baseDir;
  }

  public boolean isRunning() {
    return running;
  }

  /** A plain (unpooled) DataSource for the superuser, with short timeouts. */
  public PGSimpleDataSource dataSource() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {host});
    ds.setPortNumbers(new int[] {port});
    ds.setDatabaseName("postgres");
    ds.setUser(SUPERUSER);
    ds.setConnectTimeout(5);
    ds.setSocketTimeout(60);
    ds.setApplicationName("baton-test-" + name);
    return ds;
  }

  public Connection connect() throws SQLException {
    return dataSource().getConnection();
  }

  /** Runs {@code sql} in autocommit mode on a new connection. */
  public void execute(String sql) {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(endpoint() + ": " + sql + ": " + e.getMessage(), e);
    }
  }

  /** Runs a query that returns one value and returns it as a string. */
  public String queryString(String sql) {
    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      if (!rs.next()) {
        throw new IllegalStateException(endpoint() + ": no row from " + sql);
      }
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException(endpoint() + ": " + sql + ": " + e.getMessage(), e);
    }
  }

  public long queryLong(String sql) {
    return Long.parseLong(queryString(sql));
  }

  public boolean isInRecovery() {
    return "t".equals(queryString("SELECT pg_is_in_recovery()"));
  }

  /**
   * Runs {@code sql} with psql where the server runs (through its launch prefix: inside its network
   * namespace when it has one), over TCP to its address, and returns the unaligned, tuples-only
   * output. Reaches the server while its namespace is cut off from the test.
   */
  public String psql(String sql) {
    return runAsPostgresIn(
            baseDir,
            placement.launchPrefix(),
            List.of(
                bin("psql"),
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                host,
                "-p",
                Integer.toString(port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql))
        .strip();
  }

  /** Stops the server the hard way (SIGQUIT to every process: like a crash, no checkpoint). */
  public void stopImmediately() {
    if (running) {
      runAsPostgres(bin("pg_ctl"), "stop", "-D", dataDir.toString(), "-m", "immediate", "-w");
      running = false;
      LOG.info("postgres {} at {} stopped (immediate)", name, endpoint());
    }
  }

  /**
   * Kills the server with SIGKILL: the postmaster and every backend it forked, like a machine
   * losing power (no shutdown, no checkpoint, sockets reset). Waits until they are gone.
   */
  public void kill() {
    if (!running) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("postgres " + name + ": cannot read postmaster.pid", e);
    }
    ProcessHandle postmaster =
        ProcessHandle.of(pid)
            .orElseThrow(() -> new IllegalStateException("postgres " + name + ": no pid " + pid));
    List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
    all.add(0, postmaster);
    all.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle h : all) {
      try {
        h.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException("postgres " + name + ": pid " + h.pid() + " survived", e);
      }
    }
    running = false;
    LOG.info("postgres {} at {} killed (SIGKILL)", name, endpoint());
  }

  /** Stops the server cleanly (fast shutdown: a checkpoint, sessions cut). */
  public void stopFast() {
    if (running) {
      runAsPostgres(bin("pg_ctl"), "stop", "-D", dataDir.toString(), "-m", "fast", "-w");
      running = false;
      LOG.info("postgres {} at {} stopped (fast)", name, endpoint());
    }
  }

  /** Starts the server again on the same port and data directory. */
  public void start() {
    if (!running) {
      pgCtlStart();
    }
  }

  /** The last lines of the server's log, for failure messages. */
  public String logTail(int lines) {
    try {
      if (!Files.exists(logFile)) {
        return "(no log)";
      }
      List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  /** Runs a PostgreSQL binary (from the configured bin directory) as the postgres user. */
  public static String runPostgresBinary(String binary, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(bin(binary));
    cmd.addAll(List.of(args));
    return runAsPostgresIn(TMP, List.of(), cmd);
  }

  /** Path of a PostgreSQL binary in the configured bin directory. */
  public static String bin(String binary) {
    return BIN.resolve(binary).toString();
  }

  /** The command prefix that runs a program as the postgres user ({@code runuser} when root). */
  public static List<String> asPostgresPrefix() {
    return AS_ROOT ? List.of("runuser", "-u", "postgres", "--") : List.of();
  }

  @Override
  public void close() {
    try {
      if (running) {
        stopImmediately();
      }
    } catch (RuntimeException e) {
      LOG.warn("postgres {}: stop failed: {}", name, e.getMessage());
    } finally {
      running = false;
      LIVE.remove(this);
      deleteRecursively(baseDir);
    }
  }

  @Override
  public String toString() {
    return "postgres " + name + " at " + endpoint();
  }

  // ---------------------------------------------------------------------------------------------

  private void startOnFreePort() {
    RuntimeException last = null;
    // A port picked free can be taken before the postmaster binds it; retry a few times.
    for (int attempt = 1; attempt <= 5; attempt++) {
      port = fixedPort != 0 ? fixedPort : freePort();
      writeLocalConfig();
      try {
        pgCtlStart();
        return;
      } catch (RuntimeException e) {
        last = e;
        if (fixedPort != 0
            || !logTail(20).contains("could not bind") && !logTail(20).contains("already in use")) {
          throw e;
        }
        LOG.info("postgres {}: port {} was taken, retrying", name, port);
      }
    }
    throw last;
  }

  private void pgCtlStart() {
    try {
      runAsPostgres(
          bin("pg_ctl"),
          "start",
          "-D",
          dataDir.toString(),
          "-l",
          logFile.toString(),
          "-w",
          "-t",
          "60");
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "postgres " + name + " did not start on " + endpoint() + "; log:\n" + logTail(30), e);
    }
    running = true;
    LIVE.add(this);
    LOG.info("postgres {} started at {} ({})", name, endpoint(), dataDir);
  }

  /**
   * Server-specific settings live in {@code ../local.conf}, outside the data directory, which
   * {@code postgresql.conf} includes: pg_basebackup and pg_rewind copy the configuration files of
   * the data directory from their source, and must not carry the source's port along.
   */
  private void writeLocalConfig() {
    try {
      Files.writeString(
          baseDir.resolve("local.conf"),
          String.join(
              "\n",
              "# baton test fixture: " + name,
              "listen_addresses = '" + host + "'",
              "port = " + port,
              "unix_socket_directories = '" + baseDir + "'",
              extraSettings(),
              ""),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write local.conf in " + baseDir, e);
    }
  }

  private String extraSettings() {
    StringBuilder b = new StringBuilder();
    settings.forEach(
        (k, v) -> {
          if (!k.matches("[a-z_.]+")) {
            throw new IllegalArgumentException("invalid setting name '" + k + "'");
          }
          b.append(k).append(" = '").append(v.replace("'", "''")).append("'\n");
        });
    return b.toString();
  }

  private static void appendTemplateConfig(Path data) {
    try {
      Files.writeString(
          data.resolve("postgresql.conf"),
          String.join(
              "\n",
              "",
              "# baton test fixture",
              "fsync = off",
              "full_page_writes = on",
              "wal_log_hints = on",
              "wal_level = replica",
              "max_wal_senders = 10",
              "max_replication_slots = 10",
              "wal_keep_size = '256MB'",
              "hot_standby = on",
              "max_connections = 100",
              "shared_buffers = '32MB'",
              "wal_receiver_status_interval = '1s'",
              "wal_retrieve_retry_interval = '200ms'",
              "log_line_prefix = '%m [%p] '",
              "include_if_exists = '../local.conf'",
              ""),
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write postgresql.conf in " + data, e);
    }
  }

  private void runAsPostgres(String... cmd) {
    runAsPostgresIn(baseDir, placement.launchPrefix(), List.of(cmd));
  }

  /** Lets the placement's networks connect (pg_hba.conf, in the data directory). */
  private void trustNetworks() {
    if (placement.trustedNetworks().isEmpty()) {
      return;
    }
    StringBuilder hba = new StringBuilder("\n# baton test fixture: a test namespace's link\n");
    for (String cidr : placement.trustedNetworks()) {
      hba.append("host all all ").append(cidr).append(" trust\n");
      hba.append("host replication all ").append(cidr).append(" trust\n");
    }
    try {
      Files.writeString(
          dataDir.resolve("pg_hba.conf"),
          hba.toString(),
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write pg_hba.conf in " + dataDir, e);
    }
  }

  private static synchronized Path template() {
    if (template == null) {
      Path dir = newBaseDir("template");
      Path data = dir.resolve("data");
      long start = System.nanoTime();
      runAsPostgresIn(
          dir,
          List.of(),
          List.of(
              bin("initdb"),
              "-D",
              data.toString(),
              "-U",
              SUPERUSER,
              "--auth=trust",
              "--no-sync",
              "--no-instructions",
              "-E",
              "UTF8",
              "--locale=C"));
      LOG.info(
          "initdb template ready in {} ms",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      appendTemplateConfig(data);
      template = data;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(dir)));
    }
    return template;
  }

  private static Path newBaseDir(String name) {
    try {
      Path dir =
          Files.createTempDirectory(TMP, "baton-pg-" + name.replaceAll("[^a-zA-Z0-9]", "") + "-");
      if (AS_ROOT) {
        UserPrincipal pg =
            dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(dir, pg);
      }
      return dir;
    } catch (IOException e) {
      throw new IllegalStateException("cannot create a directory for postgres under " + TMP, e);
    }
  }

  private static String runAsPostgresIn(Path cwd, List<String> launchPrefix, List<String> command) {
    List<String> cmd = new ArrayList<>(launchPrefix);
    cmd.addAll(asPostgresPrefix());
    cmd.addAll(command);
    Path out = null;
    try {
      out = Files.createTempFile("baton-pg-cmd", ".out");
      Process p =
          new ProcessBuilder(cmd)
              .directory(cwd.toFile())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      if (!p.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "timed out after " + COMMAND_TIMEOUT + ": " + String.join(" ", command));
      }
      String output = Files.readString(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "exit " + p.exitValue() + ": " + String.join(" ", command) + "\n" + output);
      }
      return output;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + String.join(" ", command), e);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a leftover temp file is harmless
        }
      }
    }
  }

  private static int freePort() {
    try {
      return LocalPorts.next(InetAddress.getByName(HOST));
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // best effort: the directory is under the temp dir
                }
              });
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", dir, e.getMessage());
    }
  }
}
