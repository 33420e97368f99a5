package dev.baton.core.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Logs refusals at WARN, at most once a minute per key (a peer and what it was refused), with the
 * number of refusals not logged since: an outsider retrying in a loop must not flood the log, and
 * the first attempt must never go unnoticed.
 */
final class RefusalLog {
  static final long INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
  private static final int MAX_KEYS = 10_000;

  private final Logger log;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  private static final class Entry {
    volatile long lastLogged;
    final AtomicLong suppressed = new AtomicLong();

    Entry(long lastLogged) {
      this.lastLogged = lastLogged;
    }
  }

  RefusalLog(Logger log) {
    this.log = log;
  }

  void refused(String key, Supplier<String> message) {
    long now = System.nanoTime();
    if (entries.size() > MAX_KEYS) {
      entries.clear();
    }
    Entry fresh = new Entry(now);
    Entry e = entries.putIfAbsent(key, fresh);
    if (e == null) {
      log.warn(message.get());
      return;
    }
    synchronized (e) {
      if (now - e.lastLogged < INTERVAL_NANOS) {
        e.suppressed.incrementAndGet();
        return;
      }
      e.lastLogged = now;
    }
    long more = e.suppressed.getAndSet(0);
    log.warn(
        message.get()
            + (more > 0 ? " (" + more + " more like it in the last minute, not logged)" : ""));
  }
}
