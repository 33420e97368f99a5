package dev.baton.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.Role;
import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.ControlServer;
import dev.baton.dns.DnsConverger;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's HTTP endpoints, for load balancers, GSLB health checks and Prometheus:
 *
 * <ul>
 *   <li>{@code GET /}: the status page, HTML without script or external assets ({@link
 *       StatusPage}), for a person: the members, the active node and its token, health, steps.
 *   <li>{@code GET /active}: 200 on the active node, 503 on every other (HAProxy's {@code httpchk},
 *       a cloud load balancer's target health, a GSLB monitor), like Patroni's {@code /primary}.
 *       The answer is {@code isActive()} at that instant: a node whose lease lapsed answers 503
 *       even before it notices.
 *   <li>{@code GET /health}: 200 while the node runs (whatever its role), 503 while it starts or
 *       stops: a liveness check.
 *   <li>{@code GET /status}: this node's view as JSON (the control API's status message), and, when
 *       a {@code dns} step runs in {@code mode: converge}, {@code dnsConvergence}: per such step,
 *       whether the name is {@code PENDING} (not yet moved to this active node), {@code CONVERGED},
 *       {@code STOPPED} (a newer active owns it) or {@code IDLE} (not active), since when, the
 *       attempts, the last error and the {@code targets} (each name and what it points to once
 *       moved here). The control API's status carries the same as {@code actions}, which {@code
 *       bin/baton status} shows; {@code dnsConvergence} is deprecated (CHANGELOG.md) in its favour.
 *   <li>{@code GET /history}: the activation history as this node has applied it, oldest first in
 *       token order, as JSON: the control API's history message, the same document as {@code
 *       bin/baton history --json} ({@code activations}: node, token, the proposer's wall clock,
 *       reason, previous active, whether it became active, why it resigned, and each promotion step
 *       with its outcome and duration).
 *   <li>{@code GET /metrics}: Prometheus text format.
 *   <li>{@code GET /token}: for processes on this machine only (a client not on a loopback address
 *       gets 403; when {@code http.listen} names one non-loopback address, the endpoints are also
 *       served on {@code 127.0.0.1} at the same port, so a local writer can always reach it): 200
 *       with this activation's token and the lease time left, as JSON, while the node is active and
 *       its lease is valid; 503 otherwise. A token read here is a hint, never a licence: by the
 *       time the caller uses it the lease may have ended, which is why a write carries it to the
 *       fence ({@code baton.check_fence}, docs/fence-protocol.md), which refuses it once a
 *       successor has advanced the fence.
 * </ul>
 */
