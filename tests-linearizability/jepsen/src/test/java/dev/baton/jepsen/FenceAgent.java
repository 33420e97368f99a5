package dev.baton.jepsen;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.Network;

/**
 * The STONITH of {@link ProductPathTest}, wired as a user wires it: each site's {@code postgres}
 * step has a {@code stopCommand} ({@code /site/stonith.sh}) that asks a fence agent to power off
 * the old primary. The agent stands in for a cloud's or an IPMI power API: a small HTTP server in
 * the test JVM, on the run's Docker network's gateway address (the host's side of the bridge, which
 * every container reaches).
 *
 * <p><b>The request.</b> {@code POST /power-off?host=H&token=T&node=N}, with {@code Authorization:
 * Bearer <credential>}: {@code H} is the old primary's server ({@code BATON_PG_HOST}), {@code T}
 * and {@code N} the token and node of the activation that asks ({@code BATON_TOKEN}, {@code
 * BATON_NODE}; docs/sidecar-config.md, {@code stopCommand}). Each site has its own credential,
 * drawn per run from {@link SecureRandom} and written to {@code /site/stonith.credential} (mode
 * 0400, owner root: the sidecar runs as root in the container, the site's PostgreSQL as {@code
 * postgres} cannot read it). It is in no YAML, no process argument, no environment and no log: the
 * script reads it with bash's {@code read} and sends it with bash's {@code printf} to {@code
 * /dev/tcp} (builtins, so no child process carries it; the node image has no curl), and {@link
 * #assertCredentialsNotIn} checks every file of the run but the credential files after the run. A
 * request with a wrong or missing credential is refused (403) and recorded nowhere but the counter;
 * an unknown host is 404: the script exits non-zero, and Baton refuses to promote.
 *
 * <p><b>Power-off</b> is a SIGKILL of the whole site container, not only of its postmaster: closer
 * to a power cut of the site's machine, which runs the sidecar, its former-primary guard and the
 * writer beside PostgreSQL (the guard must run on the database's host), so all of them stop at once
 * as they would; killing only the postmaster would leave the old active's sidecar and writer
 * running, which no power-off does. The answer (200) is sent once Docker reports the container
 * stopped, so Baton goes on only after the server is off. A container already stopped is answered
 * 200 too ("already off", as fence agents treat an outlet that is off) and not powered on later by
 * the harness: something else stopped it (a {@code kill} fault). Each stop is recorded ({@link
 * Stop}: when it was asked and done, by CLOCK_MONOTONIC as the writers' logs, the target, the token
 * and node that asked) and {@link #powerOnAll} starts every container it powered off again (the
 * heal: the start script starts PostgreSQL as it was, read-only since Baton fenced it, then the
 * writer and the sidecar, whose guard rejoins the server with {@code pg_rewind}).
 */
