package dev.baton.core.internal;

import dev.baton.core.KvEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watches registered on key prefixes of the replicated KV. The apply path collects the events
 * of an entry under the state machine's lock ({@link #collect}) and runs them after releasing it;
 * each watch delivers in apply order on its own serial view of its executor.
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
    Registration registration = new Registration(prefix, executor, listener);
    replay.forEach(registration::deliver);
    registrations.add(registration);
    return () -> registrations.remove(registration);
  }

  /**
   * Adds to {@code events} one delivery of {@code event} per watch whose prefix {@code key} has.
   */
  void collect(String key, KvEvent event, List<Runnable> events) {
    for (Registration w : registrations) {
      if (key.startsWith(w.prefix)) {
        events.add(() -> w.deliver(event));
      }
    }
  }

  private static final class Registration {
    final String prefix;
    final SerialExecutor executor;
    final Consumer<KvEvent> listener;

    Registration(String prefix, Executor executor, Consumer<KvEvent> listener) {
      this.prefix = prefix;
      this.executor = new SerialExecutor(executor);
      this.listener = listener;
    }

    void deliver(KvEvent event) {
      executor.execute(
          () -> {
            try {
              listener.accept(event);
            } catch (RuntimeException e) {
              LOG.warn("watch listener for prefix '{}' failed", prefix, e);
            }
          });
    }
  }
}
