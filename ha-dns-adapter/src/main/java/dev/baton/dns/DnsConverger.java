package dev.baton.dns;

import dev.baton.core.PromotionAction;
import dev.baton.core.StepContext;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link DnsSwitch} that does not hold the activation back: {@code mode: converge} of the
 * sidecar's {@code dns} step (issue 32).
 *
 * <p>{@link #promote} returns at once. A task beside the role then runs the switch's
 * compare-and-set on the fence record with this activation's token, and its verification (with the
 * switch's quorum), retrying with exponential backoff between {@code initialBackoff} and {@code
 * maxBackoff} until the name holds and is verified. It stops when the name holds, when this
 * activation's lease is no longer valid ({@link StepContext#isLeaseValid()}), at {@link #demote},
 * or when the fence holds a higher token (a newer active owns the name). The compare-and-set is
 * what keeps a stale active from moving the name back, whatever its timing: a late attempt carries
 * the old token and fails the server's prerequisite (invariant I3).
 *
 * <p>While the name is not yet moved, {@link #pending()} is true and the gauge {@code
 * baton_dns_name_pending{step}} is 1; once it holds, {@link #converged()} is true and {@code
 * baton_dns_converged{step}} is 1. Both are 0 on a node that is not active. Each failed attempt is
 * logged at WARN with the reason and the next retry. {@link #status()} gives the same with the time
 * since when and the last error, for the sidecar's {@code /status}.
 *
 * <p>Once converged, it keeps checking, every {@code recheckInterval} (60 s by default), that the
 * verification servers still show the names and the token; a record edited by hand (or by anything
 * else) since is put back by the same compare-and-set, with the same retries, without waiting for
 * the next activation. A check that finds the name as it should be sends no update.
 *
 * <p>The trade-off: the node is active, and its writers fenced-write, before clients' DNS answers
 * lead to it. That is the point during a DNS outage or the loss of a region's name server; a
 * deployment that must never be active before the name moves uses a plain (blocking) {@link
 * DnsSwitch} step instead.
 *
 * <p>Why this class is over 450 lines: it is one job, one activation's retry loop (attempt, back
 * off, recheck, stop), and the state it reports ({@link #status()}, the gauges) is that loop's
 * state under the same lock; about 90 of its lines are Javadoc. The DNS work itself is {@link
 * DnsSwitch}'s.
 */
public final class DnsConverger implements PromotionAction, MeterBinder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DnsConverger.class);

  private final DnsSwitch dns;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration recheckInterval;
  private @Nullable ScheduledExecutorService executor; // guarded by this
  private boolean closed; // guarded by this
  private @Nullable Run current; // guarded by this

  private DnsConverger(
      DnsSwitch dns, Duration initialBackoff, Duration maxBackoff, Duration recheckInterval) {
    this.dns = dns;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.recheckInterval = recheckInterval;
  }

  /**
   * The default pause between two checks of a converged name: {@value #DEFAULT_RECHECK_SECONDS} s.
   */
  public static final long DEFAULT_RECHECK_SECONDS = 60;

  /**
   * The thread that runs the attempts, started at the first promotion (guarded by this). Never
   * asked once closed: close() stops the current run first, and nothing is scheduled for a stopped
   * run.
   */
  private ScheduledExecutorService executor() {
    if (closed) {
      throw new IllegalStateException("dns: the converger of " + dns.names() + " is closed");
    }
    ScheduledExecutorService e = executor;
    if (e == null) {
      e =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "baton-dns-converge-" + dns.name());
                t.setDaemon(true);
                return t;
              });
      executor = e;
    }
    return e;
  }

  /**
   * Converges with {@code dns}, retrying after {@code initialBackoff}, doubling up to {@code
   * maxBackoff}.
   *
   * @throws IllegalArgumentException naming the setting, for a non-positive backoff or a maximum
   *     below the initial one
   */
  public static DnsConverger of(DnsSwitch dns, Duration initialBackoff, Duration maxBackoff) {
    return of(dns, initialBackoff, maxBackoff, Duration.ofSeconds(DEFAULT_RECHECK_SECONDS));
  }

  /**
   * Converges with {@code dns}, retrying after {@code initialBackoff}, doubling up to {@code
   * maxBackoff}; once converged, checks the name again every {@code recheckInterval} and puts it
   * back when it no longer points here.
   *
   * @throws IllegalArgumentException naming the setting, for a non-positive backoff or interval or
   *     a maximum below the initial one
   */
  public static DnsConverger of(
      DnsSwitch dns, Duration initialBackoff, Duration maxBackoff, Duration recheckInterval) {
    if (recheckInterval == null || recheckInterval.isNegative() || recheckInterval.isZero()) {
      throw new IllegalArgumentException(
          "convergeRecheckInterval: must be positive, was " + recheckInterval);
    }
    if (dns == null) {
      throw new IllegalArgumentException("dns: required");
    }
    if (initialBackoff == null || initialBackoff.isNegative() || initialBackoff.isZero()) {
      throw new IllegalArgumentException(
          "convergeBackoff: must be positive, was " + initialBackoff);
    }
    if (maxBackoff == null || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException(
          "convergeMaxBackoff: must be at least convergeBackoff ("
              + initialBackoff
              + "), was "
              + maxBackoff);
    }
    return new DnsConverger(dns, initialBackoff, maxBackoff, recheckInterval);
  }

  /** The switch this converger runs. */
  public DnsSwitch dnsSwitch() {
    return dns;
  }

  @Override
  public String name() {
    return dns.name();
  }

  /**
   * Starts converging the names to this node with {@code context.token()} and returns at once. A
   * repeat with the same token while that run is still going or done changes nothing.
   */
  @Override
  public synchronized void promote(StepContext context) {
    long token = DnsSwitch.requirePositive(context.token());
    if (current != null && current.token == token && !current.stopped) {
      return;
    }
    stopCurrent();
    if (closed) {
      LOG.warn("dns: closed; not moving {} to this node (token {})", dns.names(), token);
      return;
    }
    Run run = new Run(token, context.nodeId(), context::isLeaseValid);
    current = run;
    LOG.info(
        "dns: {} will follow this node (token {}) in the background: the activation does not wait"
            + " for the name",
        dns.names(),
        token);
    run.future = executor().schedule(() -> attempt(run), 0, TimeUnit.MILLISECONDS);
  }

  /** Stops converging; the records stay (see {@link DnsSwitch#demote}). */
  @Override
  public synchronized void demote(StepContext context) {
    stopCurrent();
  }

  /** Reads the fence and every name on the primary and the verification servers. */
  @Override
  public void preflight() throws Exception {
    dns.preflight();
  }

  /** Whether this node is active and its names are not yet pointed at it and verified. */
  public synchronized boolean pending() {
    return current != null && !current.stopped && !current.converged;
  }

  /** Whether this node's current run has moved and verified the names. */
  public synchronized boolean converged() {
    return current != null && current.converged;
  }

  /** Where the name stands on this node. */
  public enum State {
    /** Not active (or not yet): nothing to converge. */
    IDLE,
    /** Active, the name not yet moved to this node and verified; retrying. */
    PENDING,
    /** Active, the name points at this node, verified; checked again every recheck interval. */
    CONVERGED,
    /** Active, but gave up: a newer active owns the fence ({@link Status#lastError()} says). */
    STOPPED
  }

  /**
   * A snapshot for status pages.
   *
   * @param step the plan step's name
   * @param names the names this node points at itself
   * @param state where the name stands
   * @param token the activation's token (0 when {@link State#IDLE})
   * @param sinceEpochMillis wall-clock time at which {@code state} began (for display only; 0 when
   *     idle)
   * @param forMillis how long {@code state} has lasted, on the monotonic clock
   * @param attempts compare-and-set attempts in this activation
   * @param lastError the last failed attempt's reason in this activation, empty when none
   * @param lastErrorEpochMillis wall-clock time of that failure (0 when none)
   */
  public record Status(
      String step,
      List<String> names,
      State state,
      long token,
      long sinceEpochMillis,
      long forMillis,
      int attempts,
      String lastError,
      long lastErrorEpochMillis) {}

  /** Where the name stands now. */
  public synchronized Status status() {
    Run r = current;
    if (r == null) {
      return new Status(dns.name(), dns.names(), State.IDLE, 0, 0, 0, 0, "", 0);
    }
    State state = r.stopped ? State.STOPPED : r.converged ? State.CONVERGED : State.PENDING;
    return new Status(
        dns.name(),
        dns.names(),
        state,
        r.token,
        r.stateSinceMillis,
        (System.nanoTime() - r.stateSinceNanos) / 1_000_000,
        r.attempts,
        r.lastError == null ? "" : r.lastError,
        r.lastErrorMillis);
  }

  /** Registers {@code baton_dns_converged{step}} and {@code baton_dns_name_pending{step}}. */
  @Override
  public void bindTo(MeterRegistry registry) {
    bindTo(registry, Tags.empty());
  }

  /**
   * Registers the two gauges with {@code tags} beside {@code step}: the sidecar passes {@code
   * baton_cluster} and {@code baton_node}, as every node series carries (docs/metrics.md).
   */
  public void bindTo(MeterRegistry registry, Iterable<Tag> tags) {
    Gauge.builder("baton.dns.converged", this, c -> c.converged() ? 1 : 0)
        .tags(tags)
        .tag("step", dns.name())
        .description("1 while this node is active and its DNS names point at it, verified")
        .register(registry);
    Gauge.builder("baton.dns.name.pending", this, c -> c.pending() ? 1 : 0)
        .tags(tags)
        .tag("step", dns.name())
        .description("1 while this node is active and its DNS names are not yet moved to it")
        .register(registry);
  }

  @Override
  public synchronized void close() {
    stopCurrent();
    closed = true;
    if (executor != null) {
      executor.shutdownNow();
      executor = null;
    }
  }

  private void stopCurrent() {
    if (current != null) {
      current.stopped = true;
      if (current.future != null) {
        current.future.cancel(true);
      }
      current = null;
    }
  }

  private void attempt(Run run) {
    if (run.stopped) {
      return;
    }
    if (!run.leaseValid.getAsBoolean()) {
      LOG.info(
          "dns: stopped moving {} to this node: token {} no longer holds the role",
          dns.names(),
          run.token);
      synchronized (this) {
        run.stopped = true;
      }
      return;
    }
    run.attempts++;
    try {
      Deadline deadline = Deadline.in(dns.operationTimeout());
      FenceState replaced = dns.cas().compareAndSet(run.token, run.nodeId, true, deadline, LOG);
      List<Endpoint> verified = dns.verifier().verify(run.token, deadline.min(dns.verifyTimeout()));
      synchronized (this) {
        run.converged = !run.stopped;
        run.stateChanged();
        if (!run.stopped) {
          run.future =
              executor()
                  .schedule(() -> recheck(run), recheckInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
      LOG.info(
          "dns: {} now point at this node (fence {} {} -> token={}, verified on {}) after {}"
              + " attempt{}, {} ms after the activation",
          dns.names(),
          dns.fenceRecordName(),
          replaced == null ? "already" : replaced.describe(),
          run.token,
          verified,
          run.attempts,
          run.attempts == 1 ? "" : "s",
          (System.nanoTime() - run.startNanos) / 1_000_000);
    } catch (DnsStaleTokenException e) {
      synchronized (this) {
        run.stopped = true;
        run.failed(e);
        run.stateChanged();
      }
      LOG.warn(
          "dns: stopped moving {} to this node: a newer active owns the name ({})",
          dns.names(),
          e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      if (run.stopped) {
        return;
      }
      synchronized (this) {
        run.failed(e);
      }
      Duration wait = run.backoff;
      run.backoff =
          run.backoff.multipliedBy(2).compareTo(maxBackoff) > 0
              ? maxBackoff
              : run.backoff.multipliedBy(2);
      LOG.warn(
          "dns: name not yet moved: {} still not pointed at this node (token {}, attempt {}): {};"
              + " retrying in {} ms",
          dns.names(),
          run.token,
          run.attempts,
          e.getMessage(),
          wait.toMillis());
      synchronized (this) {
        if (!run.stopped) {
          run.future =
              executor().schedule(() -> attempt(run), wait.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }
  }

  /**
   * A converged run's periodic check: the verification servers still show the names and the token,
   * or the compare-and-set runs again (with its retries) to put them back.
   */
  private void recheck(Run run) {
    if (run.stopped) {
      return;
    }
    if (!run.leaseValid.getAsBoolean()) {
      LOG.info(
          "dns: stopped checking {}: token {} no longer holds the role", dns.names(), run.token);
      synchronized (this) {
        run.stopped = true;
      }
      return;
    }
    try {
      dns.verifier().verify(run.token, Deadline.in(dns.verifyTimeout()));
      synchronized (this) {
        if (!run.stopped) {
          run.future =
              executor()
                  .schedule(() -> recheck(run), recheckInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      synchronized (this) {
        if (run.stopped) {
          return;
        }
        run.converged = false;
        run.stateChanged();
        run.failed(e);
        run.backoff = initialBackoff;
      }
      LOG.warn(
          "dns: name not pointed at this node any more: {} (token {}) no longer verify: {};"
              + " putting it back",
          dns.names(),
          run.token,
          e.getMessage());
      attempt(run);
    }
  }

  @Override
  public String toString() {
    return "DnsConverger["
        + dns
        + ", backoff "
        + initialBackoff.toMillis()
        + ".."
        + maxBackoff.toMillis()
        + " ms, recheck every "
        + recheckInterval.toMillis()
        + " ms]";
  }

  /** One activation's convergence. */
  private final class Run {
    final long token;
    final String nodeId;
    final BooleanSupplier leaseValid;
    final long startNanos = System.nanoTime();
    volatile boolean stopped;
    volatile boolean converged;
    volatile @Nullable ScheduledFuture<?> future;
    volatile int attempts;
    Duration backoff = initialBackoff;
    volatile long stateSinceMillis = System.currentTimeMillis();
    volatile long stateSinceNanos = startNanos;
    volatile @Nullable String lastError;
    volatile long lastErrorMillis;

    void stateChanged() {
      stateSinceMillis = System.currentTimeMillis();
      stateSinceNanos = System.nanoTime();
    }

    void failed(Exception e) {
      lastError = e.getMessage();
      lastErrorMillis = System.currentTimeMillis();
    }

    Run(long token, String nodeId, BooleanSupplier leaseValid) {
      this.token = token;
      this.nodeId = nodeId;
      this.leaseValid = leaseValid;
    }
  }
}
