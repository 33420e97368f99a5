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
  boolean heldOrLeftOver() {
    return heldFor != null || records().read(local).isPresent();
  }

  /** The rejoin finished: the hold lasts for the linger from now. */
  void lingerFromNow() {
    lingerUntil = System.nanoTime() + linger.toNanos();
  }

  /** Announces the hold (before the server is stopped) and keeps its record fresh. */
  void hold(WriterEndpoint.Writer writer) {
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
          "former-primary guard: {} is held for its rejoin (record {}, refreshed every {} ms)",
          local.address(),
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
  void releaseAfterLinger() {
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

  void release() {
    if (heldFor == null) {
      return;
    }
    heldFor = null;
    if (refresher != null) {
      refresher.cancel(false);
      refresher = null;
    }
    records().delete(local);
    LOG.info("former-primary guard: {} is no longer held; rejoin record deleted", local.address());
  }

  /** Stops the refreshes; a record held now is left to go stale. */
  void close() {
    if (heartbeat != null) {
      heartbeat.shutdownNow();
    }
  }
}
