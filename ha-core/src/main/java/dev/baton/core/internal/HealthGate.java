package dev.baton.core.internal;

import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.KeyValueStore;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.StandbyReason;
import dev.baton.core.Ticker;
import io.micrometer.core.instrument.Counter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Health gating between the {@link HealthMonitor} and the {@link RoleController}: what the node's
 * checks say, what every member last published about its own health, and how often health may move
 * the role (docs/lease.md, "Health gating").
 *
 * <p>How health travels: each node publishes its own health as a replicated KV record, {@code
 * baton/health/<nodeId>}, written through its own node on every change of eligible/handOver and
 * once at start when it has a leader. The leader that picks a hand-over target reads the records
 * from the same replicated state that moves the role; no node probes another's checks. A member
 * without a record counts as healthy (a node without checks never writes one).
 *
 * <p>Role moves caused by health are at most one per {@link HealthPolicy#minMoveInterval()}: every
 * node notes, on its own monotonic clock, when it applied the {@code Resign} of an active that
 * handed over because of its health (and the mover notes its own move), and an active hands over
 * for health only when that long has passed since. An activation although unhealthy (the fallback
 * when no healthy peer took the role) is such a move too: it is noted by the node that made it, so
 * the role does not leave it again for health before the interval has passed.
 *
 * <p>Records can lag behind the checks. A fallback activation because leadership came back untaken
 * proves that the records which named a healthy peer were wrong; until this node is eligible again
 * it does not pick a hand-over target on a record written at or before that activation, only on a
 * newer one (the peer published since) or on none (a peer without checks).
 *
 * <p>With no checks the gate is inert: always eligible, never hands over, writes nothing (only
 * removes a record left by an earlier run that had checks).
 */
public final class HealthGate implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HealthGate.class);

  /** The prefix of the health records, one per member. */
  public static final String PREFIX = KeyValueStore.RESERVED_PREFIX + "health/";

  /** Note shown in status while an active that should hand over finds no healthy peer. */
  public static final String NO_HEALTHY_PEER = "stays active: no healthy peer";

  /**
   * Note shown while an active that activated although unhealthy, because leadership came back
   * untaken, finds no peer whose record is newer than its activation: the older records were just
   * proved to lag.
   */
  public static final String NO_FRESH_HEALTHY_PEER =
      "stays active: no healthy peer with a health record newer than this activation (the older"
          + " records lagged: leadership came back untaken)";

  /**
   * How the note begins while an active that should hand over stays because maintenance mode is on
   * (the note goes on with who set it and why).
   */
  public static final String MAINTENANCE_HOLDS =
      "stays active: unhealthy, but maintenance mode is on and suspends health moves";

  private static final int MAX_REASON = 200;

  private final NodeConfig config;
  private final RaftNode raft;
  private final MonotonicClock clock;
  private final HealthPolicy policy;
  // Null when the node has no health checks.
  private final @Nullable HealthMonitor monitor;
  private final Counter moves;
  private final KvStore kv;
  private final Semaphore dirty = new Semaphore(0);
  private final Object lock = new Object();

  // Guarded by lock.
  private boolean moved;
  private long lastMoveNanos;
  // After a fallback activation because leadership came back untaken: records written at or below
  // this log index (the activation's token) lagged, and name no hand-over target. 0: none.
  private long laggedUpTo;
  private String note = "";

  private volatile boolean running;
  private @Nullable Thread publisher;

  public HealthGate(
      NodeConfig config,
      RaftNode raft,
      MonotonicClock clock,
      Ticker ticker,
      NodeMetrics metrics,
      List<HealthCheck> checks,
      HealthPolicy policy) {
    this.config = config;
    this.raft = raft;
    this.clock = clock;
    this.policy = policy;
    this.kv = new KvStore(raft);
    this.monitor =
        checks.isEmpty()
            ? null
            : new HealthMonitor(config.self().id(), checks, policy, ticker, h -> dirty.release());
    this.moves = metrics.healthMoves();
    if (monitor != null) {
      for (HealthCheck c : checks) {
        String name = c.settings().name();
        metrics.healthCheck(name, () -> checkUp(name));
      }
    }
    raft.stateMachine()
        .addObserver(
            (command, result, index, term) -> {
              if (command.hasResign()
                  && StandbyReason.UNHEALTHY.name().equals(command.getResign().getReason())) {
                recordMove();
              }
            });
  }

  /** Starts the checks and the publisher of this node's record. */
  public void start() {
    running = true;
    if (monitor != null) {
      monitor.start();
    }
    dirty.release();
    publisher = new Thread(this::publish, "baton-health-publish-" + config.self().id());
    publisher.setDaemon(true);
    publisher.start();
  }

  /** Whether this node runs any check. */
  public boolean enabled() {
    return monitor != null;
  }

  /** Whether this node may become active as far as its own checks go. */
  public boolean eligible() {
    return monitor == null || monitor.health().eligible();
  }

  /** Whether this node, active, should hand the role over. */
  public boolean handOver() {
    return monitor != null && monitor.health().handOver();
  }

  /** The down checks and their reasons, for log lines. */
  String downReasons() {
    return monitor == null ? "" : monitor.health().downReasons();
  }

  /**
   * The first of {@code peers} (eligible members, best first) whose published record says eligible
   * (or that never published) and that answered this leader within an election timeout, so that a
   * transfer to it can succeed.
   */
  Optional<Member> healthyTarget(List<Member> peers) {
    // Only the leader hears from every peer: a node that no longer leads has no target.
    Map<String, PeerContact> contacts = raft.isLeader() ? raft.peerContacts() : Map.of();
    long lagged;
    synchronized (lock) {
      lagged = laggedUpTo;
    }
    for (Member m : peers) {
      PeerContact contact = contacts.get(m.id());
      if (contact != null
          && contact.up()
          && memberEligible(m.id())
          && !recordLagged(m.id(), lagged)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  private boolean recordLagged(String id, long laggedUpTo) {
    if (laggedUpTo <= 0) {
      return false;
    }
    OptionalLong revision = raft.stateMachine().localRevision(PREFIX + id);
    return revision.isPresent() && revision.getAsLong() <= laggedUpTo;
  }

  /**
   * This node has just activated although unhealthy, as activation {@code token}. That is a role
   * move caused by health: none follows before minMoveInterval. If it activated because leadership
   * came back untaken ({@code recordsLagged}), the records that named a healthy peer were wrong:
   * none written at or before the activation names a hand-over target until this node is eligible
   * again ({@link #trustRecords()}). A fallback for want of any healthy peer keeps what an earlier
   * one set aside: those records have not changed since they were proved to lag.
   */
  void activatedAlthoughUnhealthy(long token, boolean recordsLagged) {
    recordMove();
    if (recordsLagged) {
      synchronized (lock) {
        laggedUpTo = token;
      }
      LOG.warn(
          "{}: activated although unhealthy with token {}: the health records that named a healthy"
              + " peer lagged; only a record newer than this activation names a hand-over target",
          config.self().id(),
          token);
    }
  }

  /** This node is eligible again (or activated healthy): every record names targets again. */
  void trustRecords() {
    synchronized (lock) {
      laggedUpTo = 0;
    }
  }

  /** Whether records at or before a fallback activation are set aside as lagging. */
  boolean distrustsLaggedRecords() {
    synchronized (lock) {
      return laggedUpTo > 0;
    }
  }

  /** A member's eligibility as it last published it; true without a record. */
  boolean memberEligible(String id) {
    return raft.stateMachine()
        .localValue(PREFIX + id)
        .map(v -> parseEligible(new String(v, StandardCharsets.UTF_8)))
        .orElse(true);
  }

  /** Whether a health-driven move may start now (none within minMoveInterval). */
  boolean moveAllowed(long now) {
    synchronized (lock) {
      return !moved || now - lastMoveNanos >= policy.minMoveInterval().toNanos();
    }
  }

  /** How long until a health-driven move may start, in ms (0 if it may now). */
  long moveWaitMillis(long now) {
    synchronized (lock) {
      if (!moved) {
        return 0;
      }
      long left = policy.minMoveInterval().toNanos() - (now - lastMoveNanos);
      return Math.max(0, TimeUnit.NANOSECONDS.toMillis(left));
    }
  }

  /** This node, active, is about to hand the role over because of its health. */
  void moving(String target) {
    recordMove();
    moves.increment();
    LOG.warn(
        "{}: unhealthy ({}): handing the role to {} through the planned switch path",
        config.self().id(),
        downReasons(),
        target);
  }

  private void recordMove() {
    synchronized (lock) {
      moved = true;
      lastMoveNanos = clock.nanoTime();
    }
  }

  /** Sets what health gating is doing now; logged each time it changes. */
  void note(String now) {
    String was;
    synchronized (lock) {
      was = note;
      note = now;
    }
    if (!was.equals(now)) {
      if (now.isEmpty()) {
        LOG.info("{}: health gating: no longer \"{}\"", config.self().id(), was);
      } else {
        LOG.warn("{}: health gating: {} ({})", config.self().id(), now, downReasons());
      }
    }
  }

  /** For status. */
  public NodeStatus.Health status(List<Member> members) {
    Map<String, Boolean> byMember = new LinkedHashMap<>();
    for (Member m : members) {
      byMember.put(m.id(), memberEligible(m.id()));
    }
    String n;
    synchronized (lock) {
      n = note;
    }
    if (monitor == null) {
      return new NodeStatus.Health(false, true, false, List.of(), byMember, n);
    }
    HealthMonitor.Health h = monitor.health();
    List<NodeStatus.Check> checks = new ArrayList<>();
    for (HealthMonitor.CheckState c : h.checks()) {
      checks.add(
          new NodeStatus.Check(
              c.name(), c.demotes(), c.up(), c.probed(), c.lastHealthy(), c.lastReason()));
    }
    return new NodeStatus.Health(true, h.eligible(), h.handOver(), checks, byMember, n);
  }

  private boolean checkUp(String name) {
    HealthMonitor m =
        Objects.requireNonNull(
            monitor, "a check's gauge is registered only when there are checks, so a monitor");
    for (HealthMonitor.CheckState c : m.health().checks()) {
      if (c.name().equals(name)) {
        return c.up();
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- the record

  /** The record's text: operators read it with {@code kv get baton/health/<node>}. */
  static String encode(HealthMonitor.Health h) {
    StringBuilder b = new StringBuilder();
    b.append("eligible=").append(h.eligible()).append('\n');
    b.append("handOver=").append(h.handOver()).append('\n');
    for (HealthMonitor.CheckState c : h.checks()) {
      String reason = c.lastReason().replaceAll("[\\r\\n\\t]+", " ");
      if (reason.length() > MAX_REASON) {
        reason = reason.substring(0, MAX_REASON) + "...";
      }
      b.append("check.")
          .append(c.name())
          .append('=')
          .append(c.up() ? "up" : "down")
          .append(reason.isEmpty() ? "" : ": " + reason)
          .append('\n');
    }
    return b.toString();
  }

  /**
   * Why member {@code nodeId} may not become active, from the health record it published as this
   * node has applied it: its down checks with their reasons; empty when it is eligible or never
   * published.
   */
  public static Optional<String> publishedIneligibility(BatonStateMachine sm, String nodeId) {
    Optional<byte[]> value = sm.localValue(PREFIX + nodeId);
    if (value.isEmpty()) {
      return Optional.empty();
    }
    String record = new String(value.get(), java.nio.charset.StandardCharsets.UTF_8);
    if (parseEligible(record)) {
      return Optional.empty();
    }
    List<String> down = new java.util.ArrayList<>();
    for (String line : record.split("\n")) {
      if (line.startsWith("check.") && line.contains("=down")) {
        down.add(line.substring("check.".length()));
      }
    }
    return Optional.of(down.isEmpty() ? "not eligible" : String.join("; ", down));
  }

  static boolean parseEligible(String record) {
    for (String line : record.split("\n")) {
      if (line.startsWith("eligible=")) {
        return !line.substring("eligible=".length()).trim().equals("false");
      }
    }
    return true;
  }

  private void publish() {
    String key = PREFIX + config.self().id();
    // What this node last wrote successfully: null before the first write of this run, so that
    // the record is written once at start whatever the local state says.
    String written = null;
    boolean changedSinceWrite = true;
    while (running) {
      try {
        boolean woken = dirty.tryAcquire(1, TimeUnit.SECONDS);
        dirty.drainPermits();
        changedSinceWrite |= woken;
        if (!running) {
          return;
        }
        if (raft.leaderId().isEmpty()) {
          continue;
        }
        if (monitor == null) {
          // No checks: only a record left by an earlier run with checks is removed.
          if (raft.stateMachine().localValue(key).isPresent()) {
            kv.delete(key);
          }
          continue;
        }
        HealthMonitor.Health h = monitor.health();
        String want = encode(h);
        if (written != null && !changedSinceWrite) {
          continue;
        }
        if (want.equals(written)) {
          changedSinceWrite = false;
          continue;
        }
        kv.put(key, want.getBytes(StandardCharsets.UTF_8));
        written = want;
        changedSinceWrite = false;
        LOG.debug("{}: published health: {}", config.self().id(), want.replace('\n', ' '));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        // No leader yet, a timeout: try again shortly.
        changedSinceWrite = true;
        LOG.debug("{}: publishing health failed: {}", config.self().id(), e.toString());
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  @Override
  public void close() {
    running = false;
    dirty.release();
    if (monitor != null) {
      monitor.close();
    }
    if (publisher != null) {
      publisher.interrupt();
    }
  }
}