final class FenceAgent implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FenceAgent.class);
  private static final Pattern HOST = Pattern.compile("[0-9.]{7,15}");
  private static final Pattern TOKEN = Pattern.compile("[0-9]{1,19}");
  private static final Pattern NODE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /** The file in a site's directory that holds its credential ({@code /site/...} in it). */
  static final String CREDENTIAL_FILE = "stonith.credential";

  /** The stop command each site's YAML names. */
  static final String SCRIPT_FILE = "stonith.sh";

  /**
   * One power-off the agent did: asked at {@code askedAt} and done (the container seen stopped) at
   * {@code doneAt} (nanoTime), of {@code targetNode}'s server {@code targetHost}, by the activation
   * of {@code node} with {@code token}, through the credential of site {@code caller}; {@code
   * alreadyOff} when the container was stopped before; {@code poweredOnAt} when the harness started
   * it again (-1: not yet).
   */
  record Stop(
      long askedAt,
      long doneAt,
      String targetNode,
      String targetHost,
      long token,
      String node,
      String caller,
      boolean alreadyOff,
      long poweredOnAt) {
    String describe(long origin) {
      return String.format(
          "%s (%s) powered off at %+.0f ms (%.0f ms after asked) for token %d of %s%s%s",
          targetNode,
          targetHost,
          (doneAt - origin) / 1e6,
          (doneAt - askedAt) / 1e6,
          token,
          node,
          alreadyOff ? ", already off" : "",
          poweredOnAt > 0
              ? String.format(", powered on at %+.0f ms", (poweredOnAt - origin) / 1e6)
              : "");
    }
  }

  private final DockerClient docker;
  private final Map<String, String> nodeOfHost;
  private final Function<String, String> containerOfNode;
  private final HttpServer server;
  private final Map<String, String> siteOfCredential = new ConcurrentHashMap<>();
  private final List<Stop> stops = new ArrayList<>();
  private final long origin = System.nanoTime();
  private volatile int refused;

  /**
   * Starts the agent on {@code bindAddress} (an ephemeral port). {@code nodeOfHost}: each site's
   * server address and its node; {@code containerOfNode}: a node's container id, read at each
   * power-off (the harness starts the containers after the agent).
   */
  FenceAgent(
      DockerClient docker,
      String bindAddress,
      Map<String, String> nodeOfHost,
      Function<String, String> containerOfNode)
      throws IOException {
    this.docker = docker;
    this.nodeOfHost = Map.copyOf(nodeOfHost);
    this.containerOfNode = containerOfNode;
    server = HttpServer.create(new InetSocketAddress(bindAddress, 0), 16);
    server.setExecutor(Executors.newCachedThreadPool(daemon()));
    server.createContext("/power-off", this::powerOff);
    server.start();
    LOG.info("fence agent: listening on {}", address());
  }

  /**
   * Starts an agent on {@code network}'s gateway address (the host's side of the bridge; {@code
   * prefix + "1"} when Docker does not report it).
   */
  static FenceAgent start(
      DockerClient docker,
      Network network,
      String prefix,
      Map<String, String> nodeOfHost,
      Function<String, String> containerOfNode)
      throws IOException {
    String gateway = null;
    try {
      var ipam = docker.inspectNetworkCmd().withNetworkId(network.getId()).exec().getIpam();
      if (ipam != null && ipam.getConfig() != null) {
        for (var c : ipam.getConfig()) {
          if (c.getGateway() != null && !c.getGateway().isBlank()) {
            gateway = c.getGateway();
          }
        }
      }
    } catch (RuntimeException e) {
      LOG.info("fence agent: the network's gateway is not reported ({})", e.toString());
    }
    return new FenceAgent(
        docker, gateway != null ? gateway : prefix + "1", nodeOfHost, containerOfNode);
  }

  private static java.util.concurrent.ThreadFactory daemon() {
    return r -> {
      Thread t = new Thread(r, "fence-agent");
      t.setDaemon(true);
      return t;
    };
  }

  /** {@code host:port} the sites' stop commands reach. */
  String address() {
    return server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort();
  }

  /**
   * Writes site {@code siteId}'s credential ({@value #CREDENTIAL_FILE}, mode 0400) and stop command
   * ({@value #SCRIPT_FILE}) into its directory, mounted as {@code /site}.
   */
  void writeSiteFiles(Path dir, String siteId) throws IOException {
    byte[] raw = new byte[32];
    new SecureRandom().nextBytes(raw);
    String credential = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    siteOfCredential.put(credential, siteId);
    Path file = dir.resolve(CREDENTIAL_FILE);
    Files.deleteIfExists(file);
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, credential + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    String[] hp = address().split(":");
    List<String> s = new ArrayList<>();
    s.add("#!/bin/bash");
    s.add(
        "# Written by ProductPathTest (FenceAgent): the postgres step's stopCommand. It asks the");
    s.add(
        "# fence agent to power off the old primary BATON_PG_HOST for the activation BATON_NODE /");
    s.add(
        "# BATON_TOKEN; exit 0 only once the agent says it is off. The credential is read and sent");
    s.add(
        "# by bash builtins (read, printf to /dev/tcp): no process argument or environment holds it.");
    s.add("set -u");
    s.add("host=${BATON_PG_HOST:?}; token=${BATON_TOKEN:?}; node=${BATON_NODE:?}");
    s.add("if ! IFS= read -r cred < /site/" + CREDENTIAL_FILE + "; then");
    s.add("  echo \"stonith: cannot read /site/" + CREDENTIAL_FILE + "\" >&2; exit 2");
    s.add("fi");
    s.add("if ! exec 3<>/dev/tcp/" + hp[0] + "/" + hp[1] + "; then");
    s.add("  echo \"stonith: the fence agent at " + address() + " is unreachable\" >&2; exit 3");
    s.add("fi");
    s.add(
        "printf 'POST /power-off?host=%s&token=%s&node=%s HTTP/1.1\\r\\nHost: "
            + address()
            + "\\r\\nAuthorization: Bearer %s\\r\\nContent-Length: 0\\r\\nConnection: close"
            + "\\r\\n\\r\\n' \"$host\" \"$token\" \"$node\" \"$cred\" >&3");
    s.add("unset cred");
    s.add("IFS= read -r status <&3 || status=''");
    s.add("code=${status#* }; code=${code%% *}");
    s.add("body=''");
    s.add("while IFS= read -r line <&3; do body=${line%$'\\r'}; done");
    s.add("exec 3<&-");
    s.add("if [ \"$code\" = 200 ]; then echo \"stonith: $body\"; exit 0; fi");
    s.add("echo \"stonith: the fence agent answered ${code:-nothing}: $body\" >&2");
    s.add("exit 1");
    Path script = dir.resolve(SCRIPT_FILE);
    Files.writeString(script, String.join("\n", s) + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("r-x------"));
  }

  /** The postgres step's keys that wire the stop command (YAML, at the step's indentation). */
  static String stepYaml() {
    return "      stopCommand: [bash, /site/" + SCRIPT_FILE + "]\n      stopCommandTimeout: 30s\n";
  }

  private void powerOff(HttpExchange x) throws IOException {
    try (x) {
      long askedAt = System.nanoTime();
      if (!x.getRequestMethod().equals("POST")) {
        answer(x, 405, "POST only");
        return;
      }
      String caller = caller(x.getRequestHeaders().getFirst("Authorization"));
      if (caller == null) {
        refused++;
        answer(x, 403, "no valid credential");
        return;
      }
      Map<String, String> q = query(x.getRequestURI().getRawQuery());
      String host = q.getOrDefault("host", "");
      String token = q.getOrDefault("token", "");
      String node = q.getOrDefault("node", "");
      if (!HOST.matcher(host).matches()
          || !TOKEN.matcher(token).matches()
          || !NODE.matcher(node).matches()) {
        answer(x, 400, "host, token and node are required (host=" + host + ")");
        return;
      }
      String target = nodeOfHost.get(host);
      if (target == null) {
        answer(x, 404, "no site has the server " + host);
        return;
      }
      try {
        boolean alreadyOff = kill(target);
        Stop s =
            new Stop(
                askedAt,
                System.nanoTime(),
                target,
                host,
                Long.parseLong(token),
                node,
                caller,
                alreadyOff,
                -1);
        synchronized (stops) {
          stops.add(s);
        }
        LOG.info("fence agent: {} (asked through {}'s credential)", s.describe(origin), caller);
        answer(x, 200, (alreadyOff ? "already off: " : "powered off: ") + target + " " + host);
      } catch (RuntimeException e) {
        LOG.warn("fence agent: powering off {} failed: {}", target, e.toString());
        answer(x, 500, "powering off " + target + " failed: " + e);
      }
    }
  }

  /** Kills {@code node}'s container and waits until it is stopped; true if it was already. */
  private boolean kill(String node) {
    String id = containerOfNode.apply(node);
    if (!running(id)) {
      return true;
    }
    try {
      docker.killContainerCmd(id).withSignal("KILL").exec();
    } catch (ConflictException e) {
      // Stopped between the look and the kill.
    }
    Awaitility.await(node + "'s container stopped after the power-off")
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> !running(id));
    return false;
  }

  private boolean running(String id) {
    return Boolean.TRUE.equals(docker.inspectContainerCmd(id).exec().getState().getRunning());
  }

  /** The site whose credential {@code header} carries, compared in constant time; else null. */
  private String caller(String header) {
    if (header == null || !header.startsWith("Bearer ")) {
      return null;
    }
    byte[] given = header.substring(7).trim().getBytes(StandardCharsets.US_ASCII);
    String found = null;
    for (Map.Entry<String, String> e : siteOfCredential.entrySet()) {
      if (MessageDigest.isEqual(given, e.getKey().getBytes(StandardCharsets.US_ASCII))) {
        found = e.getValue();
      }
    }
    return found;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new LinkedHashMap<>();
    if (raw == null) {
      return q;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        q.put(
            URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return q;
  }

  private static void answer(HttpExchange x, int code, String body) throws IOException {
    byte[] b = (body + "\n").getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    x.sendResponseHeaders(code, b.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(b);
    }
  }

  /** Whether the agent powered {@code node}'s container off at or after {@code since}. */
  boolean poweredOffSince(String node, long since) {
    synchronized (stops) {
      return stops.stream()
          .anyMatch(s -> s.targetNode().equals(node) && !s.alreadyOff() && s.askedAt() >= since);
    }
  }

  /**
   * Starts again every container the agent powered off and the harness has not started yet (the
   * heal); returns the nodes started.
   */
  List<String> powerOnAll() {
    List<String> started = new ArrayList<>();
    synchronized (stops) {
      for (int i = 0; i < stops.size(); i++) {
        Stop s = stops.get(i);
        if (s.alreadyOff() || s.poweredOnAt() > 0 || started.contains(s.targetNode())) {
          continue;
        }
        String id = containerOfNode.apply(s.targetNode());
        if (!running(id)) {
          try {
            docker.startContainerCmd(id).exec();
          } catch (NotModifiedException e) {
            // Started meanwhile.
          }
          started.add(s.targetNode());
          LOG.info("fence agent: {} powered on again", s.targetNode());
        }
        long now = System.nanoTime();
        for (int j = 0; j < stops.size(); j++) {
          Stop o = stops.get(j);
          if (o.targetNode().equals(s.targetNode()) && !o.alreadyOff() && o.poweredOnAt() < 0) {
            stops.set(
                j,
                new Stop(
                    o.askedAt(),
                    o.doneAt(),
                    o.targetNode(),
                    o.targetHost(),
                    o.token(),
                    o.node(),
                    o.caller(),
                    false,
                    now));
          }
        }
      }
    }
    return started;
  }

  /**
   * The heal of a fault that began at {@code since} on {@code target}: if the agent powered the
   * target off meanwhile, the fault's own heal is skipped (it would undo something in a machine
   * that no longer runs: a SIGCONT, an iptables rule, a server start) and the machine is powered on
   * instead, which starts it clean; then every other machine it powered off is powered on.
   */
  void healOr(ProductPathTest.Site target, long since, Runnable heal) {
    if (poweredOffSince(target.id(), since)) {
      LOG.info(
          "fence agent: {} was powered off during the fault; powering it on instead of the"
              + " fault's heal",
          target.id());
    } else {
      heal.run();
    }
    powerOnAll();
  }

  /** Every stop so far, in the order done. */
  List<Stop> stops() {
    synchronized (stops) {
      return List.copyOf(stops);
    }
  }

  /** Requests refused for a missing or wrong credential. */
  int refused() {
    return refused;
  }

  /**
   * The stops as lines for results.txt, times from the agent's start, and the promotions that went
   * on past an unreachable old primary without it (the fence's time bound: the sidecar's WARN).
   */
  String describe(java.util.Collection<ProductPathTest.Site> sites) throws IOException {
    Map<String, Integer> covered = new LinkedHashMap<>();
    for (ProductPathTest.Site s : sites) {
      Path log = s.dir().resolve("sidecar.log");
      if (Files.exists(log)) {
        int n = 0;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
          if (line.contains("unreachable; not stopped;")) {
            n++;
          }
        }
        if (n > 0) {
          covered.put(s.id(), n);
        }
      }
    }
    return describe()
        + "  promotions past an unreachable old primary, not stopped (fenceLease, the sidecar's"
        + " WARN), per promoting node: "
        + covered
        + "\n";
  }

  private String describe() {
    List<Stop> all = stops();
    StringBuilder b =
        new StringBuilder("  fence agent (STONITH): ")
            .append(all.size())
            .append(all.size() == 1 ? " stop" : " stops")
            .append(", ")
            .append(refused)
            .append(" requests refused for their credential\n");
    for (Stop s : all) {
      b.append("    ").append(s.describe(origin)).append('\n');
    }
    return b.toString();
  }

  /**
   * Fails if any file under {@code root} but the credential files holds a credential: a log, the
   * YAML, a script, a writer's record.
   */
  void assertCredentialsNotIn(Path root) throws IOException {
    List<String> leaks = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (!Files.isRegularFile(f) || f.getFileName().toString().equals(CREDENTIAL_FILE)) {
          continue;
        }
        String text;
        try {
          text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
          continue; // a PostgreSQL file owned by its user, unreadable: written by the server
        }
        for (Map.Entry<String, String> e : siteOfCredential.entrySet()) {
          if (text.contains(e.getKey())) {
            leaks.add(root.relativize(f) + " holds " + e.getValue() + "'s credential");
          }
        }
      }
    }
    if (!leaks.isEmpty()) {
      throw new AssertionError("the fence agent's credential leaked: " + leaks);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
