package dev.baton.postgres;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * A stand-in for the cluster's Raft-backed {@link KeyValueStore} until ha-core's implementation is
 * on main: one JVM, one map, revisions from a counter, watch events delivered in revision order. It
 * lets the WriterEndpoint and HikariWriterPool tests exercise their own logic (compare-and-set,
 * token order, pool swapping); the real-cluster test replaces it once the core lands.
 */
class InMemoryKeyValueStore implements KeyValueStore {
  private final TreeMap<String, KvEntry> entries = new TreeMap<>();
  private final List<WatchImpl> watches = new CopyOnWriteArrayList<>();
  private long revision;

  @Override
  public synchronized Optional<KvEntry> get(String key) {
    return Optional.ofNullable(entries.get(key));
  }

  @Override
  public synchronized List<KvEntry> list(String prefix) {
    List<KvEntry> out = new ArrayList<>();
    for (Map.Entry<String, KvEntry> e : entries.tailMap(prefix, true).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      out.add(e.getValue());
    }
    return out;
  }

  @Override
  public synchronized KvEntry put(String key, byte[] value) {
    return write(key, value);
  }

  @Override
  public synchronized Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
    KvEntry cur = entries.get(key);
    boolean matches =
        expected == null ? cur == null : cur != null && Arrays.equals(cur.value(), expected);
    return matches ? Optional.of(write(key, update)) : Optional.empty();
  }

  @Override
  public synchronized Optional<KvEntry> compareAndSetRevision(
      String key, long expectedRevision, byte[] update) {
    KvEntry cur = entries.get(key);
    long have = cur == null ? 0 : cur.revision();
    return have == expectedRevision ? Optional.of(write(key, update)) : Optional.empty();
  }

  @Override
  public synchronized boolean delete(String key) {
    KvEntry cur = entries.remove(key);
    if (cur == null) {
      return false;
    }
    revision++;
    notifyWatches(new KvEvent(KvEvent.Type.DELETE, cur, revision));
    return true;
  }

  private KvEntry write(String key, byte[] value) {
    revision++;
    KvEntry cur = entries.get(key);
    KvEntry e = new KvEntry(key, value, revision, cur == null ? revision : cur.createRevision());
    entries.put(key, e);
    notifyWatches(new KvEvent(KvEvent.Type.PUT, e, revision));
    return e;
  }

  private void notifyWatches(KvEvent event) {
    for (WatchImpl w : watches) {
      if (event.entry().key().startsWith(w.prefix)) {
        w.executor.execute(
            () -> {
              if (!w.closed) {
                w.listener.accept(event);
              }
            });
      }
    }
  }

  @Override
  public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
    WatchImpl w = new WatchImpl(prefix, executor, listener);
    watches.add(w);
    return w;
  }

  private final class WatchImpl implements Watch {
    final String prefix;
    final Executor executor;
    final Consumer<KvEvent> listener;
    volatile boolean closed;

    WatchImpl(String prefix, Executor executor, Consumer<KvEvent> listener) {
      this.prefix = prefix;
      this.executor = executor;
      this.listener = listener;
    }

    @Override
    public void close() {
      closed = true;
      watches.remove(this);
    }
  }
}
