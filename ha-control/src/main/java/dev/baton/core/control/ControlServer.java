package dev.baton.core.control;

import dev.baton.core.Activation;
import dev.baton.core.BatonException;
import dev.baton.core.BatonNode;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.core.spi.ControlSupport;
import io.grpc.ChannelCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the gRPC control API ({@code baton.v1.BatonControl}, see {@code baton_control.proto}) for
 * one started {@link BatonNode}: status, a stream of role changes, switch-active, maintenance mode,
 * membership and the KV store. Any node may serve any call: the node forwards writes, switches and
 * membership changes to the Raft leader itself.
 *
 * <pre>{@code
 * ControlServer control = ControlServer.builder(node)
 *     .listen("10.0.1.5", 7500)
 *     .tls(new TlsConfig(cert, key, ca), Set.of("ops-admin"))   // mTLS + who may switch
 *     .peerControlAddresses(Map.of("east-1", "10.0.1.5:7500", "west-1", "10.1.1.5:7500"))
 *     .build()
 *     .start();
 * }</pre>
 *
 * <p><b>Security.</b> With a {@linkplain Builder#clusterSecret cluster secret}, the server and
 * every client prove in a mutual TLS handshake that they hold the cluster's secret; any client that
 * does may call everything (the secret is a root credential). With TLS, every client must present a
 * certificate that chains to the trusted certificates; switch-active, maintenance mode, membership
 * changes and writes of keys under {@code baton/} (the records Baton's adapters publish) are
 * further restricted to clients whose certificate CN or DNS subject-alternative name is in {@code
 * authorizedClients} (a maintenance change records the name that authorised it). Any other client
 * gets PERMISSION_DENIED and the refusal is logged. Without TLS no client is authorised for
 * reserved keys, and anyone who can connect may call everything else, so listen on loopback only
 * (the server warns otherwise).
 *
 * <p>When the node's Raft port runs on a cluster secret and the builder is given neither {@link
 * Builder#tls tls} nor {@link Builder#clusterSecret clusterSecret}, the server takes the node's own
 * secret (and the secrets it accepts during a rotation): the control API is then authenticated as
 * the Raft port is, without a line of configuration. Serving such a node in plaintext takes an
 * explicit {@link Builder#insecurePlaintext()}.
 *
 * <p>When the node's Raft port runs on TLS certificates, {@link Builder#build()} refuses a builder
 * given neither {@link Builder#tls tls} nor {@link Builder#insecurePlaintext()}: the server would
 * otherwise serve plaintext and unauthenticated next to a node whose members prove who they are,
 * and anyone who could connect might switch the active and change the membership. It does not reuse
 * the node's certificates by itself, because which clients may switch ({@code authorizedClients})
 * and which authority issues the clients' certificates have no default that is both safe and
 * useful: name them with {@code tls(node's TlsConfig, Set.of("ops-admin"))}.
 *
 * <p><b>Health.</b> Given the other members' control addresses, the server asks each of them for
 * its status once per {@code probeInterval}; the status then reports, per member, whether it
 * answered recently and which role and token it reported. It probes only while the status is read
 * (for 60 intervals after each read; a read after a quiet spell waits for one round first, at most
 * one interval), so that an idle cluster nobody watches makes no probe calls.
 *
 * <p>Why this class is over 450 lines: its {@link Builder} (about 180 of them) documents each
 * setting and checks them together in {@link Builder#build()}, where the security defaults are
 * decided (the node's own secret, refusing plaintext beside a node on certificates); those rules
 * read best next to the server they configure. The serving itself is in {@code ControlService}, the
 * health in {@code PeerProbe}; the forms deprecated since 0.3 add about 30 lines.
 */
public final class ControlServer implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);

  /** How long, in probe intervals, the peer probe keeps probing after the status was read. */
  static final int PROBE_AWAKE_INTERVALS = 60;

  private final BatonNode node;
  private final String host;
  private final int requestedPort;
  private final @Nullable TlsConfig tls; // null: no certificates (the secret, or plaintext)
  private final @Nullable ClusterSecretCredentials secret; // null: certificates, or plaintext
  private final Set<String> authorizedClients;
  private final Map<String, String> controlAddresses;
  private final Duration probeInterval;
  private final @Nullable Supplier<List<ActionState>> actionStates; // null: none
  private final ExecutorService listenerExecutor;
  private @Nullable Server server; // null until start()
  private @Nullable PeerProbe probe; // null until start()

  private ControlServer(Builder b, @Nullable ClusterSecretCredentials secret) {
    this.node = b.node;
    this.host = b.host;
    this.requestedPort = b.port;
    this.tls = b.tls;
    this.secret = secret;
    this.authorizedClients = Set.copyOf(b.authorizedClients);
    this.controlAddresses = Map.copyOf(b.controlAddresses);
    this.probeInterval = b.probeInterval;
    this.actionStates = b.actionStates;
    this.listenerExecutor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "baton-control-events-" + node.id());
              t.setDaemon(true);
              return t;
            });
  }

  /** A server for {@code node}, which must be started before {@link #start()}. */
  public static Builder builder(BatonNode node) {
    return new Builder(node);
  }

  /**
   * Binds the port and starts serving.
   *
   * @throws BatonException if the port cannot be bound (naming the address) or the TLS files cannot
   *     be read
   */
  public synchronized ControlServer start() {
    if (server != null) {
      throw new IllegalStateException("control server of " + node.id() + " already started");
    }
    ServerCredentials credentials;
    ChannelCredentials peerCredentials;
    if (secret != null) {
      credentials = GrpcCredentials.secretServer(secret, node.id(), host);
      peerCredentials = GrpcCredentials.secretChannel(secret, node.id(), host);
    } else {
      try {
        credentials = GrpcCredentials.server(tls);
        peerCredentials = GrpcCredentials.channel(tls);
      } catch (IOException e) {
        throw new BatonException(
            "control API of " + node.id() + ": cannot read the TLS files: " + e.getMessage(), e);
      }
    }
    ClientAuthorizer authorizer =
        secret != null
            ? ClientAuthorizer.everyHolderOfTheSecret(node.id())
            : new ClientAuthorizer(node.id(), tls != null, authorizedClients);
    ControlService service = new ControlService(this, node, listenerExecutor, authorizer);
    Server s =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, requestedPort), credentials)
            .addService(ServerInterceptors.intercept(service, authorizer))
            .build();
    try {
      s.start();
    } catch (IOException e) {
      throw new BatonException(
          "control API of "
              + node.id()
              + " cannot listen on "
              + host
              + ":"
              + requestedPort
              + ": "
              + e.getMessage(),
          e);
    }
    server = s;
    probe =
        new PeerProbe(
            node.id(),
            controlAddresses,
            peerCredentials,
            probeInterval,
            probeInterval.multipliedBy(PROBE_AWAKE_INTERVALS));
    probe.start();
    if (tls == null && secret == null && !isLoopback(host)) {
      LOG.warn(
          "control API of {} listens on {}:{} WITHOUT TLS: anyone who can connect may"
              + " switch-active and change membership; configure TLS or listen on loopback",
          node.id(),
          host,
          port());
    }
    LOG.info(
        "control API of {} listening on {}:{} ({})",
        node.id(),
        host,
        port(),
        secret != null
            ? "mTLS with keys from the cluster secret, " + secret.source()
            : tls == null
                ? "plaintext"
                : "mTLS; authorised for switch-active and membership: "
                    + new TreeSet<>(authorizedClients));
    return this;
  }

  /** The port the server listens on (the bound one when 0 was asked). */
  public int port() {
    Server s = server;
    if (s == null) {
      throw new IllegalStateException("control server of " + node.id() + " is not started");
    }
    return s.getPort();
  }

  /** {@code host:port} this server listens on. */
  public String address() {
    return host + ":" + port();
  }

  /** The node this server serves. */
  public BatonNode node() {
    return node;
  }

  /**
   * The status this server answers to {@code Status}, as Baton's record: the node's view plus
   * member health, the cluster's maintenance mode, and the {@link Builder#steps steps} when given.
   * The same record {@link BatonClient#statusReport()} reads from that answer. Reading it keeps the
   * peer probe awake, as a client's {@code Status} call does.
   */
  public StatusReport statusReport() {
    return Messages.statusReport(statusMessage());
  }

  /**
   * The status this server answers to {@code Status}, as the generated message.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #statusReport()}, which
   *     answers Baton's record (and {@link ControlMessages#status} for the message)
   */
  @Deprecated(since = "0.3")
  public StatusResponse status() {
    return statusMessage();
  }

  /** The {@code Status} answer to a client: reading it wakes the peer probe. */
  StatusResponse statusMessage() {
    PeerProbe p = probe;
    if (p != null) {
      p.reading();
    }
    return status(p);
  }

  /** The status answered to a peer's probe: the same, but it does not wake this node's probe. */
  StatusResponse statusForProbe() {
    return status(probe);
  }

  /** Probe rounds this server's peer probe has started (tests: whether it sleeps). */
  long probeRounds() {
    PeerProbe p = probe;
    return p == null ? 0 : p.rounds();
  }

  /** Channels this server's peer probe has built to its peers (tests: none before a read). */
  int probeChannels() {
    PeerProbe p = probe;
    return p == null ? 0 : p.channelsBuilt();
  }

  private StatusResponse status(@Nullable PeerProbe p) {
    StatusResponse s =
        Messages.status(
            node.status(),
            controlAddressesWithSelf(),
            id -> p == null ? PeerProbe.unknown() : p.health(id));
    StatusResponse.Builder b =
        s.toBuilder().setMaintenance(Messages.maintenance(node.cluster().maintenance()));
    if (actionStates != null) {
      b.addAllActions(actionStates.get());
    }
    return b.build();
  }

  /**
   * The history this server answers to {@code History}: the activations the node has applied,
   * oldest first in token order (what {@link BatonClient#activations()} reads).
   */
  public List<Activation> activations() {
    return node.cluster().history();
  }

  /**
   * The history this server answers to {@code History}, as the generated message.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #activations()}, which
   *     answers Baton's records (and {@link ControlMessages#history} for the message)
   */
  @Deprecated(since = "0.3")
  public HistoryResponse history() {
    return ControlMessages.history(activations());
  }

  @Nullable String controlAddress(String nodeId) {
    return controlAddressesWithSelf().get(nodeId);
  }

  private Map<String, String> controlAddressesWithSelf() {
    if (controlAddresses.containsKey(node.id()) || server == null) {
      return controlAddresses;
    }
    Map<String, String> all = new LinkedHashMap<>(controlAddresses);
    all.put(node.id(), address());
    return all;
  }

  /** Stops serving: open role streams end, calls in flight are cancelled. */
  @Override
  public synchronized void close() {
    if (probe != null) {
      probe.close();
    }
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    listenerExecutor.shutdownNow();
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Configures a {@link ControlServer}; {@link #build()} checks the settings. */
  public static final class Builder {
    private final BatonNode node;
    private String host = "127.0.0.1";
    private int port = 0;
    private @Nullable TlsConfig tls;
    private @Nullable ClusterSecretCredentials secret;
    private Set<String> authorizedClients = Set.of();
    private boolean insecurePlaintext;
    private final Map<String, String> controlAddresses = new LinkedHashMap<>();
    private Duration probeInterval = Duration.ofSeconds(1);
    private @Nullable Supplier<List<ActionState>> actionStates;

    private Builder(BatonNode node) {
      this.node = Objects.requireNonNull(node, "node");
    }

    /** The interface and port to listen on; default 127.0.0.1 and a free port. */
    public Builder listen(String listenHost, int listenPort) {
      this.host = listenHost;
      this.port = listenPort;
      return this;
    }

    /**
     * Mutual TLS (the same PEM files the node's Raft transport may use) and the client names (a
     * certificate's CN or DNS subject-alternative name) allowed to switch-active and change
     * membership. Required beside a node whose Raft port runs on TLS certificates (or {@link
     * #insecurePlaintext()}): the node's own {@link TlsConfig} will do.
     */
    public Builder tls(TlsConfig tlsConfig, Set<String> authorized) {
      this.tls = Objects.requireNonNull(tlsConfig, "tls");
      this.authorizedClients = Set.copyOf(authorized);
      return this;
    }

    /**
     * Mutual TLS with keys derived from the cluster secret, the same one the node's Raft port uses
     * ({@link BatonNode.Builder#clusterSecret(java.nio.file.Path)}): every client must prove that
     * it holds the secret, and any client that does may call everything. The secure default of a
     * cluster without a PKI; excludes {@link #tls}. Without it (and without {@link #tls}) a server
     * whose node runs on a cluster secret takes the node's own secret: give it only when the node
     * got its secret some other way than the one the control API should use.
     */
    public Builder clusterSecret(ClusterSecretCredentials credentials) {
      this.secret = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /**
     * Serve plaintext and unauthenticated even though the node's Raft port runs on a cluster secret
     * or on TLS certificates: anyone who can connect may then switch the active and change the
     * membership. Without this, such a node's control server takes the node's secret, and {@link
     * #build()} refuses a node on certificates that was given no {@link #tls}. For tests and for a
     * server that only listens where nobody else can connect; excludes {@link #tls} and {@link
     * #clusterSecret}.
     */
    public Builder insecurePlaintext() {
      this.insecurePlaintext = true;
      return this;
    }

    /**
     * The control addresses ({@code host:port}) of the members, this node's included or not: they
     * are shown in status and member lists (clients use them to find the leader) and probed for
     * health.
     */
    public Builder peerControlAddresses(Map<String, String> addresses) {
      this.controlAddresses.clear();
      this.controlAddresses.putAll(addresses);
      return this;
    }

    /**
     * Where the status's steps ({@link StatusReport#steps()}, the message's {@code actions}) come
     * from: the promotion steps that keep working beside the role (the sidecar's dns step in mode
     * converge, its postgres steps' former-primary guards). Asked on every status call; must be
     * cheap and must not block. Default: none.
     */
    public Builder steps(Supplier<List<StatusReport.StepState>> steps) {
      Objects.requireNonNull(steps, "steps");
      this.actionStates = () -> steps.get().stream().map(Messages::actionState).toList();
      return this;
    }

    /**
     * As {@link #steps}, as generated messages.
     *
     * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #steps}, which takes
     *     Baton's record {@link StatusReport.StepState}
     */
    @Deprecated(since = "0.3")
    public Builder actionStates(Supplier<List<ActionState>> states) {
      this.actionStates = Objects.requireNonNull(states, "states");
      return this;
    }

    /** How often the other members are probed; default 1 s. */
    public Builder probeInterval(Duration interval) {
      this.probeInterval = interval;
      return this;
    }

    /**
     * Checks the settings and builds the server.
     *
     * @throws IllegalArgumentException naming the setting when one is invalid, when settings
     *     exclude each other, or when the node's Raft port runs on TLS certificates and neither
     *     {@link #tls} nor {@link #insecurePlaintext()} was given
     */
    public ControlServer build() {
      if (host == null || host.isBlank()) {
        throw new IllegalArgumentException("control server: listen host must be set");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(
            "control server: listen port " + port + " is outside 0..65535 (0 = any free port)");
      }
      if (probeInterval == null || probeInterval.toMillis() < 10) {
        throw new IllegalArgumentException(
            "control server: probeInterval " + probeInterval + " must be at least 10 ms");
      }
      for (Map.Entry<String, String> e : controlAddresses.entrySet()) {
        String a = e.getValue();
        int colon = a == null ? -1 : a.lastIndexOf(':');
        if (colon <= 0 || colon == a.length() - 1) {
          throw new IllegalArgumentException(
              "control server: control address '" + a + "' of " + e.getKey() + " is not host:port");
        }
      }
      if (tls != null && secret != null) {
        throw new IllegalArgumentException(
            "control server: tls and clusterSecret are both set; choose one (certificates, or"
                + " keys derived from the cluster secret)");
      }
      if (insecurePlaintext && (tls != null || secret != null)) {
        throw new IllegalArgumentException(
            "control server: insecurePlaintext is set together with "
                + (tls != null ? "tls" : "clusterSecret")
                + "; choose one");
      }
      ClusterSecretCredentials effectiveSecret = secret;
      if (tls == null
          && secret == null
          && !insecurePlaintext
          && ControlSupport.raftPortOnCertificates(node)) {
        // The secure default on a PKI: refuse rather than serve plaintext. The node's certificates
        // are not reused by themselves: who may switch has no safe default that is also useful.
        throw new IllegalArgumentException(
            "control server of "
                + node.id()
                + ": the node's Raft port runs on TLS certificates, but the control server was"
                + " given no tls(...): it would serve plaintext and unauthenticated, and anyone who"
                + " can connect could switch the active and change the membership. Give it"
                + " tls(tlsConfig, authorizedClients) (the node's own TlsConfig will do, with the"
                + " client names allowed to switch-active), or insecurePlaintext() for a server"
                + " that listens where nobody else can connect");
      }
      if (tls == null && secret == null && !insecurePlaintext) {
        // The secure default: the node runs on a cluster secret, so its control API does too.
        Optional<ControlSupport.RaftPortSecret> own = ControlSupport.raftPortSecret(node);
        if (own.isPresent()) {
          effectiveSecret =
              ClusterSecretCredentials.ofNode(
                  node.clusterId(),
                  own.get().secret(),
                  own.get().accepted(),
                  "the node's, " + own.get().source());
        }
      }
      if (tls != null && authorizedClients.isEmpty()) {
        LOG.warn(
            "control API of {}: TLS is on and no client is authorised: switch-active and"
                + " membership changes will be refused to everyone",
            node.id());
      }
      return new ControlServer(this, effectiveSecret);
    }
  }
}
