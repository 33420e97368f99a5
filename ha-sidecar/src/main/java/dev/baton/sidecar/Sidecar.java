package dev.baton.sidecar;

import dev.baton.core.BatonNode;
import dev.baton.core.control.ControlServer;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
import dev.baton.sidecar.config.NodeService;
import dev.baton.sidecar.config.SidecarConfig;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node for a non-Java plane: the Baton node with the configured promotion plan, its gRPC
 * control API, and the HTTP endpoints (/active, /health, /status, /metrics, /token).
 *
 * <p>Start order: HTTP first (so a probe sees 503 "starting" rather than a refused connection),
 * then the node (which waits out one election timeout, see docs/lease.md step 3), then the control
 * API. Close order is the reverse; closing the node demotes it gracefully (hooks run, leadership is
 * handed to a peer).
 */
public final class Sidecar implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);

  private final SidecarConfig config;
  private final PrometheusMeterRegistry registry;
  private final BatonNode node;
  private HttpEndpoints http;
  private ControlServer control;
  private final List<AutoCloseable> services = new ArrayList<>();
  private final CountDownLatch closed = new CountDownLatch(1);
  private volatile String failure;

  private Sidecar(SidecarConfig config) {
    this.config = config;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    BatonNode.Builder b =
        BatonNode.builder()
            .clusterId(config.clusterId())
            .nodeId(config.nodeId())
            .members(config.members())
            .dataDir(config.dataDir())
            .timing(config.timing())
            .operationTimeout(config.operationTimeout())
            .failureBackoff(config.failureBackoff())
            .historyLimit(config.historyLimit())
            .joining(config.joining())
            .bootstrap(config.bootstrap())
            .meterRegistry(registry)
            .promotionPlan(config.plan())
            .healthChecks(config.healthChecks())
            .healthPolicy(config.healthPolicy())
            .failback(config.failback());
    config
        .raftListen()
        .ifPresent(
            l -> {
              int colon = l.lastIndexOf(':');
              b.listen(l.substring(0, colon), Integer.parseInt(l.substring(colon + 1)));
            });
    SidecarConfig.RaftSecurity security = config.raftSecurity();
    if (security instanceof SidecarConfig.RaftSecurity.SecretFile f) {
      b.clusterSecret(f.file());
    } else if (security instanceof SidecarConfig.RaftSecurity.SecretEnv e) {
      // The variable's name may appear in messages; its value never does.
      b.clusterSecret(System.getenv(e.variable()).trim().getBytes(StandardCharsets.UTF_8));
    } else if (security instanceof SidecarConfig.RaftSecurity.Insecure) {
      b.insecureTransport();
    } else {
      b.tls(config.tls().orElseThrow().files());
    }
    // During a rotation of the cluster secret (the loader allows it only with one).
    config.acceptedClusterSecretFiles().forEach(b::acceptClusterSecret);
    this.node = b.build();
    config.nodeRef().bindMeterRegistry(registry);
    config.nodeRef().bind(node);
  }

  /** Starts everything; on failure, what was started is stopped again and the error thrown. */
  public static Sidecar start(SidecarConfig config) {
    Sidecar s = new Sidecar(config);
    try {
      s.startAll();
      return s;
    } catch (RuntimeException e) {
      s.close();
      throw e;
    }
  }

  private void startAll() {
    if (config.httpListen().isPresent()) {
      http = HttpEndpoints.start(config.httpListen().get(), this);
    }
    LOG.info(
        "sidecar {}: starting node of cluster {} (config {}, {} promotion steps, watchdog {})",
        config.nodeId(),
        config.clusterId(),
        config.file(),
        config.plan().stages().size(),
        config.plan().watchdog() ? "on" : "off");
    node.start();
    for (NodeService service : config.services()) {
      try {
        services.add(service.start(node));
      } catch (Exception e) {
        throw new IllegalStateException(
            "sidecar " + config.nodeId() + ": cannot start " + service.describe() + ": " + e, e);
      }
      LOG.info("sidecar {}: started {}", config.nodeId(), service.describe());
    }
    String listen = config.controlListen();
    int colon = listen.lastIndexOf(':');
    ControlServer.Builder cb =
        ControlServer.builder(node)
            .listen(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)))
            .peerControlAddresses(config.controlAddresses());
    List<FormerPrimaryGuardService> guards = ActionStates.guards(config.services());
    if (!ActionStates.convergers(config.plan()).isEmpty() || !guards.isEmpty()) {
      cb.steps(() -> ActionStates.of(config.plan(), guards));
    }
    config.tls().ifPresent(t -> cb.tls(t.files(), t.authorizedClients()));
    config.controlSecret().ifPresent(cb::clusterSecret);
    control = cb.build().start();
    // A node that stops by itself (a committed entry in a newer format, its Raft server gone)
    // takes the sidecar down with it: exit non-zero, not serve on with a dead node.
    node.stoppedItself()
        .thenAccept(
            reason -> {
              failure = reason;
              LOG.error(
                  "sidecar {}: the node stopped by itself, so the sidecar stops: {}",
                  config.nodeId(),
                  reason);
              Thread t = new Thread(this::close, "baton-node-stopped");
              t.start();
            });
    LOG.info(
        "sidecar {}: ready (control {}{})",
        config.nodeId(),
        control.address(),
        http == null ? ", no HTTP" : ", http " + http.address());
  }

  public BatonNode node() {
    return node;
  }

  /** The control server, or null while the node is starting. */
  ControlServer control() {
    return control;
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  SidecarConfig config() {
    return config;
  }

  /**
   * Why the sidecar stopped on its own: its node stopped by itself (see {@link
   * BatonNode#stoppedItself()}); empty when it was closed (SIGTERM, SIGINT) or still runs.
   */
  public Optional<String> failure() {
    return Optional.ofNullable(failure);
  }

  /** Blocks until {@link #close()} ran. */
  public void awaitClosed() throws InterruptedException {
    closed.await();
  }

  @Override
  public synchronized void close() {
    if (closed.getCount() == 0) {
      return;
    }
    try {
      if (control != null) {
        control.close();
      }
      for (int i = services.size() - 1; i >= 0; i--) {
        try {
          services.get(i).close();
        } catch (Exception e) {
          LOG.warn("sidecar {}: stopping a service: {}", config.nodeId(), e.toString());
        }
      }
      node.close();
      if (http != null) {
        http.close();
      }
      registry.close();
      LOG.info("sidecar {}: stopped", config.nodeId());
    } finally {
      closed.countDown();
    }
  }
}
