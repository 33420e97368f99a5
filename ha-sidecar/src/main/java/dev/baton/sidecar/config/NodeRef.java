package dev.baton.sidecar.config;

import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The node a configuration's steps belong to, known only once the sidecar has built it: a step is
 * read before the node exists, but a PostgreSQL step publishes the writer in the node's key-value
 * store. {@link #kv()} hands such a step a store that reaches the node's own once it is {@linkplain
 * #bind bound}; the sidecar binds it before it starts the node.
 */
public final class NodeRef {
  private final AtomicReference<BatonNode> node = new AtomicReference<>();
  private final AtomicReference<KeyValueStore> client = new AtomicReference<>();
  private final AtomicReference<MeterRegistry> registry = new AtomicReference<>();

  /** The registry the sidecar serves on /metrics; a step's service registers its gauges there. */
  public void bindMeterRegistry(MeterRegistry r) {
    if (!registry.compareAndSet(null, r)) {
      throw new IllegalStateException("the configuration's meter registry is already bound");
    }
  }

  /** The bound registry, or a private one (nothing serves it) when the sidecar bound none. */
  MeterRegistry meterRegistry() {
    MeterRegistry r = registry.get();
    return r != null ? r : new SimpleMeterRegistry();
  }

  /** Binds the node; once only. */
  public void bind(BatonNode n) {
    if (!node.compareAndSet(null, n)) {
      throw new IllegalStateException("the configuration's node is already bound");
    }
  }

  /**
   * Binds, instead of a node, a store that reaches the cluster as a client does ({@code baton
   * pg-guard}, which runs a step's former-primary guard beside PostgreSQL and not beside a node);
   * once only.
   */
  public void bindClientStore(KeyValueStore store) {
    if (node.get() != null || !client.compareAndSet(null, store)) {
      throw new IllegalStateException("the configuration's node or store is already bound");
    }
  }

  /** Whether the bound node is active now (false before it is bound). */
  public boolean isActive() {
    BatonNode n = node.get();
    return n != null && n.isActive();
  }

  private KeyValueStore store() {
    BatonNode n = node.get();
    if (n == null) {
      KeyValueStore c = client.get();
      if (c != null) {
        return c;
      }
      throw new IllegalStateException("the sidecar has not built its node yet");
    }
    return n.kv();
  }

  /** The node's key-value store, reached on each call. */
  public KeyValueStore kv() {
    return new KeyValueStore() {
      @Override
      public Optional<KvEntry> get(String key) {
        return store().get(key);
      }

      @Override
      public List<KvEntry> list(String prefix) {
        return store().list(prefix);
      }

      @Override
      public KvEntry put(String key, byte[] value) {
        return store().put(key, value);
      }

      @Override
      public Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
        return store().compareAndSet(key, expected, update);
      }

      @Override
      public Optional<KvEntry> compareAndSetRevision(
          String key, long expectedRevision, byte[] update) {
        return store().compareAndSetRevision(key, expectedRevision, update);
      }

      @Override
      public boolean delete(String key) {
        return store().delete(key);
      }

      @Override
      public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
        return store().watch(prefix, executor, listener);
      }

      @Override
      public Watch watch(
          String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
        return store().watch(prefix, afterRevision, executor, listener);
      }
    };
  }
}
