package dev.baton.postgres;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "A rejoin of this server is in progress", kept in the cluster's replicated key-value store under
 * {@code baton/postgres/<name>/rejoining/<host>:<port>}: written by the {@link FormerPrimaryGuard}
 * beside the server before it stops it for {@code pg_rewind}, refreshed while it holds the server
 * (the rejoin and a linger after it) and deleted when it lets go. A promotion does not STONITH a
 * peer whose record is live (issue 28, item 6).
 *
 * <p><b>Liveness never compares two machines' clocks.</b> Each refresh is a new write, so it gets a
 * new revision (the Raft log index that applied it). A reader calls the record live only when it
 * has itself seen the revision change within {@code staleAfter} of its own monotonic clock ({@code
 * System.nanoTime}): a record it sees for the first time is watched until it moves or {@code
 * staleAfter} passes. A record left by a guard that crashed stops moving and is stale; the worst a
 * leftover can do is delay a promotion by {@code staleAfter}.
 */
final class RejoinRecords {
  /** What a reader concluded about a peer's record. */
  enum State {
    /** No record: nobody is rejoining the server. */
    NONE,
    /** The record moved within the reader's window: its guard holds the server. */
    LIVE,
    /** The record did not move for the reader's whole window: its guard is gone. */
    STALE
  }

  private record Seen(long revision, long atNanos) {}

  private final KeyValueStore kv;
  private final String prefix;
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final AtomicLong beat = new AtomicLong();

  RejoinRecords(WriterEndpoint writer) {
    this.kv = writer.kv();
    this.prefix = "baton/postgres/" + writer.name() + "/rejoining/";
  }

  String key(PostgresEndpoint server) {
    return prefix + server.host() + ":" + server.port();
  }

  /** Writes (or refreshes) the record: every call is a new write with a new revision. */
  void write(PostgresEndpoint server, String node, WriterEndpoint.Writer writer) {
    String value =
        "node="
            + node
            + "\nwriter="
            + writer.jdbcUrl()
            + "\ntoken="
            + writer.token()
            + "\nbeat="
            + beat.incrementAndGet()
            + "\n";
    kv.put(key(server), value.getBytes(StandardCharsets.UTF_8));
  }

  Optional<KvEntry> read(PostgresEndpoint server) {
    return kv.get(key(server));
  }

  void delete(PostgresEndpoint server) {
    kv.delete(key(server));
  }

  /**
   * Judges {@code server}'s record by this reader's own monotonic clock: live when its revision
   * changed within {@code staleAfter}; a record not seen moving yet is polled until it moves or
   * {@code staleAfter} has passed since this reader first saw its revision.
   */
  State judge(PostgresEndpoint server, Duration staleAfter) {
    String key = key(server);
    long window = staleAfter.toNanos();
    Optional<KvEntry> e = kv.get(key);
    if (e.isEmpty()) {
      seen.remove(key);
      return State.NONE;
    }
    long now = System.nanoTime();
    Seen before = seen.get(key);
    if (before != null && before.revision() != e.get().revision()) {
      seen.put(key, new Seen(e.get().revision(), now));
      if (now - before.atNanos() <= window) {
        return State.LIVE;
      }
      before = null; // it moved, but not within a window this reader watched: watch it now
    }
    Seen first = before != null ? before : new Seen(e.get().revision(), now);
    seen.put(key, first);
    while (System.nanoTime() - first.atNanos() <= window) {
      try {
        Thread.sleep(Math.max(10, Math.min(200, staleAfter.toMillis() / 10))); // bounded poll
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        return State.STALE;
      }
      Optional<KvEntry> again = kv.get(key);
      if (again.isEmpty()) {
        seen.remove(key);
        return State.NONE;
      }
      if (again.get().revision() != first.revision()) {
        seen.put(key, new Seen(again.get().revision(), System.nanoTime()));
        return State.LIVE;
      }
    }
    return State.STALE;
  }
}
