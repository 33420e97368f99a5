package dev.baton.core.internal;

import dev.baton.core.Activation;
import dev.baton.core.KvEvent;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watches registered on key prefixes of the replicated KV. The apply path collects the events
 * of an entry under the state machine's lock ({@link #collect}) and runs them after releasing it;
 * each watch delivers in apply order on its own serial view of its executor. A watch may also take
 * the activations ({@link #collectActivation}): they go through the same serial view, so they reach
 * it in log order with the key changes.
 */
final class KvWatches {
  // Logs under the state machine's name, as it did before the watches were a class of their own.
  private static final Logger LOG = LoggerFactory.getLogger(BatonStateMachine.class);

  private final CopyOnWriteArrayList<Registration> registrations = new CopyOnWriteArrayList<>();

  /**
   * Registers a watch; {@code replay} is delivered first, before any change collected after this
   * call (the caller holds the apply lock, so none is collected in between).
   */
  AutoCloseable register(
      String prefix, Executor executor, Consumer<KvEvent> listener, List<KvEvent> replay) {
    return register(prefix, 0, executor, listener, null, replay, List.of());
  }

  /**
   * Registers a watch that also takes the activations ({@code activations}, null for none); the
   * replays are delivered first, merged in log order (an activation's token is its log index).
   * Nothing at or below {@code afterRevision} (0: no bound) is delivered afterwards either: on a
   * node that has not applied that revision yet, the entries up to it arrive as live changes.
   */
  AutoCloseable register(
      String prefix,
      long afterRevision,
      Executor executor,
      Consumer<KvEvent> listener,
      @Nullable Consumer<Activation> activations,
      List<KvEvent> replay,
      List<Activation> replayActivations) {
    Registration registration =
        new Registration(prefix, afterRevision, executor, listener, activations);
    int k = 0;
    for (Activation a : replayActivations) {
      while (k < replay.size() && replay.get(k).revision() < a.token()) {
        registration.deliver(replay.get(k++));
      }
      registration.deliver(a);
    }
    replay.subList(k, replay.size()).forEach(registration::deliver);
    registrations.add(registration);
    return () -> registrations.remove(registration);
  }

  /** Adds to {@code events} one delivery of {@code activation} per watch that takes them. */
  void collectActivation(Activation activation, List<Runnable> events) {
    for (Registration w : registrations) {
      if (w.activations != null && activation.token() > w.afterRevision) {
        events.add(() -> w.deliver(activation));
      }
    }
  }

  /**
   * Adds to {@code events} one delivery of {@code event} per watch whose prefix {@code key} has.
   */
  void collect(String key, KvEvent event, List<Runnable> events) {
    for (Registration w : registrations) {
      if (key.startsWith(w.prefix) && event.revision() > w.afterRevision) {
        events.add(() -> w.deliver(event));
      }
    }
  }

  private static final class Registration {
    final String prefix;
    final long afterRevision;
    final SerialExecutor executor;
    final Consumer<KvEvent> listener;
    final @Nullable Consumer<Activation> activations;

    Registration(
        String prefix,
        long afterRevision,
        Executor executor,
        Consumer<KvEvent> listener,
        @Nullable Consumer<Activation> activations) {
      this.prefix = prefix;
      this.afterRevision = afterRevision;
      this.executor = new SerialExecutor(executor);
      this.listener = listener;
      this.activations = activations;
    }

    void deliver(Activation activation) {
      Consumer<Activation> to =
          Objects.requireNonNull(
              activations,
              "an activation goes only to a watch that takes them (collectActivation checks; the"
                  + " replay of one that does not is empty)");
      deliver(() -> to.accept(activation), "activations");
    }

    void deliver(KvEvent event) {
      deliver(() -> listener.accept(event), "prefix '" + prefix + "'");
    }

    private void deliver(Runnable call, String what) {
      executor.execute(
          () -> {
            try {
              call.run();
            } catch (RuntimeException e) {
              LOG.warn("watch listener for {} failed", what, e);
            }
          });
    }
  }
}
