package dev.baton.postgres;

import dev.baton.core.ActionContext;
import dev.baton.core.BatonException;
import dev.baton.core.ChildEnvironment;
import dev.baton.core.HookProcess;
import dev.baton.core.PromotionAction;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
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
 * same way when this node loses the role while its server is the primary.
 *
 * <p>The user needs to be a superuser (ALTER SYSTEM, pg_promote, terminating other roles'
 * sessions). The password, if any, is only given to the driver.
 */
public final class PostgresPromotionAction implements PromotionAction {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresPromotionAction.class);

  private final String name;
  private final PostgresEndpoint target;
  private final List<PostgresEndpoint> peers;
  private final PgConnections connections;
  private final long maximumLagBytes;
  private final Duration catchUpTimeout;
  private final Duration promoteTimeout;
  private final Duration fenceTimeout;
  private final List<String> fenceResources;
  private final FenceSchema schema;
  private final WriterEndpoint writerEndpoint;
  private final Supplier<OptionalLong> lastKnownPrimaryPosition;
  private final boolean refuseWhenPositionUnknown;
  private final List<String> stopCommand;
  private final Duration stopCommandTimeout;
  private final Set<String> stopCommandPassEnv;
  private final boolean allowUnfencedOldPrimary;
  private final Map<String, String> peerNodes;
  private final RejoinRecords rejoinRecords;
  private final Duration rejoinStaleAfter;
  private final boolean fenceTimeBound;

  /** Peers a stop command stopped, by address, with the token of the activation that did it. */
  private final Map<String, Long> stoppedBy = new java.util.concurrent.ConcurrentHashMap<>();

  private PostgresPromotionAction(Builder b) {
    this.name = b.name;
    this.target = b.target;
    this.peers = List.copyOf(b.peers);
    this.connections =
        new PgConnections(b.user, b.password, b.connectTimeout, b.socketTimeout, "baton-" + b.name);
    this.maximumLagBytes = b.maximumLagBytes;
    this.catchUpTimeout = b.catchUpTimeout;
    this.promoteTimeout = b.promoteTimeout;
    this.fenceTimeout = b.fenceTimeout;
    this.fenceResources = List.copyOf(b.fenceResources);
    this.schema = b.schema;
    this.writerEndpoint = b.writerEndpoint;
    this.lastKnownPrimaryPosition = b.lastKnownPrimaryPosition;
    this.refuseWhenPositionUnknown = b.refuseWhenPositionUnknown;
    this.stopCommand = b.stopCommand == null ? null : List.copyOf(b.stopCommand);
    this.stopCommandTimeout = b.stopCommandTimeout;
    this.stopCommandPassEnv = b.stopCommandPassEnv;
    this.allowUnfencedOldPrimary = b.allowUnfencedOldPrimary;
    this.peerNodes = Map.copyOf(b.peerNodes);
    this.rejoinRecords = b.writerEndpoint == null ? null : new RejoinRecords(b.writerEndpoint);
    this.rejoinStaleAfter = b.rejoinStaleAfter;
    this.fenceTimeBound = b.fenceTimeBound;
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
    private PostgresEndpoint target;
    private final List<PostgresEndpoint> peers = new ArrayList<>();
    private String user = "postgres";
    private String password;
    private Duration connectTimeout = Duration.ofSeconds(3);
    private Duration socketTimeout = Duration.ofSeconds(30);
    private long maximumLagBytes = 1024 * 1024;
    private Duration catchUpTimeout = Duration.ofSeconds(10);
    private Duration promoteTimeout = Duration.ofSeconds(60);
    private Duration fenceTimeout = Duration.ofSeconds(10);
    private final List<String> fenceResources = new ArrayList<>();
    private FenceSchema schema = FenceSchema.defaultSchema();
    private WriterEndpoint writerEndpoint;
    private Supplier<OptionalLong> lastKnownPrimaryPosition = OptionalLong::empty;
    private boolean refuseWhenPositionUnknown;
    private List<String> stopCommand;
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

  private record Peer(PostgresEndpoint endpoint, Connection connection, boolean primary) {}

  @Override
  public void promote(ActionContext ctx) throws Exception {
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

  private void promoteLocked(ActionContext ctx) throws Exception {
    Logger log = ctx.log();
    long token = ctx.token();
    long started = System.nanoTime();
    try (Connection t = connections.connect(target, "the standby to promote")) {
      t.setAutoCommit(true);
      boolean inRecovery = inRecovery(t);
      List<Peer> surveyed = survey(log);
      try {
        for (Peer p : surveyed) {
          if (p.connection() != null) {
            stoppedBy.remove(p.endpoint().address()); // it answers: whatever stopped it is over
          }
        }
        Set<String> rejoining = rejoining(surveyed, log);
        Set<String> boundCovers = Set.of();
        if (!inRecovery) {
          refuseIfFormerPrimary(t, surveyed);
        } else {
          boundCovers = refuseIfAnOldPrimaryCannotBeFenced(t, surveyed, rejoining, ctx);
        }
        long lastKnown = -1;
        String lastKnownFrom = null;
        for (Peer p : surveyed) {
          if (p.connection() != null && p.primary()) {
            makeReadOnly(p.connection(), p.endpoint(), "old primary", log);
            long lsn =
                Lsn.parse(PgConnections.queryString(p.connection(), "SELECT pg_current_wal_lsn()"));
            if (lsn > lastKnown) {
              lastKnown = lsn;
              lastKnownFrom = "the fenced old primary " + p.endpoint().address();
            }
          }
        }
        if (stopCommand != null) {
          for (Peer p : surveyed) {
            if ((p.connection() == null && !boundCovers.contains(p.endpoint().address()))
                || p.primary()) {
              stopUnlessHeldOrStopped(p, rejoining, ctx);
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
            awaitReplay(t, lastKnown, catchUpTimeout);
          }
          checkLag(t, lastKnown, lastKnownFrom, log);
          promote(t, log);
        } else {
          log.info("{}: {} is already a primary; not promoting again", name, target.address());
        }
      } finally {
        for (Peer p : surveyed) {
          closeQuietly(p.connection());
        }
      }
      makeWritable(t, log);
    }
    awaitWritable(log);
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
      Duration maxRenewalTime) {
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
      boolean recovering = inRecovery(t);
      List<Peer> surveyed = survey(LOG);
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
        for (Peer p : surveyed) {
          closeQuietly(p.connection());
        }
      }
    }
  }

  /** Demotion only makes this node's primary read-only: it runs even after the lease has ended. */
  @Override
  public boolean demoteOnlyFences() {
    return true;
  }

  @Override
  public void demote(ActionContext ctx) throws Exception {
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
      if (inRecovery(t)) {
        log.info("{}: demote: {} is a standby; nothing to do", name, target.address());
        return;
      }
      makeReadOnly(t, target, "this node's primary", log);
    }
  }

  // --------------------------------------------------------------------------------------------

  private List<Peer> survey(Logger log) {
    List<Peer> out = new ArrayList<>();
    for (PostgresEndpoint p : peers) {
      Connection c = null;
      try {
        c = connections.connectOrThrow(p);
        c.setAutoCommit(true);
        out.add(new Peer(p, c, !inRecovery(c)));
      } catch (SQLException e) {
        closeQuietly(c);
        log.warn(
            "{}: peer {} is unreachable ({}); it cannot be fenced from here",
            name,
            p.address(),
            e.getMessage());
        out.add(new Peer(p, null, false));
      }
    }
    return out;
  }

  /**
   * Who held the role before, for a message about an old primary. The previous activation can be
   * this node's own attempt that did not complete (a retry after a failed promotion): naming this
   * node as "the previous active" would send the operator to the wrong server.
   */
  static String previousActiveClause(ActionContext ctx) {
    return ctx.previousActive()
        .map(
            n ->
                n.equals(ctx.nodeId())
                    ? "; the previous activation (token "
                        + ctx.previousToken()
                        + ") was this node's own attempt, which did not complete, so the node"
                        + " active before it is not known here"
                    : "; the previous active was node " + n)
        .orElse("");
  }

  /**
   * Before a standby is promoted, every peer must be fenced: a reachable primary is made read-only
   * (below), an unreachable peer, which may be the old primary still taking a stale active's
   * commits, can only be stopped by the stop command. Without one, the promotion is refused unless
   * {@link Builder#allowUnfencedOldPrimary} accepts the risk, or the fence's time bound covers it.
   *
   * <p><b>The time bound</b> ({@link Builder#fenceTimeBound}, fence protocol version 3). The old
   * primary's fence refuses every transaction and commit with its token once that token's {@code
   * valid_until} has passed, and the old active's renewals put it no later than the end of the old
   * active's Raft lease, which ended before this node became active. So an unreachable peer needs
   * neither a stop command nor the opt-out, provided its fence is bounded. This node cannot ask it,
   * so it asks the standby it promotes, which replays the old primary's WAL: every configured
   * resource's fence row there must carry a bounded lease for its token ({@link #unboundedFence}).
   * A fence advanced without the bound (a node without it, or schema version 1 or 2) shows there
   * and the promotion falls back to the rules above. What the standby has not replayed yet was
   * written by a later promotion of the old primary, bounded too when every node has the bound on
   * (a requirement: docs/sidecar-config.md, {@code fenceLease}).
   *
   * @return the addresses of the unreachable peers the time bound covers: they are not stopped
   */
  private Set<String> refuseIfAnOldPrimaryCannotBeFenced(
      Connection t, List<Peer> surveyed, Set<String> rejoining, ActionContext ctx)
      throws SQLException {
    List<Peer> unreachablePeers = new ArrayList<>();
    List<String> unreachable = new ArrayList<>();
    for (Peer p : surveyed) {
      if (p.connection() == null && !rejoining.contains(p.endpoint().address())) {
        unreachablePeers.add(p);
        unreachable.add(describePeer(p.endpoint()));
      }
    }
    if (unreachable.isEmpty()) {
      return Set.of();
    }
    String previous = previousActiveClause(ctx);
    String notBounded = null;
    if (fenceTimeBound) {
      Map<String, Long> tokens = new java.util.LinkedHashMap<>();
      notBounded = unboundedFence(t, tokens);
      if (notBounded == null) {
        String held =
            tokens.isEmpty()
                ? "any token (no fence row has reached the standby yet)"
                : tokens.entrySet().stream()
                    .map(e -> e.getValue() + " (resource " + e.getKey() + ")")
                    .collect(java.util.stream.Collectors.joining(", "));
        Set<String> covered = new java.util.HashSet<>();
        for (Peer p : unreachablePeers) {
          ctx.log()
              .warn(
                  "{}: old primary {} unreachable; not stopped; it refuses writes with token {} by"
                      + " itself since its fence lease (protocol 3) ended no later than the old"
                      + " active's lease{}; promoting {}",
                  name,
                  describePeer(p.endpoint()),
                  held,
                  previous,
                  target.address());
          covered.add(p.endpoint().address());
        }
        return covered;
      }
    }
    if (stopCommand != null) {
      return Set.of();
    }
    if (allowUnfencedOldPrimary) {
      LOG.error(
          "{}: promoting {} although {} {} unreachable and cannot be fenced{}: allowUnfencedOldPrimary"
              + " is set, so a stale active may still commit there and pg_rewind will discard"
              + " those commits",
          name,
          target.address(),
          String.join(", ", unreachable),
          unreachable.size() == 1 ? "is" : "are",
          previous);
      return Set.of();
    }
    throw new PromotionRefusedException(
        "refusing to promote "
            + target.address()
            + ": "
            + String.join(", ", unreachable)
            + (unreachable.size() == 1 ? " is" : " are")
            + " unreachable and cannot be fenced"
            + previous
            + "; if it is the old primary, a stale active can still commit there"
            + (notBounded == null
                ? ""
                : " (fenceTimeBound is on, but the fence's time bound does not cover it: "
                    + notBounded
                    + ")")
            + ". Configure a stopCommand (STONITH) that stops it, bring it back within reach,"
            + (fenceTimeBound
                ? ""
                : " turn on the fence's time bound (fenceTimeBound / fenceLease),")
            + " or set allowUnfencedOldPrimary(true) to accept the risk");
  }

  /**
   * Reads, on the standby about to be promoted ({@code t}, in recovery), its replayed copy of the
   * old primary's fence: for each configured resource with a fence row, the row's token goes into
   * {@code tokens} and it must have a lease row for that token with a {@code valid_until}.
   *
   * @return null when every such fence is bounded, otherwise why not
   */
  private String unboundedFence(Connection t, Map<String, Long> tokens) throws SQLException {
    if (fenceResources.isEmpty()) {
      return "no fenceResources are configured, so no fence row is bounded";
    }
    boolean fenceTable;
    boolean leaseTable;
    try (java.sql.PreparedStatement ps =
        t.prepareStatement("SELECT to_regclass(?) IS NOT NULL, to_regclass(?) IS NOT NULL")) {
      ps.setString(1, schema.fenceTable());
      ps.setString(2, schema.leaseTable());
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        rs.next();
        fenceTable = rs.getBoolean(1);
        leaseTable = rs.getBoolean(2);
      }
    }
    if (!fenceTable) {
      return null; // no fence row replayed: nothing passes check_fence there as of the replay
    }
    for (String resource : fenceResources) {
      String sql =
          "SELECT f.token, "
              + (leaseTable
                  ? "EXISTS (SELECT 1 FROM "
                      + schema.leaseTable()
                      + " l WHERE l.resource = f.resource AND l.token = f.token"
                      + " AND l.valid_until IS NOT NULL)"
                  : "false")
              + " FROM "
              + schema.fenceTable()
              + " f WHERE f.resource = ?";
      try (java.sql.PreparedStatement ps = t.prepareStatement(sql)) {
        ps.setString(1, resource);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            continue;
          }
          long token = rs.getLong(1);
          if (!rs.getBoolean(2)) {
            return "the standby's copy of the fence of resource '"
                + resource
                + "' (token "
                + token
                + ") "
                + (leaseTable
                    ? "has no time bound: it was advanced without fenceTimeBound"
                    : "is at fence schema version 1 or 2, which has no time bound");
          }
          tokens.put(resource, token);
        }
      }
    }
    return null;
  }

  /**
   * The peers that could be stopped (unreachable, or primaries) whose former-primary guard holds a
   * live rejoin record ({@link RejoinRecords}): their guard made them read-only before it wrote the
   * record and is rewinding them into standbys, so they are neither stopped nor counted as
   * unfenced.
   */
  private Set<String> rejoining(List<Peer> surveyed, Logger log) {
    Set<String> out = new java.util.HashSet<>();
    if (rejoinRecords == null) {
      return out;
    }
    for (Peer p : surveyed) {
      if (p.connection() != null && !p.primary()) {
        continue;
      }
      RejoinRecords.State state;
      try {
        state = rejoinRecords.judge(p.endpoint(), rejoinStaleAfter);
      } catch (RuntimeException e) {
        log.warn(
            "{}: cannot read the rejoin record of {} ({}); treating it as not rejoining",
            name,
            p.endpoint().address(),
            e.getMessage());
        continue;
      }
      if (state == RejoinRecords.State.LIVE) {
        out.add(p.endpoint().address());
      } else if (state == RejoinRecords.State.STALE) {
        log.warn(
            "{}: the rejoin record of {} has not moved for {} ms by this node's clock: its guard"
                + " is gone, so it is treated as not rejoining",
            name,
            describePeer(p.endpoint()),
            rejoinStaleAfter.toMillis());
      }
    }
    return out;
  }

  /**
   * Runs the stop command for {@code p} unless its guard is rejoining it (a live record), or a stop
   * command already stopped it in this activation (same token) and it has not answered since: a
   * re-run of the plan must not need a second STONITH of a host that is already down (issue 28,
   * item 6c). A new activation stops it again: its token differs, and nothing tells it that the
   * server stayed down in between.
   */
  private void stopUnlessHeldOrStopped(Peer p, Set<String> rejoining, ActionContext ctx)
      throws Exception {
    String address = p.endpoint().address();
    if (rejoining.contains(address)) {
      ctx.log()
          .warn(
              "{}: not stopping {} (STONITH skipped): its former-primary guard holds a live rejoin"
                  + " record ({}); it made the server read-only before rewinding it into a"
                  + " standby",
              name,
              describePeer(p.endpoint()),
              rejoinRecords.key(p.endpoint()));
      return;
    }
    Long stoppedAt = stoppedBy.get(address);
    if (p.connection() == null && stoppedAt != null && stoppedAt == ctx.token()) {
      ctx.log()
          .warn(
              "{}: not stopping {} again (STONITH skipped): the stop command stopped it earlier in"
                  + " this activation (token {}) and it has not answered since",
              name,
              describePeer(p.endpoint()),
              ctx.token());
      return;
    }
    runStopCommand(p.endpoint(), ctx);
    stoppedBy.put(address, ctx.token());
  }

  private String describePeer(PostgresEndpoint ep) {
    String node = peerNodes.get(ep.address());
    return "peer " + ep.address() + (node == null ? "" : " (next to node " + node + ")");
  }

  private void refuseIfFormerPrimary(Connection t, List<Peer> surveyed) throws SQLException {
    if (writerEndpoint != null) {
      var writer = writerEndpoint.current();
      if (writer.isPresent() && !writer.get().jdbcUrl().equals(target.jdbcUrl())) {
        throw new PromotionRefusedException(
            "refusing to promote "
                + target.address()
                + ": it is a primary, but the published writer is "
                + writer.get().jdbcUrl()
                + " (token "
                + writer.get().token()
                + "); a former primary must be rejoined as a standby (pg_rewind) first");
      }
    }
    long mine = timeline(t);
    for (Peer p : surveyed) {
      if (p.connection() != null && p.primary()) {
        long theirs = timeline(p.connection());
        if (theirs > mine) {
          throw new PromotionRefusedException(
              "refusing to promote "
                  + target.address()
                  + ": it is a primary on timeline "
                  + mine
                  + " but "
                  + p.endpoint().address()
                  + " is a primary on the newer timeline "
                  + theirs
                  + "; a former primary must be rejoined as a standby (pg_rewind) first");
        }
      }
    }
  }

  private void makeReadOnly(Connection c, PostgresEndpoint ep, String role, Logger log) {
    ReadOnlyFencing.makeReadOnly(connections, c, ep, role, fenceTimeout, name, log);
  }

  /**
   * Runs the stop command as Baton runs every hook ({@link HookProcess}): in a process group of its
   * own, its output logged, and on a timeout or an interrupt (the node gave the role up) killed
   * with every child it started, so a script's {@code ssh} or API call cannot stop the server
   * later, after Baton gave up on it.
   */
  private void runStopCommand(PostgresEndpoint ep, ActionContext ctx) throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("BATON_PG_HOST", ep.host());
    env.put("BATON_PG_PORT", Integer.toString(ep.port()));
    env.put("BATON_TOKEN", Long.toString(ctx.token()));
    env.put("BATON_NODE", ctx.nodeId());
    int code;
    try {
      code =
          HookProcess.run(
              name + " stop-command",
              stopCommand,
              false,
              env,
              stopCommandPassEnv,
              null,
              stopCommandTimeout,
              ctx.log());
    } catch (TimeoutException e) {
      throw new BatonException(
          "the stop command for old primary "
              + ep.address()
              + " did not finish within "
              + stopCommandTimeout
              + "; killed it and its children");
    }
    if (code != 0) {
      throw new BatonException(
          "the stop command for old primary "
              + ep.address()
              + " exited with "
              + code
              + "; refusing to promote while it may still accept writes");
    }
    ctx.log().info("{}: stop command for old primary {} succeeded", name, ep.address());
  }

  private void awaitReplay(Connection t, long lsn, Duration timeout) throws SQLException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (replayPosition(t) < lsn && System.nanoTime() < deadline) {
      sleepBriefly();
    }
  }

  private void checkLag(Connection t, long lastKnown, String from, Logger log) throws SQLException {
    long replay = replayPosition(t);
    if (lastKnown < 0) {
      if (refuseWhenPositionUnknown) {
        throw new PromotionRefusedException(
            "refusing to promote "
                + target.address()
                + ": no primary was reachable and no last primary position is known,"
                + " so its lag cannot be checked");
      }
      log.warn(
          "{}: no primary position known; promoting {} (replayed up to {}) without a lag check",
          name,
          target.address(),
          Lsn.format(replay));
      return;
    }
    long lag = lastKnown - replay;
    if (lag > maximumLagBytes) {
      throw new PromotionRefusedException(
          "refusing to promote standby "
              + target.address()
              + ": it has replayed up to "
              + Lsn.format(replay)
              + ", "
              + lag
              + " bytes behind the last known primary position "
              + Lsn.format(lastKnown)
              + " (from "
              + from
              + "); the maximum lag is "
              + maximumLagBytes
              + " bytes");
    }
    log.info(
        "{}: standby {} is {} bytes behind {} (maximum {})",
        name,
        target.address(),
        Math.max(0, lag),
        from,
        maximumLagBytes);
  }

  private void promote(Connection t, Logger log) throws SQLException {
    long seconds = Math.max(1, promoteTimeout.toSeconds());
    log.info("{}: promoting {}", name, target.address());
    boolean done;
    try {
      done = "t".equals(PgConnections.queryString(t, "SELECT pg_promote(true, " + seconds + ")"));
    } catch (SQLException e) {
      // A concurrent promotion (an earlier attempt that timed out) may have won the race.
      if (!inRecovery(t)) {
        return;
      }
      throw new BatonException(
          "pg_promote failed on " + target.address() + ": " + e.getMessage(), e);
    }
    if (!done) {
      throw new BatonException(
          "promotion of " + target.address() + " did not finish within " + seconds + " s");
    }
  }

  private void makeWritable(Connection t, Logger log) throws SQLException {
    // This server may have been fenced read-only earlier in its life (an old primary that was
    // rejoined keeps its postgresql.auto.conf unless pg_rewind replaced it).
    if ("on"
        .equals(
            PgConnections.queryString(
                t,
                "SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'"))) {
      log.info("{}: clearing the read-only default on {}", name, target.address());
    }
    PgConnections.execute(t, "ALTER SYSTEM RESET default_transaction_read_only");
    PgConnections.execute(t, "SELECT pg_reload_conf()");
  }

  private void awaitWritable(Logger log) throws SQLException {
    long deadline = System.nanoTime() + promoteTimeout.toNanos();
    String last = "not checked";
    while (true) {
      try (Connection c = connections.connectOrThrow(target)) {
        boolean recovery = inRecovery(c);
        String ro = PgConnections.queryString(c, "SHOW transaction_read_only");
        if (!recovery && "off".equals(ro)) {
          return;
        }
        last = recovery ? "still in recovery" : "new sessions are read-only";
      } catch (SQLException e) {
        last = e.getMessage();
      }
      if (System.nanoTime() > deadline) {
        throw new BatonException(
            target.address() + " did not accept writes within " + promoteTimeout + ": " + last);
      }
      sleepBriefly();
    }
  }

  private static boolean inRecovery(Connection c) throws SQLException {
    return "t".equals(PgConnections.queryString(c, "SELECT pg_is_in_recovery()"));
  }

  private static long replayPosition(Connection c) throws SQLException {
    String lsn = PgConnections.queryString(c, "SELECT pg_last_wal_replay_lsn()");
    return lsn == null ? 0 : Lsn.parse(lsn);
  }

  /** The timeline a primary writes on: the first eight hex digits of its current WAL file. */
  private static long timeline(Connection c) throws SQLException {
    String file = PgConnections.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
    return Long.parseLong(file.substring(0, 8), 16);
  }

  private static void sleepBriefly() {
    try {
      Thread.sleep(50); // the poll interval of a bounded wait; callers check their deadline
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("interrupted", e);
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // closing a connection to a server we are done with
      }
    }
  }
}
