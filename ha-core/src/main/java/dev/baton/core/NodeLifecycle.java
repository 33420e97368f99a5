package dev.baton.core;

import dev.baton.core.internal.KvStore;
import dev.baton.core.internal.NodeConfig;
import dev.baton.core.internal.NodeRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link BatonNode}'s lifecycle: built, started, closed (through {@code close()}, a crash in a
 * fault-injection test, or on its own account), and the start and close sequencing around its
 * {@link NodeRuntime}. Not an API: the node delegates to it and keeps the public methods.
 *
 * <p>Start and close are serialised on this object (they were on the node before it was cut out).
 */
final class NodeLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(BatonNode.class);

  private enum State {
    LATENT,
    STARTED,
    CLOSED
  }

  private final NodeConfig config;
  private final NodeRuntime.Collaborators parts;
  private final ExecutorService defaultListenerExecutor;
  // Set by start() once the parts exist (before the Raft server starts, so kv() answers then).
  private volatile @Nullable NodeRuntime runtime;
  private volatile State state = State.LATENT;
  // Completed, with why, when the node stops by itself rather than through close().
  private final CompletableFuture<String> stoppedItself = new CompletableFuture<>();
  // Listeners added before start(), registered with the builder's when it starts. Guarded by this.
  private final List<Map.Entry<RoleListener, Executor>> addedBeforeStart = new ArrayList<>();

  NodeLifecycle(NodeConfig config, NodeRuntime.Collaborators parts) {
    this.config = config;
    this.parts = parts;
    this.defaultListenerExecutor =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "baton-listeners-" + config.self().id());
              t.setDaemon(true);
              return t;
            });
  }

  /** See {@link BatonNode#start()}. */
  synchronized void start() {
    if (state != State.LATENT) {
      throw new IllegalStateException("node " + config.self().id() + " was already " + state);
    }
    NodeRuntime r;
    try {
      // Claims the data directory and creates the parts (the quiet period starts here) ...
      r = new NodeRuntime(config, parts.plusListeners(addedBeforeStart), this::stopItself);
      addedBeforeStart.clear();
      runtime = r;
      // ... waits it out, then starts the Raft server and the rest (see NodeRuntime for the
      // order). Each closes what it created before it throws.
      r.start();
    } catch (RuntimeException e) {
      runtime = null;
      state = State.CLOSED;
      defaultListenerExecutor.shutdownNow();
      throw e;
    }
    state = State.STARTED;
    r.started(() -> state == State.STARTED);
  }

  /** See {@link BatonNode#close()}. */
  synchronized void close() {
    if (state == State.CLOSED) {
      return;
    }
    State was = state;
    state = State.CLOSED;
    NodeRuntime r = runtime;
    if (was == State.STARTED && r != null) {
      r.close();
    }
    defaultListenerExecutor.shutdown();
  }

  /**
   * Stops the Raft server at once without giving anything up, as a crash would; the in-memory
   * belief is frozen as it was. Does nothing unless the node is started.
   */
  synchronized void crash() {
    if (state != State.STARTED) {
      return;
    }
    state = State.CLOSED;
    NodeRuntime r = runtime;
    if (r != null) {
      r.crash();
    }
    defaultListenerExecutor.shutdownNow();
  }

  /**
   * Stops the node on its own account: closes it, then completes {@link #stoppedItself()}. Called
   * when its Raft server stopped under it, and when the log holds a committed entry in a format
   * newer than this release reads: the state machine has stopped applying, so this node stops
   * (gracefully: an active demotes first) rather than run on a state that no longer matches its
   * peers'. Upgrading it and starting it again on the same data directory resumes from that entry
   * (COMPATIBILITY.md).
   */
  private void stopItself(String reason) {
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      LOG.error("node {}: STOPPING: {}", config.self().id(), reason);
      close();
    }
    stoppedItself.complete(reason);
  }

  /** See {@link BatonNode#stoppedItself()}. */
  CompletionStage<String> stoppedItself() {
    return stoppedItself.minimalCompletionStage();
  }

  /** The running parts, or null before {@code start()} has created them or after it failed. */
  @Nullable NodeRuntime runtime() {
    return runtime;
  }

  /**
   * The running parts, for a call that needs a started node.
   *
   * @throws IllegalStateException if the node is not started yet
   */
  NodeRuntime started() {
    if (state == State.LATENT) {
      throw new IllegalStateException("node " + config.self().id() + " is not started");
    }
    NodeRuntime r = runtime;
    if (r == null) {
      throw new IllegalStateException(
          "node " + config.self().id() + " did not start: its start() failed, so it is closed");
    }
    return r;
  }

  /** The KV store, from the moment {@code start()} has created the Raft server. */
  KvStore kv() {
    NodeRuntime r = runtime;
    KvStore k = r == null ? null : r.kv();
    if (k == null) {
      started();
      throw new IllegalStateException("node " + config.self().id() + " is starting");
    }
    return k;
  }

  /**
   * See {@link BatonNode#addListener(RoleListener, Executor)}: before {@code start()} the listener
   * is kept and registered when the node starts, so it hears the node's first role.
   */
  void addListener(RoleListener listener, Executor executor) {
    synchronized (this) {
      if (runtime == null && state == State.LATENT) {
        addedBeforeStart.add(Map.entry(listener, executor));
        return;
      }
    }
    started().controller().addListener(listener, executor);
  }

  /** See {@link BatonNode#removeListener(RoleListener)}; before {@code start()} it is forgotten. */
  void removeListener(RoleListener listener) {
    synchronized (this) {
      if (runtime == null && state == State.LATENT) {
        addedBeforeStart.removeIf(e -> e.getKey() == listener);
        return;
      }
    }
    started().controller().removeListener(listener);
  }

  /** Where listeners added without an executor are called: the node's own listener thread. */
  Executor listenerExecutor() {
    return defaultListenerExecutor;
  }
}