final class HttpEndpoints implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoints.class);

  private final HttpServer server;
  private final Optional<HttpServer> loopback;
  private final ExecutorService executor;

  private HttpEndpoints(
      HttpServer server, Optional<HttpServer> loopback, ExecutorService executor) {
    this.server = server;
    this.loopback = loopback;
    this.executor = executor;
  }

  /**
   * Listens on {@code listen} and, when that is one specific address that is not loopback (a pod's
   * or host's own address, so a load balancer can reach {@code /active}), also on {@code 127.0.0.1}
   * at the same port with the same endpoints. Without the second listener a local writer could
   * never get a token: dialling 127.0.0.1 finds nothing listening, and dialling the host's own
   * address arrives from that address, not from loopback, so {@code /token} refuses it.
   */
  static HttpEndpoints start(String listen, Sidecar sidecar) {
    int colon = listen.lastIndexOf(':');
    String host = listen.substring(0, colon);
    int port = Integer.parseInt(listen.substring(colon + 1));
    InetSocketAddress address = new InetSocketAddress(host, port);
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "baton-http");
              t.setDaemon(true);
              return t;
            });
    HttpServer server = null;
    try {
      server = serve(address, listen, sidecar, executor);
      Optional<HttpServer> loopback = Optional.empty();
      if (needsLoopbackListener(address)) {
        InetSocketAddress local =
            new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getAddress().getPort());
        String where = local.getHostString() + ":" + local.getPort();
        loopback =
            Optional.of(
                serve(
                    local,
                    where + " (for /token from this machine, beside " + listen + ")",
                    sidecar,
                    executor));
        LOG.info(
            "sidecar {}: HTTP on {} and, for local processes (/token), on {}",
            sidecar.config().nodeId(),
            listen,
            where);
      }
      return new HttpEndpoints(server, loopback, executor);
    } catch (RuntimeException e) {
      if (server != null) {
        server.stop(0);
      }
      executor.shutdownNow();
      throw e;
    }
  }

  /**
   * True when {@code address} is one specific address other than loopback. A wildcard address
   * (0.0.0.0, ::) already accepts loopback connections, and a loopback address is the local one.
   */
  static boolean needsLoopbackListener(InetSocketAddress address) {
    InetAddress a = address.getAddress();
    return a != null && !a.isLoopbackAddress() && !a.isAnyLocalAddress();
  }

  private static HttpServer serve(
      InetSocketAddress address, String listen, Sidecar sidecar, ExecutorService executor) {
    HttpServer server;
    try {
      if (sidecar.config().httpTls().isPresent()) {
        HttpsServer https = HttpsServer.create(address, 64);
        https.setHttpsConfigurator(
            new HttpsConfigurator(PemKeys.sslContext(sidecar.config().httpTls().get())));
        server = https;
      } else {
        server = HttpServer.create(address, 64);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "sidecar " + sidecar.config().nodeId() + ": HTTP cannot listen on " + listen + ": " + e,
          e);
    }
    server.setExecutor(executor);
    server.createContext("/active", ex -> active(ex, sidecar.node()));
    server.createContext("/health", ex -> health(ex, sidecar));
    server.createContext("/token", ex -> token(ex, sidecar.node()));
    server.createContext("/status", ex -> status(ex, sidecar));
    server.createContext("/history", ex -> history(ex, sidecar));
    server.createContext(
        "/metrics",
        ex ->
            respond(
                ex, 200, "text/plain; version=0.0.4; charset=utf-8", sidecar.registry().scrape()));
    server.createContext("/", ex -> page(ex, sidecar));
    server.start();
    return server;
  }

  String address() {
    return server.getAddress().getHostString() + ":" + server.getAddress().getPort();
  }

  private static void active(HttpExchange ex, BatonNode node) throws IOException {
    if (!onlyGet(ex)) {
      return;
    }
    // isActive() and token() are read separately; a switch between them can only make the token
    // 0 on a 200, never attach another activation's token to it.
    boolean active = node.isActive();
    long token = node.token();
    ex.getResponseHeaders().add("X-Baton-Node", node.id());
    if (active) {
      ex.getResponseHeaders().add("X-Baton-Token", Long.toString(token));
      respond(
          ex, 200, "text/plain; charset=utf-8", "active " + node.id() + " token=" + token + "\n");
    } else {
      respond(
          ex,
          503,
          "text/plain; charset=utf-8",
          "not active " + node.id() + " role=" + node.role() + "\n");
    }
  }

  private static void token(HttpExchange ex, BatonNode node) throws IOException {
    if (!onlyGet(ex)) {
      return;
    }
    if (!ex.getRemoteAddress().getAddress().isLoopbackAddress()) {
      respond(
          ex,
          403,
          "text/plain; charset=utf-8",
          "/token answers processes on this machine only (loopback)\n");
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", node.id());
    Optional<ActiveContext> ctx = node.activeContext();
    // Read once: the lease left is measured on this activation's own clock, after the check.
    Duration left = ctx.map(ActiveContext::leaseRemaining).orElse(Duration.ZERO);
    if (ctx.isEmpty() || !ctx.get().isLeaseValid() || left.isZero() || left.isNegative()) {
      body.put("role", node.role().name());
      respond(ex, 503, "application/json", Json.write(body) + "\n");
      return;
    }
    body.put("token", ctx.get().token());
    body.put("leaseRemainingMillis", left.toMillis());
    ex.getResponseHeaders().add("X-Baton-Token", Long.toString(ctx.get().token()));
    respond(ex, 200, "application/json", Json.write(body) + "\n");
  }

  private static void health(HttpExchange ex, Sidecar sidecar) throws IOException {
    if (!onlyGet(ex)) {
      return;
    }
    BatonNode node = sidecar.node();
    Role role = node.role();
    boolean up = role != Role.STOPPED && sidecar.control() != null;
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", up ? "UP" : "DOWN");
    body.put("node", node.id());
    body.put("role", role.name());
    respond(ex, up ? 200 : 503, "application/json", Json.write(body) + "\n");
  }

  /**
   * The control server for a GET of a JSON endpoint, or null when the request has been answered
   * already: 405 for another method, 503 with {@code "role": "STARTING"} while the node starts.
   */
  private static ControlServer jsonGet(HttpExchange ex, Sidecar sidecar) throws IOException {
    if (!onlyGet(ex)) {
      return null;
    }
    return controlOr503(
        ex,
        sidecar,
        "application/json",
        "{\"node\":\"" + sidecar.config().nodeId() + "\",\"role\":\"STARTING\"}\n");
  }

  private static void history(HttpExchange ex, Sidecar sidecar) throws IOException {
    ControlServer control = jsonGet(ex, sidecar);
    if (control == null) {
      return;
    }
    respond(
        ex,
        200,
        "application/json",
        Json.write(ControlMessages.history(control.activations())) + "\n");
  }

  private static void status(HttpExchange ex, Sidecar sidecar) throws IOException {
    ControlServer control = jsonGet(ex, sidecar);
    if (control == null) {
      return;
    }
    JsonNode tree = Json.tree(ControlMessages.status(control.statusReport()));
    List<DnsConverger> convergers = ActionStates.convergers(sidecar.config().plan());
    if (!convergers.isEmpty() && tree instanceof ObjectNode o) {
      ArrayNode list = o.putArray("dnsConvergence");
      for (DnsConverger c : convergers) {
        ObjectNode entry = dnsConvergence(c.status());
        ObjectNode targets = entry.putObject("targets");
        c.dnsSwitch()
            .targets()
            .forEach(
                (name, values) -> {
                  ArrayNode v = targets.putArray(name);
                  values.forEach(v::add);
                });
        list.add(entry);
      }
    }
    respond(ex, 200, "application/json", Json.write(tree) + "\n");
  }

  /**
   * The node's control server, which the sidecar starts last; while it is still starting there is
   * none, and this answers 503 with {@code starting} (of {@code contentType}) and returns null.
   */
  private static ControlServer controlOr503(
      HttpExchange ex, Sidecar sidecar, String contentType, String starting) throws IOException {
    ControlServer control = sidecar.control();
    if (control == null) {
      respond(ex, 503, contentType, starting);
    }
    return control;
  }

  /** {@code GET /}: the status page ({@link StatusPage}); any other unknown path is a 404. */
  private static void page(HttpExchange ex, Sidecar sidecar) throws IOException {
    if (!ex.getRequestURI().getPath().equals("/")) {
      respond(
          ex,
          404,
          "text/plain; charset=utf-8",
          "not found; endpoints: / /active /health /status /history /metrics /token\n");
      return;
    }
    if (!onlyGet(ex)) {
      return;
    }
    ControlServer control =
        controlOr503(
            ex,
            sidecar,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><meta http-equiv=\"refresh\" content=\""
                + StatusPage.REFRESH_SECONDS
                + "\"><title>Baton</title></head><body><p>Node "
                + StatusPage.esc(sidecar.config().nodeId())
                + " is starting.</p></body></html>\n");
    if (control == null) {
      return;
    }
    ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    ex.getResponseHeaders()
        .set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    respond(
        ex,
        200,
        "text/html; charset=utf-8",
        StatusPage.render(control.statusReport(), control.activations(), Instant.now()));
  }

  /** One converge-mode dns step's state, for {@code /status}. */
  static ObjectNode dnsConvergence(DnsConverger.Status s) {
    ObjectNode n = Json.mapper().createObjectNode();
    n.put("step", s.step());
    ArrayNode names = n.putArray("names");
    s.names().forEach(names::add);
    n.put("state", s.state().name());
    n.put("token", s.token());
    n.put(
        "since",
        s.sinceEpochMillis() == 0 ? "" : Instant.ofEpochMilli(s.sinceEpochMillis()).toString());
    n.put("forMillis", s.forMillis());
    n.put("attempts", s.attempts());
    n.put("lastError", s.lastError());
    n.put(
        "lastErrorAt",
        s.lastErrorEpochMillis() == 0
            ? ""
            : Instant.ofEpochMilli(s.lastErrorEpochMillis()).toString());
    return n;
  }

  private static boolean onlyGet(HttpExchange ex) throws IOException {
    if (ex.getRequestMethod().equals("GET") || ex.getRequestMethod().equals("HEAD")) {
      return true;
    }
    ex.getResponseHeaders().add("Allow", "GET, HEAD");
    respond(ex, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
    return false;
  }

  private static void respond(HttpExchange ex, int code, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(code, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
    ex.close();
  }

  @Override
  public void close() {
    server.stop(0);
    loopback.ifPresent(l -> l.stop(0));
    executor.shutdownNow();
  }
}
