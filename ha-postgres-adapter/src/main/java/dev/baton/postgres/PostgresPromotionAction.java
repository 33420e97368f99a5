package dev.baton.postgres;

import dev.baton.core.ChildEnvironment;
import dev.baton.core.PromotionAction;
import dev.baton.core.StepContext;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves a PostgreSQL deployment's writer to the server of the node that has just become active:
 * fences the old primary, checks the standby's lag, promotes the standby, waits until it accepts
 * writes, advances the fence rows on it and publishes it as the writer.
 *
 * <p>Each node configures its own server as {@linkplain Builder#target target} and the other
 * servers of the deployment as {@linkplain Builder#peers peers}. {@code promote} does, in order:
 *
 * <ol>
 *   <li><b>Survey.</b> Connects to the target (unreachable: {@link PostgresUnreachableException}
 *       naming host:port, the attempt can be retried) and to each peer (unreachable peers are
 *       noted).
 *   <li><b>Former-primary check.</b> If the target is not in recovery it is either already promoted
 *       (a re-run: fine) or a former primary that was never rejoined, whose data diverged from the
 *       current writer's. It is refused ({@link PromotionRefusedException}) when the published
 *       writer is another server, or a peer is a primary on a newer timeline.
 *   <li><b>Fence the old primary.</b> Every reachable peer that is a primary is made read-only:
 *       {@code ALTER SYSTEM SET default_transaction_read_only = on}, {@code pg_reload_conf()}, a
 *       wait until new sessions see it, then {@code pg_terminate_backend} of every other client
 *       session (their open transactions abort; reconnecting sessions are read-only). WAL senders
 *       are left alone so the standby can catch up. If a {@linkplain Builder#stopCommand stop
 *       command} is configured it also runs for every peer that is a primary or unreachable
 *       (STONITH), and must succeed, except for a peer whose {@link FormerPrimaryGuard} holds a
 *       live rejoin record ({@link Builder#rejoinStaleAfter}) and an unreachable peer it already
 *       stopped in this activation (same token): both are skipped with a WARN. A reachable primary
 *       that cannot be fenced stops the promotion. An unreachable peer with neither a stop command
 *       nor {@link Builder#allowUnfencedOldPrimary} refuses the promotion, unless the {@linkplain
 *       Builder#fenceTimeBound fence's time bound} covers it: then it is neither stopped nor waited
 *       for, with a WARN saying why that is safe (the old primary refuses its token by itself once
 *       the old active's lease ended).
 *   <li><b>Lag check</b> (as Patroni's {@code maximum_lag_on_failover}). The last known primary
 *       position is the fenced old primary's {@code pg_current_wal_lsn()} (the standby is first
 *       given {@linkplain Builder#catchUpTimeout a moment} to replay up to it) or, when no primary
 *       was reachable, the {@linkplain Builder#lastKnownPrimaryPosition configured source}. If the
 *       standby's replay position is more than {@linkplain Builder#maximumLagBytes the bound}
 *       behind it, the promotion is refused. The replay position, not the receive position, is
 *       used: it is what the standby has verifiably applied.
 *   <li><b>Promote</b> with {@code pg_promote(true, timeout)}, clear a read-only default left from
 *       an earlier fencing of this server, and wait until a new session is writable.
 *   <li><b>Advance</b> the configured fence rows on the new primary to this activation's token (a
 *       write: the proof that it accepts writes), then <b>publish</b> it through the {@link
 *       WriterEndpoint}.
 * </ol>
 *
 * <p>Every step is idempotent, so re-running on a promoted server with the same token (a retry, a
 * successor re-running the plan) changes nothing. {@code demote} makes the target read-only the
 * same way when this node loses the role while its server is the primary, and then, if the server
 * is the published writer and a {@link FormerPrimaryGuard} with a rejoin runs for it in this
 * process, has the guard hold it (a live rejoin record, written before the node resigns): the
 * successor does not STONITH a server handed over in order, and the guard rewinds it into a standby
 * of the next writer.
 *
 * <p>The user needs to be a superuser (ALTER SYSTEM, pg_promote, terminating other roles'
 * sessions). The password, if any, is only given to the driver.
 *
 * <p>Where the work is: {@link PeerSurvey} (the other servers, and which are being rejoined),
 * {@link OldPrimaryChecks} (the refusals about old primaries, the fence's time bound), {@link
 * StopCommand} (STONITH) and {@link StandbyPromotion} (lag, {@code pg_promote}, writable). This
 * class orders the steps and holds the {@link Builder}; it is over 450 lines because the builder is
 * the public configuration API, a documented method per setting.
 */
public final class PostgresPromotionAction implements PromotionAction {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresPromotionAction.class);
  // The hand-over's record write through Raft, off the demotion's thread so that it is bounded.
  private static final Executor HAND_OVER =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "baton-postgres-hand-over");
            t.setDaemon(true);
            return t;
          });

  private final String name;
  private final PostgresEndpoint target;
  private final PgConnections connections;
  private final Duration catchUpTimeout;
  private final Duration fenceTimeout;
  private final List<String> fenceResources;
  private final FenceSchema schema;
  private final @Nullable WriterEndpoint writerEndpoint;
  private final Supplier<OptionalLong> lastKnownPrimaryPosition;
  private final boolean allowUnfencedOldPrimary;
  private final boolean fenceTimeBound;
  private final PeerSurvey peers;
  private final OldPrimaryChecks oldPrimaries;
  private final @Nullable StopCommand stopCommand; // null without one
  private final StandbyPromotion standby;

  private PostgresPromotionAction(Builder b) {
    this.name = b.name;
    this.target = Objects.requireNonNull(b.target, "target"); // build() refused none
    this.connections =
        new PgConnections(b.user, b.password, b.connectTimeout, b.socketTimeout, "baton-" + b.name);
    this.catchUpTimeout = b.catchUpTimeout;
    this.fenceTimeout = b.fenceTimeout;
    this.fenceResources = List.copyOf(b.fenceResources);
    this.schema = b.schema;
    this.writerEndpoint = b.writerEndpoint;
    this.lastKnownPrimaryPosition = b.lastKnownPrimaryPosition;
    this.allowUnfencedOldPrimary = b.allowUnfencedOldPrimary;
    this.fenceTimeBound = b.fenceTimeBound;
    @Nullable RejoinRecords rejoinRecords =
        b.writerEndpoint == null ? null : new RejoinRecords(b.writerEndpoint);
    this.peers =
        new PeerSurvey(name, b.peers, connections, b.peerNodes, rejoinRecords, b.rejoinStaleAfter);
    this.stopCommand =
        b.stopCommand == null
            ? null
            : new StopCommand(
                name,
                b.stopCommand,
                b.stopCommandTimeout,
                b.stopCommandPassEnv,
                rejoinRecords,
                peers);
    this.oldPrimaries =
        new OldPrimaryChecks(
            name,
            target,
            peers,
            fenceTimeBound,
            fenceResources,
            schema,
            stopCommand != null,
            allowUnfencedOldPrimary,
            writerEndpoint);
    this.standby =
        new StandbyPromotion(
            name,
            target,
            connections,
            b.maximumLagBytes,
            b.refuseWhenPositionUnknown,
            b.promoteTimeout);
    if (allowUnfencedOldPrimary && stopCommand == null) {
      LOG.warn(
          "{}: allowUnfencedOldPrimary is set and no stopCommand is configured: a promotion of {}"
              + " goes ahead even when an old primary cannot be reached, and a stale active can"
              + " still commit there (docs/operations/postgres-primary-lost.md)",
          name,
          target.address());
    }
    if (allowUnfencedOldPrimary && fenceTimeBound) {
      LOG.warn("{}: {}", name, BOTH_TIME_BOUND_AND_UNFENCED);
    }
  }

  /**
   * What is wrong with setting both {@link Builder#fenceTimeBound} and {@link
   * Builder#allowUnfencedOldPrimary}: {@code bin/baton sidecar --check} prints it too.
   */
  public static final String BOTH_TIME_BOUND_AND_UNFENCED =
      "both the fence's time bound (fenceLease) and allowUnfencedOldPrimary are set: the time bound"
          + " is what makes a promotion past an unreachable old primary safe, and the opt-out lets"
          + " a promotion go ahead past one even when the bound does not cover it (a fence that"
          + " was never bounded, a lease not yet lapsed); drop allowUnfencedOldPrimary";

  /** Whether the promotion goes ahead past an old primary it cannot fence (the opt-out). */
  public boolean allowUnfencedOldPrimary() {
    return allowUnfencedOldPrimary;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link PostgresPromotionAction}. */
  public static final class Builder {
    private String name = "postgres";
    private @Nullable PostgresEndpoint target;
    private final List<PostgresEndpoint> peers = new ArrayList<>();
    private String user = "postgres";
    private @Nullable String password;
    private Duration connectTimeout = Duration.ofSeconds(3);
    private Duration socketTimeout = Duration.ofSeconds(30);
    private long maximumLagBytes = 1024 * 1024;
    private Duration catchUpTimeout = Duration.ofSeconds(10);
    private Duration promoteTimeout = Duration.ofSeconds(60);
    private Duration fenceTimeout = Duration.ofSeconds(10);
    private final List<String> fenceResources = new ArrayList<>();
    private FenceSchema schema = FenceSchema.defaultSchema();
    private @Nullable WriterEndpoint writerEndpoint;
    private Supplier<OptionalLong> lastKnownPrimaryPosition = OptionalLong::empty;
    private boolean refuseWhenPositionUnknown;
    private @Nullable List<String> stopCommand;
    private Duration stopCommandTimeout = Duration.ofSeconds(30);
    private Set<String> stopCommandPassEnv = Set.of();
    private boolean allowUnfencedOldPrimary;
    private final Map<String, String> peerNodes = new java.util.LinkedHashMap<>();
    private Duration rejoinStaleAfter = Duration.ofSeconds(5);
    private boolean fenceTimeBound;

    private Builder() {}

    /**
     * Bound the fences in time (protocol version 3, default false): the advance of each fence row
     * writes its lease, lapsed, and writes with the new token are accepted only while this node
     * renews it, which {@link PostgresPromotionAction#startFenceLeaseRenewer} does while the node
     * is active. A primary whose active is cut off or paused then refuses every fenced transaction
     * and commit once that node's lease would have ended.
     *
     * <p>It also lets a promotion go past an unreachable peer with no stop command and no {@link
     * #allowUnfencedOldPrimary opt-out}: such a peer is not stopped. This holds only if the peer's
     * fence is bounded, which this node cannot ask it; it reads the standby's replayed copy of the
     * fence and refuses as without the bound when a resource's fence there has none (advanced by a
     * node without it, or schema version 1 or 2). Turn it on for every node of the deployment.
     */
    public Builder fenceTimeBound(boolean on) {
      this.fenceTimeBound = on;
      return this;
    }

    /**
     * How long a peer's rejoin record must go without moving, by this node's own monotonic clock,
     * before it is called stale (default 5 s; its guard refreshes it every second). A peer whose
     * {@linkplain FormerPrimaryGuard guard} holds a live record is not stopped (STONITH): its guard
     * made it read-only and is rewinding it into a standby. A record this node sees for the first
     * time is watched for up to this long, so a leftover one delays a promotion by at most this.
     * Needs the {@link #writerEndpoint}, whose store holds the records.
     */
    public Builder rejoinStaleAfter(Duration staleAfter) {
      if (staleAfter.isNegative() || staleAfter.isZero()) {
        throw new IllegalArgumentException("rejoinStaleAfter must be positive: " + staleAfter);
      }
      this.rejoinStaleAfter = staleAfter;
      return this;
    }

    /** The action's name in the journal, status and logs (default {@code postgres}). */
    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** This node's server: the standby to promote. Required. */
    public Builder target(PostgresEndpoint target) {
      this.target = Objects.requireNonNull(target, "target");
      return this;
    }

    /** The deployment's other servers, any of which may be the old primary. */
    public Builder peers(List<PostgresEndpoint> peers) {
      this.peers.addAll(peers);
      return this;
    }

    public Builder peer(PostgresEndpoint peer) {
      this.peers.add(Objects.requireNonNull(peer, "peer"));
      return this;
    }

    /**
     * A peer and the Baton node next to it, named in refusals and logs (for example "the old
     * primary 10.0.0.1:5432, next to node n1").
     */
    public Builder peer(PostgresEndpoint peer, String node) {
      this.peers.add(Objects.requireNonNull(peer, "peer"));
      this.peerNodes.put(peer.address(), Objects.requireNonNull(node, "node"));
      return this;
    }

    /**
     * Promote even when a peer cannot be reached and no {@link #stopCommand stop command} is
     * configured. Off by default: then such a promotion is refused ({@link
     * PromotionRefusedException} naming the peer), because an unreachable old primary was not
     * fenced, and a stale active (paused, cut off with it) can still commit there; {@code
     * pg_rewind} later throws that acknowledged write away. Turn it on only where that risk is
     * accepted (for example a site whose loss always takes its database with it); every such
     * promotion is logged as an error.
     */
    public Builder allowUnfencedOldPrimary(boolean allow) {
      this.allowUnfencedOldPrimary = allow;
      return this;
    }

    /** The role to connect as (default {@code postgres}); it must be a superuser. */
    public Builder user(String user) {
      this.user = Objects.requireNonNull(user, "user");
      return this;
    }

    /** The role's password, or null for trust/peer/certificate authentication. Never logged. */
    public Builder password(String password) {
      this.password = password;
      return this;
    }

    /** How long a connection attempt may take (default 3 s). */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = Objects.requireNonNull(connectTimeout);
      return this;
    }

    /** How long one statement may go without a reply (default 30 s). */
    public Builder socketTimeout(Duration socketTimeout) {
      this.socketTimeout = Objects.requireNonNull(socketTimeout);
      return this;
    }

    /**
     * The most the standby's replay position may be behind the last known primary position (default
     * 1 MiB, Patroni's {@code maximum_lag_on_failover} default).
     */
    public Builder maximumLagBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("maximumLagBytes must be >= 0");
      }
      this.maximumLagBytes = bytes;
      return this;
    }

    /**
     * How long to let the standby replay up to a fenced old primary's last position before the lag
     * check (default 10 s). Zero skips the wait.
     */
    public Builder catchUpTimeout(Duration timeout) {
      this.catchUpTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** How long {@code pg_promote} and the wait for a writable server may take (default 60 s). */
    public Builder promoteTimeout(Duration timeout) {
      this.promoteTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** How long fencing one old primary may take (default 10 s). */
    public Builder fenceTimeout(Duration timeout) {
      this.fenceTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** Fence rows to advance to the activation's token on the new primary. */
    public Builder fenceResources(String... resources) {
      this.fenceResources.addAll(List.of(resources));
      return this;
    }

    public Builder schema(FenceSchema schema) {
      this.schema = Objects.requireNonNull(schema);
      return this;
    }

    /** Where to publish the new writer (optional). */
    public Builder writerEndpoint(WriterEndpoint writerEndpoint) {
      this.writerEndpoint = writerEndpoint;
      return this;
    }

    /**
     * The last primary WAL position known without reaching the primary (for example one the active
     * publishes periodically), used for the lag check when no old primary is reachable.
     */
    public Builder lastKnownPrimaryPosition(Supplier<OptionalLong> source) {
      this.lastKnownPrimaryPosition = Objects.requireNonNull(source);
      return this;
    }

    /**
     * Refuse to promote when no primary position is known at all (default false: promote, as
     * Patroni does when the leader's position is unknown, and log a warning).
     */
    public Builder refuseWhenPositionUnknown(boolean refuse) {
      this.refuseWhenPositionUnknown = refuse;
      return this;
    }

    /**
     * A command that stops (STONITH) an old primary, run for every peer that is a primary or cannot
     * be reached, with {@code BATON_PG_HOST}, {@code BATON_PG_PORT}, {@code BATON_TOKEN} and {@code
     * BATON_NODE} in its environment, and of this process's environment only {@link
     * ChildEnvironment#INHERITED} and what {@link #stopCommandPassEnv} names (never a password or
     * secret this process holds). It must exit 0, or the promotion stops.
     */
    public Builder stopCommand(List<String> command, Duration timeout) {
      this.stopCommand = List.copyOf(command);
      this.stopCommandTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /**
     * Variables of this process to pass on to the {@link #stopCommand stop command} by name, such
     * as what a cloud CLI needs to find its credentials.
     */
    public Builder stopCommandPassEnv(Collection<String> names) {
      this.stopCommandPassEnv = Set.copyOf(names);
      return this;
    }

    public PostgresPromotionAction build() {
      if (target == null) {
        throw new IllegalStateException("PostgresPromotionAction needs a target server");
      }
      for (PostgresEndpoint p : peers) {
        if (p.host().equals(target.host()) && p.port() == target.port()) {
          throw new IllegalArgumentException(
              "peer " + p.address() + " is the target itself: list only the other servers");
        }
      }
      return new PostgresPromotionAction(this);
    }
  }

  @Override
  public String name() {
    return name;
  }

  public PostgresEndpoint target() {
    return target;
  }

  @Override
  public void promote(StepContext ctx) throws Exception {
    // Shared with this node's FormerPrimaryGuard: it must not judge the target while it is being
    // promoted and its writer is not yet published.
    ReentrantLock lock = LocalServerLocks.of(target);
    lock.lockInterruptibly();
    try {
      promoteLocked(ctx);
    } finally {
      lock.unlock();
    }
  }

  private void promoteLocked(StepContext ctx) throws Exception {
    Logger log = ctx.log();
    long token = ctx.token();
    long started = System.nanoTime();
    try (Connection t = connections.connect(target, "the standby to promote")) {
      t.setAutoCommit(true);
      boolean inRecovery = ServerProbes.inRecovery(t);
      List<PeerSurvey.Peer> surveyed = peers.survey(log);
      try {
        for (PeerSurvey.Peer p : surveyed) {
          if (p.connection() != null && stopCommand != null) {
            stopCommand.answered(p.endpoint().address());
          }
        }
        Set<String> rejoining = peers.rejoining(surveyed, log);
        Set<String> boundCovers = Set.of();
        if (!inRecovery) {
          oldPrimaries.refuseIfFormerPrimary(t, surveyed);
        } else {
          boundCovers =
              oldPrimaries.refuseIfAnOldPrimaryCannotBeFenced(t, surveyed, rejoining, ctx);
        }
        long lastKnown = -1;
        String lastKnownFrom = null;
        for (PeerSurvey.Peer p : surveyed) {
          if (p.connection() != null && p.primary()) {
            makeReadOnly(p.connection(), p.endpoint(), "old primary", log);
            long lsn = ServerProbes.currentWalLsn(p.connection());
            if (lsn > lastKnown) {
              lastKnown = lsn;
              lastKnownFrom = "the fenced old primary " + p.endpoint().address();
            }
          }
        }
        if (stopCommand != null) {
          for (PeerSurvey.Peer p : surveyed) {
            if ((p.connection() == null && !boundCovers.contains(p.endpoint().address()))
                || p.primary()) {
              stopCommand.stopUnlessHeldOrStopped(p, rejoining, ctx);
            }
          }
        }
        if (inRecovery) {
          if (lastKnown < 0) {
            OptionalLong known = lastKnownPrimaryPosition.get();
            if (known.isPresent()) {
              lastKnown = known.getAsLong();
              lastKnownFrom = "the last published primary position";
            }
          } else {
            standby.awaitReplay(t, lastKnown, catchUpTimeout);
          }
          standby.checkLag(t, lastKnown, lastKnownFrom, log);
          standby.promote(t, log);
        } else {
          log.info("{}: {} is already a primary; not promoting again", name, target.address());
        }
      } finally {
        PeerSurvey.closeAll(surveyed);
      }
      standby.makeWritable(t, log);
    }
    standby.awaitWritable(log);
    // The schema install and the fence advance are the first writes on the new primary: they
    // prove it accepts writes before anyone is told to send it theirs.
    javax.sql.DataSource ds = connections.dataSource(target);
    schema.install(ds);
    for (String resource : fenceResources) {
      fence(ds, resource).advance(token, ctx);
    }
    if (writerEndpoint != null) {
      writerEndpoint.publish(target.jdbcUrl(), token, ctx.nodeId());
    }
    log.info(
        "{}: {} is the writer for token {} ({} ms)",
        name,
        target.address(),
        token,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  private PostgresFence fence(javax.sql.DataSource ds, String resource) {
    return PostgresFence.builder(ds)
        .resource(resource)
        .schema(schema)
        .timeBound(fenceTimeBound)
        .build();
  }

  /** Whether the promotion bounds its fences in time ({@link Builder#fenceTimeBound}). */
  public boolean fenceTimeBound() {
    return fenceTimeBound;
  }

  /**
   * Starts renewing, every {@code interval} while {@code active} yields an activation, the leases
   * of this step's fence rows on this node's own server ({@link FenceLeaseRenewer}). Only useful
   * with {@link Builder#fenceTimeBound}: without it there is no lease to renew.
   *
   * @param active this node's activation, empty when it is not active ({@code node::activeContext})
   */
  public FenceLeaseRenewer startFenceLeaseRenewer(
      Supplier<java.util.Optional<dev.baton.core.ActiveContext>> active, Duration interval) {
    return startFenceLeaseRenewer(active, interval, 0.01, null);
  }

  /**
   * {@link #startFenceLeaseRenewer(Supplier, Duration)} with the node's own clock drift bound
   * ({@code node.timing().clockDrift()}, which the sidecar passes) and the longest a renewal may
   * take ({@link PostgresFence.Builder#driftBound}, {@link PostgresFence.Builder#maxRenewalTime};
   * {@code null}: derived from the lease at each renewal).
   */
  public FenceLeaseRenewer startFenceLeaseRenewer(
      Supplier<java.util.Optional<dev.baton.core.ActiveContext>> active,
      Duration interval,
      double driftBound,
      @Nullable Duration maxRenewalTime) {
    javax.sql.DataSource ds = connections.dataSource(target);
    List<PostgresFence> fences = new ArrayList<>();
    for (String resource : fenceResources) {
      PostgresFence.Builder fence =
          PostgresFence.builder(ds)
              .resource(resource)
              .schema(schema)
              .timeBound(fenceTimeBound)
              .driftBound(driftBound);
      if (maxRenewalTime != null) {
        fence.maxRenewalTime(maxRenewalTime);
      }
      fences.add(fence.build());
    }
    return FenceLeaseRenewer.start(ds, fences, active, interval);
  }

  /**
   * Pre-flight, changing nothing: connects to the target, which must answer (otherwise {@link
   * PostgresUnreachableException}), and to every peer (an unreachable peer is logged, as a
   * promotion would log it), and logs what it found.
   */
  @Override
  public void preflight() throws Exception {
    // What the server is (a standby to promote, or already the primary on the active's own node)
    // is only known once connected: name it as this node's server.
    try (Connection t = connections.connect(target, "this node's server")) {
      t.setAutoCommit(true);
      boolean recovering = ServerProbes.inRecovery(t);
      List<PeerSurvey.Peer> surveyed = peers.survey(LOG);
      try {
        LOG.info(
            "{}: pre-flight: {} answers as a {}; peers: {}",
            name,
            target.address(),
            recovering ? "standby" : "primary",
            surveyed.stream()
                .map(
                    p ->
                        p.endpoint().address()
                            + (p.connection() == null
                                ? " unreachable"
                                : p.primary() ? " primary" : " standby"))
                .toList());
      } finally {
        PeerSurvey.closeAll(surveyed);
      }
    }
  }

  /** Demotion only makes this node's primary read-only: it runs even after the lease has ended. */
  @Override
  public boolean demoteOnlyFences() {
    return true;
  }

  @Override
  public void demote(StepContext ctx) throws Exception {
    Logger log = ctx.log();
    Connection t;
    try {
      t = connections.connect(target, "this node's server");
    } catch (PostgresUnreachableException e) {
      log.warn("{}: demote: {}; nothing to fence here", name, e.getMessage());
      return;
    }
    try (t) {
      t.setAutoCommit(true);
      if (ServerProbes.inRecovery(t)) {
        log.info("{}: demote: {} is a standby; nothing to do", name, target.address());
        return;
      }
      makeReadOnly(t, target, "this node's primary", log);
    }
    handOverToTheGuard(ctx);
  }

  /**
   * After the demotion made this node's server read-only: if it is the published writer and a
   * {@link FormerPrimaryGuard} with a rejoin runs for it in this process, the guard holds it (a
   * live rejoin record) from before this node resigns, so that the successor's promotion does not
   * STONITH it; the guard rejoins it once the successor publishes its writer. Bounded by the fence
   * timeout and the step's deadline: a node cut off from the cluster cannot write the record, and
   * its successor stops the server as before.
   */
  private void handOverToTheGuard(StepContext ctx) {
    if (writerEndpoint == null) {
      return;
    }
    Logger log = ctx.log();
    long waitMillis = Math.max(0, Math.min(fenceTimeout.toMillis(), ctx.deadline().toMillis()));
    CompletableFuture<Boolean> held =
        CompletableFuture.supplyAsync(
            () -> {
              Optional<WriterEndpoint.Writer> w = writerEndpoint.current();
              if (w.isEmpty()) {
                return false;
              }
              PostgresEndpoint at = PostgresEndpoint.fromJdbcUrl(w.get().jdbcUrl());
              return at.host().equals(target.host())
                  && at.port() == target.port()
                  && FormerPrimaryGuard.handOver(target, w.get());
            },
            HAND_OVER);
    try {
      if (held.get(waitMillis, TimeUnit.MILLISECONDS)) {
        log.info(
            "{}: demote: {} is held by its former-primary guard until the next writer is published"
                + " (no STONITH by the successor; rejoined as its standby)",
            name,
            target.address());
      }
    } catch (TimeoutException e) {
      log.warn(
          "{}: demote: the hand-over record for {} was not written within {} ms; the successor may"
              + " stop (STONITH) it",
          name,
          target.address(),
          waitMillis);
    } catch (ExecutionException e) {
      log.warn(
          "{}: demote: cannot hand {} over to its former-primary guard ({}); the successor may stop"
              + " (STONITH) it",
          name,
          target.address(),
          e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // --------------------------------------------------------------------------------------------

  private void makeReadOnly(Connection c, PostgresEndpoint ep, String role, Logger log) {
    ReadOnlyFencing.makeReadOnly(connections, c, ep, role, fenceTimeout, name, log);
  }
}
