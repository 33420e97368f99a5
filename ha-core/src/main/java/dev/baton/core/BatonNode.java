package dev.baton.core;

import dev.baton.core.internal.NodeConfig;
import dev.baton.core.internal.NodeRuntime;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.Closeable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * One Baton node: a Raft replica that, together with its peers, elects exactly one fenced active.
 *
 * <pre>{@code
 * BatonNode node = BatonNode.builder()
 *     .clusterId("orders-mgmt")
 *     .nodeId("east-1")
 *     .members(Member.voter("east-1", "10.0.1.5:7400"),
 *              Member.voter("west-1", "10.1.1.5:7400"),
 *              Member.witness("tie-1", "10.2.1.5:7400"))
 *     .dataDir(Path.of("/var/lib/baton"))
 *     .build();
 * node.addListener(new RoleListener() { ... }, executor);
 * node.start();
 * }</pre>
 *
 * <p><b>What is guaranteed.</b> Every activation has a token greater than every token issued before
 * it, across leader changes and full restarts (I1). At any instant at most one node's {@link
 * #isActive()} is true, provided clock <em>rates</em> differ by less than the configured drift
 * bound (I2); wall-clock offsets never matter. A paused process can outlive its lease without
 * noticing; use the token with a {@link Fence} for effects that must never be stale (I3). With a
 * majority of voters up and connected, including an eligible node, an active exists within {@link
 * Timing#failoverBound()} (I4).
 *
 * <p>The lifecycle is: built, {@link #start() started}, {@link #close() closed}. A closed node
 * cannot be restarted; build a new one on the same data directory.
 *
 * <p>What is cluster-wide rather than this node's (moving the role between nodes, the members,
 * maintenance mode, the history and the journal) is asked through {@link #cluster()}; the methods
 * of the same names here are deprecated and delegate to it.
 *
 * <p>Why this class is over 450 lines: it is a façade, and about half of it is the javadoc of its
 * public methods and of the nested {@link Builder}, the documented configuration surface (one
 * javadoc per setting), which cannot leave this file without renaming the public type {@code
 * BatonNode.Builder}. The code is delegation: start and close sequencing, the listener thread and
 * stopping on its own account are in {@code NodeLifecycle}; the builder's settings, defaults and
 * validation in {@code NodeSettings} (then {@code NodeConfig.validated} and {@code
 * internal.RaftSecuritySettings}); the cluster-wide calls in {@code NodeCluster}; the running parts
 * in {@code internal.NodeRuntime}.
 */
public final class BatonNode implements Closeable {
  static {
    // The control server of the same process takes the node's cluster secret by default.
    dev.baton.core.internal.NodeSecurity.register(BatonNode.class, n -> n.config.security());
    // The control server records the client that asked for a maintenance change.
    dev.baton.core.internal.NodeMaintenance.register(
        BatonNode.class,
        (n, on, reason, client) -> {
          Objects.requireNonNull(reason, "reason");
          return n.life.started().maintenance(on, reason, client);
        });
    // The testing module's fault injection (dev.baton.core.spi.TestSupport) crashes a node.
    dev.baton.core.internal.NodeCrash.register(BatonNode.class, BatonNode::crash);
  }

  private final NodeConfig config;
  private final NodeLifecycle life;
  private final Cluster cluster;

  private BatonNode(NodeConfig config, NodeRuntime.Collaborators parts) {
    this.config = config;
    this.life = new NodeLifecycle(config, parts);
    this.cluster = new NodeCluster(life);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Starts the node: checks the data directory's identity, waits out one minimum election timeout
   * (a restarted voter must not vote before then, see docs/lease.md step 3), then starts the Raft
   * server and the role controller.
   *
   * <p>A start that fails closes what it had created (threads, the Raft server and its lock on the
   * data directory), and the node is then closed: build a new one, which may start on the same data
   * directory in the same JVM.
   *
   * @throws BatonException if the data directory belongs to another cluster or node, or the server
   *     cannot start (the port is taken, say); the data directory is left as it was
   */
  public void start() {
    life.start();
  }

  /** This node's id. */
  public String id() {
    return config.self().id();
  }

  /** The cluster's id. */
  public String clusterId() {
    return config.clusterId();
  }

  /** The timing this node runs with. */
  public Timing timing() {
    return config.timing();
  }

  /**
   * Whether this node is active at this instant: it won the role, its promotion plan completed, and
   * its lease is valid. Cheap; safe to call on every request.
   */
  public boolean isActive() {
    NodeRuntime r = life.runtime();
    return r != null && r.roleState().isActive();
  }

  /**
   * This node's role now. {@link Role#STOPPED} also when the node's Raft server has shut itself
   * down (Ratis closes a server after an unrecoverable error, or one that finds itself outside the
   * cluster's configuration): such a node takes no part in the cluster until restarted.
   */
  public Role role() {
    NodeRuntime r = life.runtime();
    return r == null ? Role.STOPPED : r.role();
  }

  /**
   * What {@link #token()}, {@link NodeStatus#token()}, {@link Fence#currentToken()} and the
   * previous tokens report when there is no token. Never a token: every token is a Raft log index
   * of at least 1 (2 in a cluster created by this release, whose index 1 is the first configuration
   * entry), and tokens only grow.
   */
  public static final long NO_TOKEN = 0;

  /**
   * The token of this node's activation while it is promoting or active, else {@link #NO_TOKEN}.
   * While promoting it is the token the plan runs for, although {@link #activeContext()} is still
   * empty: the node is not active until its plan has finished. For an effect, take the token from
   * the {@link ActiveContext}, which says whether it still holds the lease.
   */
  public long token() {
    NodeRuntime r = life.runtime();
    return r == null ? 0 : r.roleState().token();
  }

  /**
   * The index of the last entry in this node's Raft log, -1 when it is not running.
   * Package-private: for tests that check what the log costs (an idle active writes nothing, issue
   * 33).
   */
  long lastLogIndex() {
    NodeRuntime r = life.runtime();
    return r == null ? -1 : r.lastLogIndex();
  }

  /** The current activation, if this node is active now. */
  public Optional<ActiveContext> activeContext() {
    NodeRuntime r = life.runtime();
    return r == null ? Optional.empty() : r.roleState().activeContext();
  }

  /**
   * Waits until this node is active.
   *
   * @return the activation, or empty if the timeout passed first
   */
  public Optional<ActiveContext> awaitActive(Duration timeout) throws InterruptedException {
    return life.started().roleState().awaitActive(timeout);
  }

  /**
   * Adds a listener, called on {@code executor}; it is told the current role at once. Calls for one
   * listener never overlap and keep their order, whatever the executor. Before {@link #start()} it
   * is kept and registered as the node starts, so it hears the node's first role (as one given to
   * {@link Builder#listener} does).
   */
  public void addListener(RoleListener listener, Executor executor) {
    life.addListener(listener, executor);
  }

  /** Adds a listener called on the node's own listener thread. */
  public void addListener(RoleListener listener) {
    addListener(listener, life.listenerExecutor());
  }

  /** Removes a listener (before {@link #start()} too); it hears nothing more. */
  public void removeListener(RoleListener listener) {
    life.removeListener(listener);
  }

  /**
   * The cluster's linearizable key-value store (any node may be asked). It is there from the moment
   * {@link #start()} has created the Raft server, so a promotion action that runs during {@code
   * start()} (the first activation can) may use it.
   */
  public KeyValueStore kv() {
    return life.kv();
  }

  /**
   * What is cluster-wide rather than this node's, asked through this node: moving the role ({@link
   * Cluster#switchActive switchActive}, {@link Cluster#stepDown stepDown}), the members, the
   * maintenance mode, the history and the journal. The same object on every call, before {@link
   * #start()} too; its methods need a started node.
   */
  public Cluster cluster() {
    return cluster;
  }

  /**
   * See {@link Cluster#members()}.
   *
   * @deprecated use {@code cluster().members()} ({@link Cluster#members()}); removable in 0.4 at
   *     the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public List<Member> members() {
    return cluster.members();
  }

  /**
   * See {@link Cluster#journal()}.
   *
   * @deprecated use {@code cluster().journal()} ({@link Cluster#journal()}); removable in 0.4 at
   *     the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public List<JournalEntry> journal() {
    return cluster.journal();
  }

  /**
   * See {@link Cluster#history()}.
   *
   * @deprecated use {@code cluster().history()} ({@link Cluster#history()}); removable in 0.4 at
   *     the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public List<Activation> history() {
    return cluster.history();
  }

  /**
   * Watches the keys under {@code prefix} and the changes of the active together, as this node
   * applies them, in log order: an activation's token is its entry's log index, so it falls among
   * the key revisions where it happened. Every member delivers the same sequence. Each activation
   * is delivered as it applied: who, with which token, the previous active and why (the reason as
   * known then: a resignation that applies after its successor's activation corrects it in {@link
   * Cluster#history()}, not here); {@code promoted}, {@code resigned} and the steps come later, in
   * {@link Cluster#history()}.
   *
   * <p>With {@code afterRevision} 0, from now. With R above 0, first what {@link
   * KeyValueStore#watch(String, long, Executor, Consumer)} replays and every activation with a
   * token above R (from the history, each as its record is by then: promoted, resigned and its
   * steps may be filled in), merged in log order; then every later change. So a watcher that
   * resumes after the last revision or token it saw misses neither a key change nor a role change.
   *
   * @param keys gets the key changes
   * @param activations gets the activations
   * @return a handle that stops the watch when closed
   * @throws WatchRevisionGoneException when this node cannot replay from {@code afterRevision}: as
   *     for the key watch, and also when the history no longer reaches back to it (its oldest
   *     records were dropped beyond {@link Builder#historyLimit(int) historyLimit})
   * @throws IllegalArgumentException if {@code afterRevision} is negative
   */
  public KeyValueStore.Watch watch(
      String prefix,
      long afterRevision,
      Executor executor,
      java.util.function.Consumer<KvEvent> keys,
      java.util.function.Consumer<Activation> activations) {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(executor, "executor");
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(activations, "activations");
    if (afterRevision < 0) {
      throw new IllegalArgumentException("afterRevision must be 0 or more, not " + afterRevision);
    }
    AutoCloseable handle = life.started().watch(prefix, afterRevision, executor, keys, activations);
    return () -> {
      try {
        handle.close();
      } catch (Exception e) {
        throw new BatonException("closing watch on '" + prefix + "' failed", e);
      }
    };
  }

  /** What this node knows now; cheap, local, not linearizable. */
  public NodeStatus status() {
    return life.started().status();
  }

  /**
   * See {@link Cluster#switchActive(String, Duration)}.
   *
   * @deprecated use {@code cluster().switchActive(target, timeout)} ({@link
   *     Cluster#switchActive(String, Duration)}); removable in 0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public long switchActive(String targetNodeId, Duration timeout) {
    return cluster.switchActive(targetNodeId, timeout);
  }

  /**
   * See {@link Cluster#stepDown(Duration)}.
   *
   * @deprecated use {@code cluster().stepDown(timeout)} ({@link Cluster#stepDown(Duration)});
   *     removable in 0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public Handover stepDown(Duration timeout) {
    return cluster.stepDown(timeout);
  }

  /**
   * Resign, as etcd's {@code Election.Resign}: this node, active, gives the role up and hands it to
   * the best peer, through the planned path of {@link Cluster#switchActive} (it demotes first; the
   * peer activates with a higher token and runs its promotion plan). Unlike {@link
   * Cluster#stepDown}, it is asked of the active itself: a plane that knows it is broken calls it
   * from its own code. Waits at most the {@link Builder#operationTimeout(Duration) operation
   * timeout}; see {@link #resign(Duration)}.
   */
  public Handover resign() {
    return resign(config.operationTimeout());
  }

  /**
   * Resign with a timeout: see {@link #resign()}. The best peer is a member that may become active
   * (not a witness nor {@code noActivate}, in the Raft configuration), is up (it answered this
   * node, the Raft leader, within the maximum election timeout), caught up (its commit index within
   * 1,000 entries of this node's) and healthy by its published checks when health gating is on; of
   * those, the highest {@code priority} first, then the most caught up, then the member list's
   * order. Returns once that peer is active (its plan completed).
   *
   * @return the node that took the role and its new token
   * @throws NotActiveException if this node is not active (the message names the active, if any);
   *     nothing changed
   * @throws IllegalStateException if no peer may take the role; the message names each member
   *     passed over and why (witness, unhealthy with its checks, down, behind), and this node stays
   *     active
   * @throws SwitchActiveFailedException if the chosen peer's promotion failed
   * @throws BatonTimeoutException if the hand-over did not complete within {@code timeout}
   */
  public Handover resign(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    NodeRuntime r = life.started();
    if (r.roleState().activeContext().isEmpty()) {
      NodeStatus s = r.status();
      throw new NotActiveException(
          "resign: "
              + id()
              + " is not active (it is "
              + s.role()
              + "); "
              + s.activeNodeId()
                  .map(a -> "the active is " + a + " with token " + s.activeToken())
                  .orElse("no node is active")
              + ". Resign is asked of the active itself; stepDown() may be asked of any node");
    }
    // The role may still move between this check and the switch request (a failover, another
    // switch): the request then moves it from whichever node is active then, as a step-down.
    return r.stepDown(timeout);
  }

  /**
   * See {@link Cluster#maintenance()}.
   *
   * @deprecated use {@code cluster().maintenance()} ({@link Cluster#maintenance()}); removable in
   *     0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public Maintenance maintenance() {
    return cluster.maintenance();
  }

  /**
   * See {@link Cluster#maintenance(boolean, String)}.
   *
   * @deprecated use {@code cluster().maintenance(on, reason)} ({@link Cluster#maintenance(boolean,
   *     String)}); removable in 0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public Maintenance maintenance(boolean on, String reason) {
    return cluster.maintenance(on, reason);
  }

  /**
   * See {@link Cluster#addMember(Member)}.
   *
   * @deprecated use {@code cluster().addMember(member)} ({@link Cluster#addMember(Member)});
   *     removable in 0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public void addMember(Member member) {
    cluster.addMember(member);
  }

  /**
   * See {@link Cluster#removeMember(String)}.
   *
   * @deprecated use {@code cluster().removeMember(memberId)} ({@link
   *     Cluster#removeMember(String)}); removable in 0.4 at the earliest (issue 30).
   */
  @Deprecated(since = "0.3")
  public void removeMember(String memberId) {
    cluster.removeMember(memberId);
  }

  /**
   * Stops the node gracefully: an active node demotes (listeners hear onStandby with CLOSING,
   * demotion actions run) and hands Raft leadership to an eligible peer before the server stops.
   */
  @Override
  public void close() {
    life.close();
  }

  /**
   * For fault-injection tests: stops the Raft server at once without giving anything up, as a crash
   * would. The in-memory belief is frozen as it was, so {@link #isActive()} keeps answering from
   * the lease until it expires, exactly what a process that is about to die would see.
   *
   * @deprecated a test hook, not an API: a test calls {@code
   *     dev.baton.testing.cluster.NodeFaults.crash(node)} from {@code baton-testing} instead.
   *     Removable in 0.4 (issue 30).
   */
  @Deprecated(since = "0.3", forRemoval = true)
  public void crashForTesting() {
    crash();
  }

  /**
   * Stops the Raft server at once without giving anything up, as a crash would; the in-memory
   * belief stays as it was. Package-private: tests reach it through {@code NodeFaults} in
   * baton-testing, which goes through {@code dev.baton.core.spi.TestSupport}, so that no API class
   * carries a public test hook.
   */
  void crash() {
    life.crash();
  }

  /**
   * Completes, with the reason, when the node has stopped by itself rather than through {@link
   * #close()}: a committed entry in a format newer than this release reads, or its Raft server
   * stopped under it. The node is closed by then (an active demoted first). The process that embeds
   * it should exit, non-zero, so that its supervisor sees it and an operator reads why: the sidecar
   * does. Never completes for a node closed through {@link #close()}.
   */
  public CompletionStage<String> stoppedItself() {
    return life.stoppedItself();
  }

  @Override
  public String toString() {
    return "BatonNode[" + config.clusterId() + "/" + config.self().id() + "]";
  }

  /** Builds a node; {@link #build()} checks every setting and names the one that is wrong. */
  public static final class Builder {

    private final NodeSettings s = new NodeSettings();

    private Builder() {}

    /**
     * Health checks that gate this node's role (default: none, and the node behaves as without
     * health gating). While any check is down the node is not a candidate: if Raft elects it, it
     * stays standby and hands leadership to a healthy peer. While a {@link
     * HealthCheck.Settings#demotes() demoting} check is down, an active node hands the role to a
     * healthy peer through the planned switch path ({@link StandbyReason#UNHEALTHY}), at most once
     * per {@link HealthPolicy#minMoveInterval()}; with no healthy peer it stays active and says so
     * in {@link NodeStatus#health()}, its log and {@code baton_health_check_up}; while {@link
     * Cluster#maintenance(boolean, String) maintenance mode} is on it stays active too. Each node
     * publishes its health under {@code baton/health/<nodeId>} in the KV store. Replaces any checks
     * given before; names must be unique.
     */
    public Builder healthChecks(List<HealthCheck> checks) {
      s.healthChecks(checks);
      return this;
    }

    /** How health check answers become the node's health; default {@link HealthPolicy#DEFAULTS}. */
    public Builder healthPolicy(HealthPolicy policy) {
      s.healthPolicy = Objects.requireNonNull(policy, "healthPolicy");
      return this;
    }

    /**
     * Failback by priority (default {@link FailbackPolicy#DISABLED}): with {@link
     * FailbackPolicy#after(Duration)}, an active hands the role to a member with a strictly higher
     * {@link Member#priority() priority} once that member has been up, caught up and healthy for
     * the hold-down without a break, through the planned switch path ({@link
     * StandbyReason#FAILBACK}); never between equal priorities, and not while {@link
     * Cluster#maintenance(boolean, String) maintenance mode} is on. Give every node the same
     * policy: the active's decides.
     */
    public Builder failback(FailbackPolicy policy) {
      s.failback = Objects.requireNonNull(policy, "failback");
      return this;
    }

    /**
     * The time source of the lease; default {@link Ticker#system()} ({@link System#nanoTime()}).
     * Tests give a fake; production code has no reason to set it. See {@link Ticker} for what a
     * ticker must do for the lease to hold.
     */
    public Builder ticker(Ticker ticker) {
      s.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /** The cluster's id; every node of the cluster uses the same one. Required. */
    public Builder clusterId(String clusterId) {
      s.clusterId = clusterId;
      return this;
    }

    /** This node's id; must be one of the members. Required. */
    public Builder nodeId(String nodeId) {
      s.nodeId = nodeId;
      return this;
    }

    /** All members of the cluster, this node included. Required. */
    public Builder members(Member... members) {
      return members(List.of(members));
    }

    /** All members of the cluster, this node included. Required. */
    public Builder members(List<Member> members) {
      s.members(members);
      return this;
    }

    /** Where the Raft log, snapshots and the node's identity live. Required. */
    public Builder dataDir(Path dataDir) {
      s.dataDir = dataDir;
      return this;
    }

    /** The interface the Raft server listens on; default: the host of this node's address. */
    public Builder bindHost(String bindHost) {
      s.bindHost = bindHost;
      return this;
    }

    /**
     * Where the Raft server listens, when it differs from the address the members dial (this node's
     * entry in {@link #members}, the advertised address): behind a per-pod load balancer, a NAT or
     * an east-west gateway that maps the advertised port to another. Default: the advertised
     * address's host and port.
     */
    public Builder listen(String host, int port) {
      s.listen(host, port);
      return this;
    }

    /** Election and lease timing; default {@link Timing#DEFAULTS}. */
    public Builder timing(Timing timing) {
      s.timing = timing;
      return this;
    }

    /** How long a KV operation, switch or membership call may take; default 5 s. */
    public Builder operationTimeout(Duration operationTimeout) {
      s.operationTimeout = operationTimeout;
      return this;
    }

    /**
     * Secures the Raft port with mutual TLS and certificates from your PKI. Every member presents
     * its certificate, which must chain to {@code trustedCertificates} and name the member id (as
     * its subject CN or a DNS subject-alternative name); a connection is accepted only from a
     * certificate that names a current member, and a server RPC only in that member's name. A
     * client certificate of the same CA that names no member (a control-API client, say) is shut
     * out. One of {@code tls}, {@link #clusterSecret(Path) clusterSecret} or {@link
     * #insecureTransport()} is required; the last one called wins.
     */
    public Builder tls(TlsConfig tls) {
      s.tls(tls);
      return this;
    }

    /**
     * Secures the Raft port without a PKI: mutual TLS with one key pair per member derived from
     * this secret, which every member holds (at least 32 random bytes; generate it with {@code
     * openssl rand -base64 32 > cluster.secret} and keep it readable by the node only). A peer is
     * accepted only if it proves it holds the key of a current member, so nobody without the secret
     * can call any Raft service. Anyone with the secret counts as a member: rotate it to shut a
     * former member's machine out. The file is read when {@link #build()} runs; its content is
     * never logged.
     */
    public Builder clusterSecret(Path secretFile) {
      s.clusterSecret(secretFile);
      return this;
    }

    /**
     * Like {@link #clusterSecret(Path)}, with the secret's bytes (from an environment variable or a
     * secret store, say). The array is copied.
     */
    public Builder clusterSecret(byte[] secret) {
      s.clusterSecret(secret);
      return this;
    }

    /**
     * During a rotation of the {@link #clusterSecret(Path) cluster secret}: also accept as members
     * the peers that hold the secret in {@code secretFile} (the old secret, or the next one), while
     * this node itself still proves the key of its own secret. Rotating with no downtime takes
     * three rolling restarts: every node keeps the old secret and accepts the new one; then every
     * node takes the new one and accepts the old; then every node drops the old, after which a
     * holder of the old secret is refused. May be called more than once; needs a cluster secret.
     */
    public Builder acceptClusterSecret(Path secretFile) {
      s.acceptClusterSecret(secretFile);
      return this;
    }

    /** Like {@link #acceptClusterSecret(Path)}, with the secret's bytes. The array is copied. */
    public Builder acceptClusterSecret(byte[] secret) {
      s.acceptClusterSecret(secret);
      return this;
    }

    /**
     * A plaintext Raft port that authenticates nobody: anyone who can reach it can append entries,
     * force elections and pose as a leader, which breaks every guarantee. For tests and demos on a
     * machine you trust; the node logs a warning at start. (The Raft admin service is refused to
     * everyone in every mode, and entries the state machine cannot read are refused.)
     */
    public Builder insecureTransport() {
      s.insecureTransport();
      return this;
    }

    /**
     * Start outside the configuration, to be added with {@link Cluster#addMember}. A joining node
     * may start on an empty data directory: it has no configuration of its own and cannot vote
     * until the cluster adds it, and then it learns the log from the leader.
     */
    public Builder joining(boolean joining) {
      s.joining = joining;
      return this;
    }

    /**
     * This is the first start of a new cluster: the node may create its data directory and begin
     * with an empty log and the full member list. Without it (or {@link #joining(boolean)}), a node
     * refuses to start on an empty data directory, because a voter that has lost its log (a wiped
     * or replaced disk) and starts as if new can vote for a lagging node, which can then win with a
     * token the fences have already seen and lose committed keys. Once the directory belongs to the
     * node, the flag is ignored, with a warning: remove it after the first start. The way back for
     * a node that lost its disk is {@code members remove}, then start it with {@code joining}, then
     * {@code members add}.
     *
     * <p>A flag left set cannot re-arm itself: before it takes an empty directory under {@code
     * bootstrap}, the node asks every other member (over its Raft transport, with its own identity,
     * within {@link #bootstrapProbeTimeout(Duration)}) whether it already holds this cluster's log,
     * and has seen this node acknowledge entries, and refuses to start if one has. A peer that does
     * not answer proves nothing: if a wiped node restarts while every peer holding the log is
     * unreachable, it still starts as new (see docs/operations/disaster-recovery.md). A founder
     * started after the others formed the cluster, which no peer has ever heard from, starts and
     * receives the log.
     */
    public Builder bootstrap(boolean bootstrap) {
      s.bootstrap = bootstrap;
      return this;
    }

    /**
     * How long, in all, a node with {@code bootstrap} and an empty data directory waits for its
     * peers to say whether the cluster already has a log; default 10 s (a peer whose port is closed
     * answers at once).
     */
    public Builder bootstrapProbeTimeout(Duration timeout) {
      s.bootstrapProbeTimeout = timeout;
      return this;
    }

    /** Take a snapshot every this many log entries; default 10,000. */
    public Builder snapshotThreshold(long entries) {
      s.snapshotThreshold = entries;
      return this;
    }

    /**
     * After a required promotion action fails, this node does not try to become active again for
     * this long, so another node can; default 10 s.
     */
    public Builder failureBackoff(Duration failureBackoff) {
      s.failureBackoff = failureBackoff;
      return this;
    }

    /**
     * Where meters are registered; default a private registry. The node removes its meters from it
     * when it closes or its start fails.
     */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      s.meterRegistry = meterRegistry;
      return this;
    }

    /**
     * How many activations the {@link Cluster#history() history} keeps, the newest; default 100, at
     * least 1. Give every member the same value: each trims its own copy to it.
     */
    public Builder historyLimit(int records) {
      s.historyLimit = records;
      return this;
    }

    /** A listener registered before the node starts, so it sees the first activation. */
    public Builder listener(RoleListener listener, Executor executor) {
      s.listeners.add(Map.entry(listener, executor));
      return this;
    }

    /** What to do on becoming active and on giving the role up; default: nothing. */
    public Builder promotionPlan(PromotionPlan plan) {
      s.plan = Objects.requireNonNull(plan, "plan");
      return this;
    }

    public BatonNode build() {
      return new BatonNode(s.config(), s.collaborators());
    }
  }
}
