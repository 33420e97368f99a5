package dev.baton.postgres;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FormerPrimaryGuard}'s hold on its server during and after a rejoin: the {@linkplain
 * RejoinRecords rejoin record} that keeps a promotion elsewhere from STONITHing it, written before
 * the server is stopped, refreshed on a thread of its own while the rejoin runs and for a linger
 * after it, and deleted when the hold ends.
 *
 * <p>A hold also starts when this node hands the role over ({@link #handOver}): its demotion made
 * the server read-only, and the hold keeps the successor from powering off a server that its guard
 * will rejoin once the successor publishes its writer. Such a hold lasts at most the linger unless
 * a rejoin takes it over.
 *
 * <p>The demotion (on the plan's thread) and the guard's checks both use it: its methods are
 * synchronized.
 */
final class RejoinHold {
  // The guard's own logger: these lines are part of its checks.
  private static final Logger LOG = LoggerFactory.getLogger(FormerPrimaryGuard.class);

  private final PostgresEndpoint local;
  private final String nodeId;
  private final @Nullable RejoinRecords records; // null: no rejoin configured, nothing is ever held
  private final Duration recordRefresh;
  private final Duration linger;
  private @Nullable ScheduledExecutorService heartbeat;
  private @Nullable ScheduledFuture<?> refresher;
  private volatile WriterEndpoint.@Nullable Writer heldFor;
  private long lingerUntil;
  private boolean leftoverChecked;
  // The last writer this node handed over while its server was that writer, and when it first
  // did; whether the hold now is that hand-over's (started by a demotion, not by a rejoin).
  private WriterEndpoint.@Nullable Writer handedOver;
  private long handedOverAt;
  private boolean handOverHolding;

  RejoinHold(
      PostgresEndpoint local,
      String nodeId,
      @Nullable RejoinRecords records,
      Duration recordRefresh,
      Duration linger) {
    this.local = local;
    this.nodeId = nodeId;
    this.records = records;
    this.recordRefresh = recordRefresh;
    this.linger = linger;
  }

  /**
   * Whether the server is held now, or a predecessor on this node left a rejoin record for it: a
   * server down then is to be started again as a standby.
   */
  synchronized boolean heldOrLeftOver() {
    return heldFor != null || records().read(local).isPresent();
  }

  /** The rejoin finished: the hold lasts for the linger from now. */
  synchronized void lingerFromNow() {
    lingerUntil = System.nanoTime() + linger.toNanos();
  }

  /** Announces the hold (before the server is stopped) and keeps its record fresh. */
  synchronized void hold(WriterEndpoint.Writer writer) {
    handOverHolding = false; // a rejoin holds it now, for as long as the rejoin needs
    start(writer, "for its rejoin");
  }

  /**
   * This node's demotion made its server, the published {@code writer}, read-only: holds it so that
   * the successor's promotion does not STONITH it, for at most the linger from the first call for
   * this writer; the guard rejoins it once a new writer is published. Returns false (and lets go)
   * once the linger is over.
   */
  synchronized boolean handOver(WriterEndpoint.Writer writer) {
    if (heldFor != null && !handOverHolding) {
      return true; // a rejoin holds it already
    }
    long now = System.nanoTime();
    if (!writer.equals(handedOver)) {
      handedOver = writer;
      handedOverAt = now;
    } else if (now - handedOverAt > linger.toNanos()) {
      if (heldFor != null) {
        LOG.info(
            "former-primary guard: {} was handed over more than {} ms ago and no new writer has"
                + " been published; no longer holding it",
            local.address(),
            linger.toMillis());
        release();
      }
      return false;
    }
    handOverHolding = true;
    start(
        writer,
        "after its node handed the role over (read-only, still the published writer, token "
            + writer.token()
            + "); a promotion elsewhere does not STONITH it, and it is rejoined as a standby of the"
            + " next writer");
    return true;
  }

  /** Whether the hold was started by a hand-over and no rejoin has taken it over. */
  synchronized boolean handingOver() {
    return heldFor != null && handOverHolding;
  }

  private void start(WriterEndpoint.Writer writer, String why) {
    heldFor = writer;
    records().write(local, nodeId, writer);
    if (refresher == null) {
      if (heartbeat == null) {
        heartbeat =
            Executors.newSingleThreadScheduledExecutor(
                r -> {
                  Thread t = new Thread(r, "baton-rejoin-record");
                  t.setDaemon(true);
                  return t;
                });
      }
      long every = recordRefresh.toMillis();
      refresher =
          heartbeat.scheduleWithFixedDelay(this::refresh, every, every, TimeUnit.MILLISECONDS);
      LOG.info(
          "former-primary guard: {} is held {} (record {}, refreshed every {} ms)",
          local.address(),
          why,
          records().key(local),
          every);
    }
  }

  private void refresh() {
    WriterEndpoint.Writer w = heldFor;
    if (w == null) {
      return;
    }
    try {
      records().write(local, nodeId, w);
    } catch (RuntimeException e) {
      LOG.warn(
          "former-primary guard: cannot refresh the rejoin record of {}: {}",
          local.address(),
          e.getMessage());
    }
  }

  /** The records: only a guard with a rejoin configured holds a server, so only it gets here. */
  private RejoinRecords records() {
    return Objects.requireNonNull(records, "no rejoin is configured: no server is held");
  }

  /** The server answers as a standby: let go of it once the linger is over. */
  synchronized void releaseAfterLinger() {
    if (records == null) {
      return;
    }
    if (heldFor != null) {
      if (System.nanoTime() - lingerUntil >= 0) {
        release();
      }
    } else if (!leftoverChecked) {
      // Once per guard: a record left by a predecessor whose rejoin finished (the server is a
      // standby, nothing is held) is deleted, not read on every check under the promotion's lock.
      if (records.read(local).isPresent()) {
        records.delete(local);
      }
      leftoverChecked = true;
    }
  }

  synchronized void release() {
    if (heldFor == null) {
      return;
    }
    heldFor = null;
    handOverHolding = false;
    if (refresher != null) {
      refresher.cancel(false);
      refresher = null;
    }
    records().delete(local);
    LOG.info("former-primary guard: {} is no longer held; rejoin record deleted", local.address());
  }

  /** Stops the refreshes; a record held now is left to go stale. */
  synchronized void close() {
    if (heartbeat != null) {
      heartbeat.shutdownNow();
    }
  }
}
