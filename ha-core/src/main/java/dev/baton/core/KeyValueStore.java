package dev.baton.core;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The cluster's small linearizable key-value store, replicated through Raft with the role state.
 *
 * <p>Every operation is linearizable. A read on the leader is a read index with a fresh round: the
 * leader notes its commit index, asks its followers for a heartbeat, and answers from its state
 * once a majority has acknowledged a round sent after the read arrived and it has applied up to the
 * noted index, with no log entry and no fsync (a leader cut off right after a read cannot serve the
 * old value again: without such a round the read is refused). A read elsewhere (a standby, a leader
 * not ready yet) goes through the Raft log as an entry that changes nothing and is answered when it
 * applies. Writes are committed by a majority before they return. Any node may be asked; a standby
 * forwards to the leader. Each write gets a revision (the Raft log index that applied it), so
 * revisions only grow and a revision can serve as a version for compare-and-set.
 *
 * <p>Keys are 1 to 512 bytes of UTF-8 without control characters; values are at most 64 KiB.
 * Invalid input throws {@link IllegalArgumentException} naming the key and the rule. An operation
 * that cannot complete before the node's operation timeout throws {@link BatonException}; a write
 * that timed out may or may not have been applied (as with any remote write).
 *
 * <p>Keys under {@link #RESERVED_PREFIX} ({@code baton/}) hold what Baton's adapters publish (the
 * PostgreSQL writer record, say) and what follows them trusts. Members write them through this
 * interface; through the control API only clients named in {@code authorizedClients} (with TLS) may
 * write them, and every other write there is refused with PERMISSION_DENIED and logged.
 */
public interface KeyValueStore {

  /** The key prefix reserved for Baton's own records. */
  String RESERVED_PREFIX = "baton/";

  /** Maximum size of a value in bytes (64 KiB). */
  int MAX_VALUE_BYTES = 64 * 1024;

  /** Maximum size of a key in UTF-8 bytes. */
  int MAX_KEY_BYTES = 512;

  /** The entry under {@code key}, if there is one. */
  Optional<KvEntry> get(String key);

  /** Every entry whose key starts with {@code prefix}, in key order. */
  List<KvEntry> list(String prefix);

  /** Sets {@code key} to {@code value} and returns the new entry. */
  KvEntry put(String key, byte[] value);

  /**
   * Sets {@code key} to {@code update} only if its current value equals {@code expected} ({@code
   * null} meaning "absent").
   *
   * @return the new entry, or empty if the current value did not match (nothing changed)
   */
  Optional<KvEntry> compareAndSet(String key, byte @Nullable [] expected, byte[] update);

  /**
   * Sets {@code key} to {@code update} only if its current revision is {@code expectedRevision} (0
   * meaning "absent").
   *
   * @return the new entry, or empty if the revision did not match (nothing changed)
   */
  Optional<KvEntry> compareAndSetRevision(String key, long expectedRevision, byte[] update);

  /**
   * Removes {@code key}.
   *
   * @return whether the key existed
   */
  boolean delete(String key);

  /**
   * Calls {@code listener} on {@code executor} for every change, applied on this node, to a key
   * starting with {@code prefix}, in revision order. Events reflect what this node has applied; a
   * standby may see a change slightly after the leader.
   *
   * @return a handle that stops the watch when closed
   */
  Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener);

  /**
   * A watch that resumes: first, as puts in revision order, every key under {@code prefix} whose
   * revision is above {@code afterRevision} (its latest value; a key changed several times since is
   * delivered once), then every later change as {@link #watch(String, Executor, Consumer)} does. No
   * change falls between the two. Pass the revision of the last event seen; 0 means "from now", as
   * the other form.
   *
   * @throws WatchRevisionGoneException when this node cannot replay from {@code afterRevision}: a
   *     key was deleted after it, or the node restored a newer snapshot. Re-read with {@link #list}
   *     and watch from {@link WatchRevisionGoneException#oldestReplayable()}.
   */
  default Watch watch(
      String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
    // Added after 0.2.0: a store written against 0.2.0 that does not resume watches says so.
    throw new UnsupportedOperationException(
        getClass().getName() + " does not resume watches from a revision");
  }

  /** A watch on a key prefix; closing it stops the events. */
  interface Watch extends AutoCloseable {
    @Override
    void close();
  }
}
