package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.Role;
import dev.baton.core.StandbyReason;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * This node's role and the activation it holds: the role, the current activation (its token and
 * term), its end signal (which completes with the {@link StandbyReason} the role was given up for),
 * and the {@link Lease} (its end), with the reads the application, the status and the metrics make
 * of them ({@link #isActive()}, {@link #activeContext()}, {@link #token()}, …). The transitions
 * that change them stay in {@link RoleController}; this class only holds and reads.
 *
 * <p><b>The lock.</b> {@link #lock()} is the one lock of the role: every write of the role, the
 * current activation, its end signal and the lease (start, renew) is made holding it, by the
 * controller's transitions and by {@link ActiveReport}, each over the same span as before this
 * class was cut out of the controller; a change of the role notifies it ({@link #awaitActive} waits
 * on it); {@link RoleController#addListener} registers a listener under it, so that a listener
 * hears the role it was added in exactly once. The reads take no lock: the role, the activation and
 * the end signal are volatile fields and the lease's end is one volatile value, so {@link
 * #isActive()} is a pure function of them at the instant of the call, and no thread has to run for
 * it to become false on time (docs/lease.md, step 5). Methods whose javadoc says "the caller holds
 * the lock" must be called holding it.
 */
public final class RoleState {
  private final Object lock = new Object();
  private final String nodeId;
  private final RaftNode raft;
  private final Lease lease;

  // Read without the lock; written under it.
  private volatile Role role;
  // Null before the first activation.
  private volatile RoleController.@Nullable Activation current;

  // The current activation's end signal (EndSignal), paired with it; replaced under the lock with
  // each activation, read without it.
  private volatile EndSignal endSignal = new EndSignal(null, new CompletableFuture<>());

  RoleState(String nodeId, boolean eligible, RaftNode raft, Lease lease) {
    this.nodeId = nodeId;
    this.raft = raft;
    this.lease = lease;
    this.role = eligible ? Role.STANDBY : Role.WITNESS;
  }

  /** The role's lock; see the class header for what it guards. */
  Object lock() {
    return lock;
  }

  Lease lease() {
    return lease;
  }

  // ---------------------------------------------------------------- what the application sees

  /**
   * True only while this node is active, its lease is valid and its Raft server still leads the
   * term of its activation, at the instant of the call. The last condition ends the role the moment
   * Raft leadership moves on (a forced election, a higher term seen), without waiting for the
   * controller to notice or for the lease to run out.
   */
  public boolean isActive() {
    RoleController.Activation a = current;
    return role == Role.ACTIVE && a != null && raft.leads(a.term()) && lease.isValid();
  }

  /** True while promoting or active with a valid lease in the term of the activation. */
  boolean holdsLease(long token) {
    RoleController.Activation a = current;
    Role r = role;
    return a != null
        && a.token() == token
        && (r == Role.ACTIVE || r == Role.PROMOTING)
        && raft.leads(a.term())
        && lease.isValid();
  }

  public Role role() {
    Role r = role;
    if (r == Role.ACTIVE && !isActive()) {
      // The lease ran out before the controller noticed (a pause): say so, do not claim ACTIVE.
      return Role.DEMOTING;
    }
    return r;
  }

  /** The token of the current activation while promoting or active, else 0. */
  public long token() {
    RoleController.Activation a = current;
    Role r = role;
    return a != null && (r == Role.ACTIVE || r == Role.PROMOTING) ? a.token() : 0;
  }

  public Duration leaseRemaining() {
    Role r = role;
    if (r != Role.ACTIVE && r != Role.PROMOTING) {
      return Duration.ZERO;
    }
    return lease.remaining();
  }

  public Optional<ActiveContext> activeContext() {
    // Without the lock (callers poll it): the activation and its end signal are read as one pair,
    // and only while that pair's activation is still the current one.
    EndSignal e = endSignal;
    RoleController.Activation a = e.activation();
    return isActive() && a != null && a == current
        ? Optional.of(context(a, e.view()))
        : Optional.empty();
  }

  /** Waits until this node is active; returns its context, or empty on timeout. */
  public Optional<ActiveContext> awaitActive(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (true) {
        Optional<ActiveContext> ctx = activeContext();
        if (ctx.isPresent()) {
          return ctx;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return Optional.empty();
        }
        lock.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 20)));
      }
    }
  }

  // ---------------------------------------------------------------- the controller's reads

  /** The role as set, without {@link #role()}'s look at the lease. */
  Role held() {
    return role;
  }

  /** The current activation: the last one taken, null before the first. */
  RoleController.@Nullable Activation current() {
    return current;
  }

  /** The current activation's end signal. */
  EndSignal endSignal() {
    return endSignal;
  }

  /**
   * Whether {@code a} is the current activation and this node ACTIVE. The caller holds the lock.
   */
  boolean isActiveAs(RoleController.Activation a) {
    return role == Role.ACTIVE && current == a;
  }

  /** Whether {@code a} is the current activation. The caller holds the lock. */
  boolean isCurrent(RoleController.Activation a) {
    return current == a;
  }

  // ---------------------------------------------------------------- writes, holding the lock

  /**
   * {@code a} is taken: it becomes the current activation, with a new end signal, PROMOTING. The
   * caller holds the lock.
   */
  void promoting(RoleController.Activation a) {
    current = a;
    endSignal = new EndSignal(a, new CompletableFuture<>());
    role = Role.PROMOTING;
  }

  /** Sets the role. The caller holds the lock. */
  void role(Role r) {
    role = r;
  }

  /**
   * Renews the lease of {@code a} from {@code sentAt}, if {@code a} still holds the role.
   * Lease.renew never revives a lease that has already lapsed, even by a round that was sent in
   * time: belief in one activation ends once and for all (the node re-activates with a new token
   * instead), which keeps isActive() simple. The caller holds the lock.
   */
  void renewIfHolding(RoleController.Activation a, long sentAt) {
    Role r = role;
    if (current == a && (r == Role.ACTIVE || r == Role.PROMOTING)) {
      lease.renew(sentAt);
    }
  }

  // ---------------------------------------------------------------- the context handed out

  /** The context of {@code a}, which is the current activation (and its end signal, its own). */
  ActiveContext context(RoleController.Activation a) {
    return context(a, endSignal.view());
  }

  private ActiveContext context(RoleController.Activation a, CompletionStage<StandbyReason> ended) {
    return new ActivationContext(this, nodeId, a, raft.stateMachine(), ended);
  }
}
