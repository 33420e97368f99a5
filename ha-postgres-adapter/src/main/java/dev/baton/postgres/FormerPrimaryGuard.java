package dev.baton.postgres;

import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.Role;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's PostgreSQL server from taking writes once another server is the published
 * writer: when the node is not active and its server is a primary that is not the writer (an old
 * primary that was unreachable during the failover and has come back, or one that was fenced and is
 * to rejoin), it makes the server read-only and, if a {@link PgRewindRejoin} is configured, rejoins
 * it as a standby of the writer.
 *
 * <p>It checks on every writer change and every {@linkplain Builder#checkInterval interval}
 * (default 5 s), since an old primary can come back long after the change. It leaves the server
 * alone while this node is active (its promotion action owns the server then), while the server is
 * the published writer, and while it is a standby.
 *
 * <p><b>A rejoin is announced in the replicated state.</b> Before it stops the server for {@code
 * pg_rewind} it writes a {@linkplain RejoinRecords rejoin record} for the server, refreshes it
 * every {@linkplain Builder#rejoinRecordRefresh refresh interval} while the rejoin runs and for a
 * {@linkplain Builder#rejoinLinger linger} after it, and then deletes it. A promotion elsewhere
 * does not STONITH a server whose record is live (its guard has made it read-only before writing
 * the record, and the rewind leaves it a standby). While it holds the record, the guard also
 * restarts, as a standby, the server it stopped: a STONITH or a crash that lands after the rejoin
 * or during {@code pg_ctl start} no longer leaves it down for good ({@link Outcome#RESTARTED}). A
 * guard that starts and finds its server down with a record left by its predecessor on this node
 * takes the record over and does the same.
 *
 * <p><b>A hand-over is held too.</b> When this node gives the role up in an orderly way (a planned
 * switch, a health hand-over, a lost lease it noticed) its {@link PostgresPromotionAction}'s
 * demotion makes the server read-only and asks the guard running beside it in this process to hold
 * the server ({@link Outcome#HANDED_OVER}): the record is written before the node resigns, so the
 * successor's promotion finds it live and does not STONITH a server whose guard will rejoin it as
 * soon as the successor publishes its writer, as Patroni's switchover turns the old primary into a
 * replica and kills nothing. The hold lasts while the server stays the published writer, read-only,
 * and its node does not take the role again, for at most the {@linkplain Builder#rejoinLinger
 * linger}; a node cut off from the cluster cannot refresh the record, so a promotion elsewhere
 * finds it stale and stops the server as before. Only a guard with a rejoin, running in the same
 * process as the demotion, holds a hand-over; {@code baton pg-guard} does not.
 */
public final class FormerPrimaryGuard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FormerPrimaryGuard.class);

  /** The guards with a rejoin running in this process, by the server they guard. */
  private static final ConcurrentHashMap<String, FormerPrimaryGuard> RUNNING =
      new ConcurrentHashMap<>();

  /** What one check did. */
  public enum Outcome {
    /** This node is active: its server is its promotion action's business. */
    NODE_ACTIVE,
    /** No writer is published yet. */
    NO_WRITER,
    /** The local server is the published writer. */
    IS_WRITER,
    /**
     * The local server is still the published writer, but this node gave the role up and its
     * demotion made the server read-only: the guard holds it (a live rejoin record), so that the
     * successor does not STONITH it, and rejoins it once a new writer is published.
     */
    HANDED_OVER,
    /** The local server could not be reached; it is checked again when it is back. */
    UNREACHABLE,
    /** The local server is a standby. */
    STANDBY,
    /** The local server was a primary and is now read-only (no rejoin configured). */
    FENCED,
    /** The local server was a primary and has been rejoined as a standby of the writer. */
    REJOINED,
    /**
     * The local server went down during or after the rejoin this guard holds (a STONITH, a crash)
     * and was started again as a standby of the writer.
     */
    RESTARTED,
    /**
     * The rejoin (or the restart as a standby) of the local server failed, or failed before and is
     * not tried again yet: see {@link #rejoinFailure()}. A {@code pg_rewind} stopped part-way
     * leaves a data directory that no later rewind can repair; it needs a fresh base backup.
     */
    REJOIN_FAILED
  }

  /**
   * A streak of failed rejoins of the local server, from the first failure until a rejoin (or a
   * restart as a standby) succeeds or the server is seen as a standby.
   *
   * @param attempts failed attempts in this streak
   * @param since when the first of them failed
   * @param lastError the last failure's message (names the step and the server; no password)
   * @param nextAttemptAfter the earliest time the guard tries again
   */
  public record RejoinFailure(
      int attempts, Instant since, String lastError, Instant nextAttemptAfter) {}

  private final PostgresEndpoint local;
  private final WriterEndpoint writerEndpoint;
  private final BooleanSupplier isActive;
  private final BooleanSupplier holdsActivation;
  private final @Nullable PgRewindRejoin rejoin;
  private final Duration checkInterval;
  private final Duration fenceTimeout;
  private final PgConnections connections;
  private final String nodeId;
  private final RejoinHold hold;
  private final RejoinFailureStreak failures;
  private @Nullable ScheduledExecutorService executor;
  private KeyValueStore.@Nullable Watch watch;
  private volatile @Nullable Outcome lastOutcome;

  private FormerPrimaryGuard(Builder b) {
    // build() refused a builder without these three.
    this.local = Objects.requireNonNull(b.local, "local");
    this.writerEndpoint = Objects.requireNonNull(b.writerEndpoint, "writerEndpoint");
    this.isActive = Objects.requireNonNull(b.isActive, "isActive");
    this.holdsActivation = b.holdsActivation == null ? b.isActive : b.holdsActivation;
    this.rejoin = b.rejoin;
    this.checkInterval = b.checkInterval;
    this.fenceTimeout = b.fenceTimeout;
    this.nodeId = b.nodeId;
    this.hold =
        new RejoinHold(
            local,
            b.nodeId,
            b.rejoin == null ? null : new RejoinRecords(writerEndpoint),
            b.recordRefresh,
            b.linger);
    this.failures = new RejoinFailureStreak(local, b.rejoin, b.retryInitial, b.retryMax);
    this.connections =
        new PgConnections(
            b.user, b.password, Duration.ofSeconds(3), Duration.ofSeconds(30), "baton-guard");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link FormerPrimaryGuard}. */
  public static final class Builder {
    private @Nullable PostgresEndpoint local;
    private @Nullable WriterEndpoint writerEndpoint;
    private @Nullable BooleanSupplier isActive;
    private @Nullable BooleanSupplier holdsActivation;
    private @Nullable PgRewindRejoin rejoin;
    private Duration checkInterval = Duration.ofSeconds(5);
    private Duration fenceTimeout = Duration.ofSeconds(10);
    private String user = "postgres";
    private @Nullable String password;
    private String nodeId = "unknown";
    private Duration recordRefresh = Duration.ofSeconds(1);
    private Duration linger = Duration.ofSeconds(30);
    private Duration retryInitial = Duration.ofSeconds(2);
    private Duration retryMax = Duration.ofSeconds(60);

    private Builder() {}

    /**
     * How long the guard waits before it tries a failed rejoin again: {@code initial} after the
     * first failure, doubling after each further one up to {@code max} (defaults 2 s and 60 s),
     * back to {@code initial} once a rejoin succeeds. Checks in between leave the server as it is
     * (a primary among them is still fenced read-only).
     */
    public Builder rejoinRetryBackoff(Duration initial, Duration max) {
      if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "rejoinRetryBackoff needs 0 < initial <= max: " + initial + ", " + max);
      }
      this.retryInitial = initial;
      this.retryMax = max;
      return this;
    }

    /** This node's server. Required. */
    public Builder local(PostgresEndpoint local) {
      this.local = Objects.requireNonNull(local);
      return this;
    }

    /** Where the writer is published. Required. */
    public Builder writerEndpoint(WriterEndpoint writerEndpoint) {
      this.writerEndpoint = Objects.requireNonNull(writerEndpoint);
      return this;
    }

    /**
     * Whether this node holds or is taking the role now: it must be true while the node is
     * promoting, active or demoting (its promotion action owns the server then), so {@code
     * node::isActive}, false while promoting, is not enough. Prefer {@link #node(BatonNode)}.
     * Required unless {@link #node(BatonNode)} is given.
     */
    public Builder isActive(BooleanSupplier isActive) {
      this.isActive = Objects.requireNonNull(isActive);
      this.holdsActivation = null;
      return this;
    }

    /** The node this guard runs on: it leaves the server alone unless the node is a standby. */
    public Builder node(BatonNode node) {
      Objects.requireNonNull(node);
      this.nodeId = node.id();
      this.isActive =
          () -> {
            Role r = node.role();
            return r == Role.PROMOTING || r == Role.ACTIVE || r == Role.DEMOTING;
          };
      // A hand-over hold starts while the node is demoting: only a new activation ends it early.
      this.holdsActivation =
          () -> {
            Role r = node.role();
            return r == Role.PROMOTING || r == Role.ACTIVE;
          };
      return this;
    }

    /**
     * Whether the node holds an activation now (promoting or active; not demoting), for a test
     * without a {@link BatonNode}: {@link #node} sets it. Without it, {@link #isActive} stands in,
     * and a hand-over hold ends at the first check while the node is demoting.
     */
    Builder holdsActivation(BooleanSupplier holdsActivation) {
      this.holdsActivation = Objects.requireNonNull(holdsActivation);
      return this;
    }

    /** The id of the node this guard runs on, named in its rejoin record (set by {@link #node}). */
    public Builder nodeId(String nodeId) {
      this.nodeId = Objects.requireNonNull(nodeId);
      return this;
    }

    /**
     * How often the rejoin record is refreshed while the guard holds the server (default 1 s). A
     * promotion calls a record that did not move for its {@code rejoinStaleAfter} (default 5 s)
     * stale, so keep this well below that.
     */
    public Builder rejoinRecordRefresh(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("rejoinRecordRefresh must be positive: " + interval);
      }
      this.recordRefresh = interval;
      return this;
    }

    /**
     * How long the guard keeps holding the server (record refreshed, server restarted if it goes
     * down) after a rejoin has finished (default 30 s): longer than a promotion that saw the server
     * down during the rejoin takes to decide on its STONITH.
     */
    public Builder rejoinLinger(Duration linger) {
      this.linger = Objects.requireNonNull(linger);
      return this;
    }

    /** Rejoin a former primary as a standby (optional; without it, it is only made read-only). */
    public Builder rejoin(PgRewindRejoin rejoin) {
      this.rejoin = rejoin;
      return this;
    }

    public Builder checkInterval(Duration interval) {
      this.checkInterval = Objects.requireNonNull(interval);
      return this;
    }

    public Builder fenceTimeout(Duration timeout) {
      this.fenceTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** A superuser role on the local server (default postgres). */
    public Builder user(String user) {
      this.user = Objects.requireNonNull(user);
      return this;
    }

    /** Its password, or null. Never logged. */
    public Builder password(String password) {
      this.password = password;
      return this;
    }

    public FormerPrimaryGuard build() {
      if (local == null || writerEndpoint == null || isActive == null) {
        throw new IllegalStateException(
            "FormerPrimaryGuard needs local, writerEndpoint and node (or isActive)");
      }
      return new FormerPrimaryGuard(this);
    }
  }

  /** Starts checking on writer changes and periodically. */
  public synchronized FormerPrimaryGuard start() {
    if (executor == null) {
      executor =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "baton-former-primary-guard");
                t.setDaemon(true);
                return t;
              });
      watch = writerEndpoint.subscribe(executor, w -> runCheck());
      executor.scheduleWithFixedDelay(
          this::runCheck, 0, checkInterval.toMillis(), TimeUnit.MILLISECONDS);
      if (rejoin != null) {
        RUNNING.put(key(local), this);
      }
    }
    return this;
  }

  private static String key(PostgresEndpoint server) {
    return server.address().toLowerCase(Locale.ROOT);
  }

  /**
   * Called by this node's demotion once it has made {@code server}, the published {@code writer},
   * read-only: if a guard with a rejoin runs for it in this process, it holds the server ({@link
   * Outcome#HANDED_OVER}). Returns whether one does; the record is written when this returns.
   */
  static boolean handOver(PostgresEndpoint server, WriterEndpoint.Writer writer) {
    FormerPrimaryGuard guard = RUNNING.get(key(server));
    return guard != null && guard.hold.handOver(writer);
  }

  /** The outcome of the last check, or null before the first. */
  public @Nullable Outcome lastOutcome() {
    return lastOutcome;
  }

  /** The current streak of failed rejoins, if the last rejoin of the local server failed. */
  public Optional<RejoinFailure> rejoinFailure() {
    return Optional.ofNullable(failures.current());
  }

  private void runCheck() {
    try {
      checkNow();
    } catch (RuntimeException e) {
      LOG.warn("former-primary guard for {}: {}", local.address(), e.getMessage());
    }
  }

  /**
   * Checks once, now, on the calling thread. A change of outcome is logged once: a local server
   * that stops answering as a WARN (until it answers again the guard can neither fence nor rejoin
   * it), the others at INFO.
   */
  public synchronized Outcome checkNow() {
    Outcome o = check();
    Outcome before = lastOutcome;
    lastOutcome = o;
    if (o != before) {
      if (o == Outcome.UNREACHABLE) {
        LOG.warn(
            "former-primary guard for {}: the local server does not answer; checking again every"
                + " {} ms (it can neither be fenced nor rejoined until it is back)",
            local.address(),
            checkInterval.toMillis());
      } else if (o != Outcome.FENCED
          && o != Outcome.REJOINED
          && o != Outcome.RESTARTED
          && o != Outcome.REJOIN_FAILED) {
        // FENCED, REJOINED and REJOIN_FAILED log their own lines as they act.
        LOG.info(
            "former-primary guard for {}: {}{}",
            local.address(),
            o,
            before == null ? "" : " (was " + before + ")");
      }
    }
    return o;
  }

  private Outcome check() {
    // The writer read goes through Raft and can block through a leader change, during which this
    // node may win the role and promote the local server: judge only under the lock this node's
    // promotion action holds until it has published the writer.
    ReentrantLock lock = LocalServerLocks.of(local);
    try {
      lock.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Outcome.UNREACHABLE;
    }
    try {
      if (isActive.getAsBoolean()) {
        // Its promotion action owns the server now: a rejoin record must not keep other nodes'
        // promotions from stopping it once this node has lost the role and is cut off. The one
        // hold kept is the one this node's demotion has just started, while it is still demoting.
        if (!hold.handingOver() || holdsActivation.getAsBoolean()) {
          hold.release();
        }
        return Outcome.NODE_ACTIVE;
      }
      return checkLocked();
    } finally {
      lock.unlock();
    }
  }

  private Outcome checkLocked() {
    Optional<WriterEndpoint.Writer> writer = writerEndpoint.current();
    if (writer.isEmpty()) {
      return Outcome.NO_WRITER;
    }
    PostgresEndpoint writerAt = PostgresEndpoint.fromJdbcUrl(writer.get().jdbcUrl());
    if (writerAt.host().equals(local.host()) && writerAt.port() == local.port()) {
      return whileTheWriter(writer.get());
    }
    try (Connection c = connections.connectOrThrow(local)) {
      if (ServerProbes.inRecovery(c)) {
        // A standby again (an operator's re-clone, say): the failure streak is over.
        failures.succeeded();
        hold.releaseAfterLinger();
        return Outcome.STANDBY;
      }
      // Asked again now that the server is seen as a primary: a guard outside the node (baton
      // pg-guard) has no promotion lock to judge under, and the node may have started promoting
      // this server since the first look. (Under the lock, in the node's own process, it is the
      // same answer.)
      if (isActive.getAsBoolean()) {
        return Outcome.NODE_ACTIVE;
      }
      LOG.warn(
          "former-primary guard: {} is a primary but the writer is {} (token {}); fencing it",
          local.address(),
          writerAt.address(),
          writer.get().token());
      ReadOnlyFencing.makeReadOnly(
          connections, c, local, "former primary", fenceTimeout, "former-primary guard", LOG);
    } catch (SQLException e) {
      return restartIfHeld(writer.get(), writerAt);
    }
    if (rejoin == null) {
      return Outcome.FENCED;
    }
    if (failures.backingOff()) {
      return Outcome.REJOIN_FAILED; // fenced read-only above; the rejoin waits for its backoff
    }
    // Announced before the server is stopped: a promotion must not STONITH it from here on.
    hold.hold(writer.get());
    try {
      rejoin.rejoin(writerAt);
    } catch (RuntimeException e) {
      failures.failed(writerAt, e);
      return Outcome.REJOIN_FAILED;
    }
    failures.succeeded();
    hold.lingerFromNow();
    return Outcome.REJOINED;
  }

  /**
   * The local server is the published writer and this node is not active: it is left alone, and a
   * hold this node's demotion started ({@link #handOver}) is kept while the server is still a
   * read-only primary, for at most the linger.
   */
  private Outcome whileTheWriter(WriterEndpoint.Writer writer) {
    if (!hold.handingOver()) {
      hold.release();
      return Outcome.IS_WRITER;
    }
    boolean stillHandedOver;
    try (Connection c = connections.connectOrThrow(local)) {
      stillHandedOver = !ServerProbes.inRecovery(c) && ServerProbes.newSessionReadOnly(c);
    } catch (SQLException e) {
      stillHandedOver = false; // down: a promotion elsewhere stops it, as any unreachable peer
    }
    if (stillHandedOver && !isActive.getAsBoolean() && hold.handOver(writer)) {
      return Outcome.HANDED_OVER;
    }
    hold.release();
    return Outcome.IS_WRITER;
  }

  /**
   * The local server does not answer. If this guard holds it (its rejoin stopped it, and a STONITH
   * or a crash may have landed during or after the rejoin), or a predecessor on this node left a
   * rejoin record for it, it is started again as a standby; otherwise it is the operator's.
   */
  private Outcome restartIfHeld(WriterEndpoint.Writer writer, PostgresEndpoint writerAt) {
    if (rejoin == null) {
      return Outcome.UNREACHABLE;
    }
    if (!hold.heldOrLeftOver()) {
      return Outcome.UNREACHABLE;
    }
    if (failures.backingOff()) {
      return Outcome.REJOIN_FAILED;
    }
    if (failures.current() == null) {
      LOG.warn(
          "former-primary guard: {} does not answer during or after the rejoin this guard holds (a"
              + " STONITH or a crash?); starting it again as a standby of {}",
          local.address(),
          writerAt.address());
    }
    hold.hold(writer);
    try {
      rejoin.restartAsStandby(writerAt);
    } catch (RuntimeException e) {
      failures.failed(writerAt, e);
      return Outcome.REJOIN_FAILED;
    }
    failures.succeeded();
    hold.lingerFromNow();
    return Outcome.RESTARTED;
  }

  @Override
  public synchronized void close() {
    RUNNING.remove(key(local), this);
    if (watch != null) {
      watch.close();
    }
    if (executor != null) {
      executor.shutdownNow();
    }
    // A rejoin record held now is left to go stale: a promotion then treats the server as before.
    hold.close();
  }
}
