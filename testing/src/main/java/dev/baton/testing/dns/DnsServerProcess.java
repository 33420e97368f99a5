package dev.baton.testing.dns;

import static org.awaitility.Awaitility.await;

import dev.baton.core.LocalPorts;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * What {@link BindServer} and {@link KnotServer} share: keys from {@code tsig-keygen}, zone files,
 * a free port, starting the process and waiting until it answers, stopping it, cleaning up.
 *
 * <p>Why this class is over 450 lines: it is the one place where both servers' process and zone
 * handling lives, so that {@link BindServer} and {@link KnotServer} hold only their own
 * configuration syntax: the first half is what a test asks of a running server (its keys, a dig,
 * the SOA serial, pause, resume, stop, restart), the second the plumbing (tsig-keygen, zone files,
 * starting the process and waiting until it answers) that no caller sees.
 */
public abstract class DnsServerProcess implements AuthoritativeDnsServer {
  private static final Logger LOG = LoggerFactory.getLogger(DnsServerProcess.class);
  private static final Pattern SECRET = Pattern.compile("secret\\s+\"([^\"]+)\"");
  public static final String HOST = "127.0.0.1";

  protected final String zone;
  protected final String staticZone;
  private final List<String> zoneRecords;
  protected final Path dir;
  private final Map<String, Path> keyFiles = new LinkedHashMap<>();
  private Path noRightsKeyFile;
  protected int port;
  private Process process;
  private boolean paused;
  private Thread shutdownHook;

  protected DnsServerProcess(String zone, String staticZone, List<String> zoneRecords) {
    this.zone = absolute(zone);
    this.staticZone = absolute(staticZone);
    this.zoneRecords = List.copyOf(zoneRecords);
    try {
      this.dir = Files.createTempDirectory("baton-dns-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes the configuration for {@link #port}; called before every (re)start. */
  protected abstract void writeConfig() throws IOException;

  /** The command that runs the server in the foreground, logging to stdout/stderr. */
  protected abstract List<String> command();

  /** The key names allowed to update {@link #zone}: {@code baton-<algorithm>.} */
  protected static String updateKeyName(String algorithm) {
    return "baton-" + algorithm;
  }

  protected static final String NO_RIGHTS_KEY_NAME = "baton-no-rights";

  /** Generates the keys, writes the zone files, picks a port and starts. */
  protected final void startFresh() {
    try {
      setUp();
      startOnFreePort();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  @Override
  public String host() {
    return HOST;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public String zone() {
    return zone;
  }

  @Override
  public String staticZone() {
    return staticZone;
  }

  @Override
  public Path keyFile(String algorithm) {
    Path file = keyFiles.get(algorithm);
    if (file == null) {
      throw new IllegalArgumentException(
          "no key for TSIG algorithm '" + algorithm + "' (one of " + ALGORITHMS + ")");
    }
    return file;
  }

  @Override
  public Path keyFileWithoutUpdateRights() {
    return noRightsKeyFile;
  }

  /** The base64 secret of a key file, for writing server configurations that are not BIND's. */
  protected static String secretOf(Path keyFile) throws IOException {
    Matcher m = SECRET.matcher(Files.readString(keyFile));
    if (!m.find()) {
      throw new IllegalStateException("no secret in " + keyFile);
    }
    return m.group(1);
  }

  /** The update keys' files by algorithm (BIND name), in the order of {@link #ALGORITHMS}. */
  protected Map<String, Path> keyFiles() {
    return keyFiles;
  }

  protected Path noRightsKeyFile() {
    return noRightsKeyFile;
  }

  @Override
  public Path directory() {
    return dir;
  }

  @Override
  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  @Override
  public String log() {
    try {
      Path log = dir.resolve("server.log");
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read server.log: " + e + ")";
    }
  }

  @Override
  public List<String> dig(String name, String type) {
    List<String> cmd =
        List.of(
            binary("dig"),
            "@" + HOST,
            "-p",
            Integer.toString(port),
            "+short",
            "+norecurse",
            "+time=2",
            "+tries=2",
            name,
            type);
    String out = run(cmd, Duration.ofSeconds(15));
    List<String> lines = new ArrayList<>();
    for (String l : out.split("\n")) {
      if (!l.isBlank()) {
        lines.add(l.trim());
      }
    }
    return lines;
  }

  @Override
  public long soaSerial() {
    List<String> soa = dig(zone, "SOA");
    if (soa.size() != 1) {
      throw new IllegalStateException("unexpected SOA answer from " + this + ": " + soa);
    }
    return Long.parseLong(soa.get(0).split("\\s+")[2]);
  }

  @Override
  public synchronized void pause() {
    signal("STOP");
    paused = true;
    // kill(2) returns before every thread has stopped: wait until each one is in state T, so
    // that nothing is answered after pause() returns.
    Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(5))
        .until(() -> allStopped(tasks));
  }

  private static boolean allStopped(Path tasks) throws IOException {
    try (Stream<Path> threads = Files.list(tasks)) {
      return threads.allMatch(
          t -> {
            try {
              String stat = Files.readString(t.resolve("stat"));
              // The state follows the command name in parentheses.
              return stat.substring(stat.lastIndexOf(')') + 2).startsWith("T");
            } catch (IOException gone) {
              return true; // a thread that exited answers nothing
            }
          });
    }
  }

  @Override
  public synchronized void resume() {
    signal("CONT");
    paused = false;
  }

  private void signal(String signal) {
    if (process == null || !process.isAlive()) {
      throw new IllegalStateException(kind() + " on port " + port + " is not running");
    }
    run(List.of("kill", "-" + signal, Long.toString(process.pid())));
  }

  @Override
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    Process p = process;
    process = null;
    if (paused) {
      // A stopped process holds SIGTERM until it is continued.
      run(List.of("kill", "-CONT", Long.toString(p.pid())));
      paused = false;
    }
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    removeHook();
  }

  @Override
  public synchronized void restart() {
    stop();
    if (!launch()) {
      throw new IllegalStateException(
          kind() + " did not come back on " + HOST + ":" + port + "; log:\n" + tail(log()));
    }
  }

  @Override
  public synchronized void close() {
    stop();
    deleteRecursively(dir);
  }

  @Override
  public String toString() {
    return kind() + "[" + HOST + ":" + port + ", zone " + zone + "]";
  }

  // ---------------------------------------------------------------------------------------------

  private void setUp() {
    try {
      Path keyDir = Files.createDirectories(dir.resolve("keys"));
      for (String a : ALGORITHMS) {
        String name = updateKeyName(a);
        Path file = keyDir.resolve(name + ".key");
        Files.writeString(file, run(List.of(binary("tsig-keygen"), "-a", a, name)));
        keyFiles.put(a, file);
      }
      noRightsKeyFile = keyDir.resolve(NO_RIGHTS_KEY_NAME + ".key");
      Files.writeString(
          noRightsKeyFile,
          run(List.of(binary("tsig-keygen"), "-a", "hmac-sha256", NO_RIGHTS_KEY_NAME)));
      writeZone(dynamicZoneFile(), zone, zoneRecords);
      writeZone(staticZoneFile(), staticZone, List.of("app IN A 192.0.2.80"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  protected Path dynamicZoneFile() {
    return dir.resolve("db.dynamic");
  }

  protected Path staticZoneFile() {
    return dir.resolve("db.static");
  }

  private static void writeZone(Path file, String origin, List<String> extra) throws IOException {
    StringBuilder z = new StringBuilder();
    z.append("$ORIGIN ").append(origin).append('\n');
    z.append("$TTL 30\n");
    // The last SOA field (5 s) bounds negative caching of NXDOMAIN/NODATA answers.
    z.append("@ IN SOA ns1 hostmaster 1 60 60 3600 5\n");
    z.append("@ IN NS ns1\n");
    z.append("ns1 IN A 127.0.0.1\n");
    for (String l : extra) {
      z.append(l).append('\n');
    }
    Files.writeString(file, z.toString());
  }

  private void startOnFreePort() {
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      port = freePort();
      if (launch()) {
        LOG.info("{} running on {}:{} (zone {}, dir {})", kind(), HOST, port, zone, dir);
        return;
      }
      // Most likely someone took the port between our probe and the server's bind: try another.
      failures.add("port " + port + ": " + tail(log()));
    }
    throw new IllegalStateException(
        kind() + " did not start; attempts:\n" + String.join("\n", failures));
  }

  /** Starts the server and waits until it answers SOA over UDP and TCP; false if it exits first. */
  private synchronized boolean launch() {
    Process p;
    try {
      writeConfig();
      ProcessBuilder pb = new ProcessBuilder(command());
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile()));
      pb.directory(dir.toFile());
      p = pb.start();
      process = p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    shutdownHook = new Thread(p::destroyForcibly, "dns-server-shutdown-" + port);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollDelay(Duration.ofMillis(20))
          .pollInterval(Duration.ofMillis(50))
          .ignoreExceptions()
          .until(() -> !p.isAlive() || (answersSoa(false) && answersSoa(true)));
    } catch (ConditionTimeoutException e) {
      stop();
      throw new IllegalStateException(
          kind() + " on " + HOST + ":" + port + " did not answer within 30 s; log:\n" + tail(log()),
          e);
    }
    if (!p.isAlive()) {
      process = null;
      removeHook();
      return false;
    }
    return true;
  }

  private boolean answersSoa(boolean tcp) throws IOException {
    SimpleResolver r = new SimpleResolver(new InetSocketAddress(HOST, port));
    r.setTCP(tcp);
    r.setTimeout(Duration.ofMillis(500));
    Message q = Message.newQuery(Record.newRecord(Name.fromString(zone), Type.SOA, DClass.IN));
    q.getHeader().unsetFlag(Flags.RD);
    Message resp = r.send(q);
    return resp.getRcode() == Rcode.NOERROR && resp.getHeader().getFlag(Flags.AA);
  }

  private void removeHook() {
    if (shutdownHook != null) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException ignored) {
        // The JVM is already shutting down and runs the hook itself.
      }
      shutdownHook = null;
    }
  }

  /** A port free for both TCP and UDP on 127.0.0.1, never handed out before in this JVM. */
  private static int freePort() {
    try {
      return LocalPorts.next(
          InetAddress.getByName(HOST),
          p -> {
            try (DatagramSocket d = new DatagramSocket(new InetSocketAddress(HOST, p))) {
              return true;
            } catch (IOException busy) {
              return false; // UDP side taken; try another.
            }
          });
    } catch (UnknownHostException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The path of a binary in PATH or the sbin directories; fails with the install hint. */
  public static String binary(String name) {
    String path = System.getenv().getOrDefault("PATH", "");
    List<String> dirs = new ArrayList<>(List.of(path.split(File.pathSeparator)));
    dirs.addAll(List.of("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin"));
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw new IllegalStateException(
        name
            + " not found (PATH and /usr/sbin); install it with: bash scripts/install-deps"
            + " (Debian packages bind9, bind9-utils, bind9-dnsutils; knot for knotd)");
  }

  /** Whether a binary is installed. */
  public static boolean installed(String name) {
    try {
      binary(name);
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  static String run(List<String> cmd) {
    return run(cmd, Duration.ofSeconds(30));
  }

  static String run(List<String> cmd, Duration timeout) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(cmd + " did not finish in " + timeout);
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + text);
      }
      return text;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String tail(String log) {
    String[] lines = log.split("\n");
    int from = Math.max(0, lines.length - 15);
    return String.join("\n", Arrays.copyOfRange(lines, from, lines.length));
  }

  private static String absolute(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n : n + ".";
  }

  private static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not remove {}: {}", root, e.toString());
    }
  }
}
