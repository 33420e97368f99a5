package dev.baton.core.internal;

import dev.baton.core.ActiveContext;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's {@link RoleListener}s. Each is called on its own serial view of its executor,
 * so it hears its events one at a time and in the order the role changed; a listener that throws is
 * logged and keeps its registration.
 *
 * <p>{@link RoleController} calls {@link #add}, {@link #active} and {@link #standby} under its
 * lock, so a listener added during a change hears either the state before it and then the change,
 * or the state after it, never the change twice or not at all.
 */
final class RoleListeners {
  // Logs under the controller's name, as it did before the registry was a class of its own.
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final CopyOnWriteArrayList<Registration> registrations = new CopyOnWriteArrayList<>();

  /**
   * Registers {@code listener}; it hears at once {@code onActive(activeNow)}, or {@code
   * onStandby(STARTING)} if {@code activeNow} is null.
   */
  void add(RoleListener listener, Executor executor, @Nullable ActiveContext activeNow) {
    Registration r = new Registration(listener, new SerialExecutor(executor));
    registrations.add(r);
    if (activeNow != null) {
      r.active(activeNow);
    } else {
      r.standby(StandbyReason.STARTING);
    }
  }

  void remove(RoleListener listener) {
    registrations.removeIf(r -> r.listener == listener);
  }

  void active(ActiveContext ctx) {
    registrations.forEach(l -> l.active(ctx));
  }

  void standby(StandbyReason reason) {
    registrations.forEach(l -> l.standby(reason));
  }

  private static final class Registration {
    final RoleListener listener;
    final SerialExecutor executor;

    Registration(RoleListener listener, SerialExecutor executor) {
      this.listener = listener;
      this.executor = executor;
    }

    void active(ActiveContext ctx) {
      executor.execute(
          () -> {
            try {
              listener.onActive(ctx);
            } catch (RuntimeException e) {
              LOG.warn("role listener onActive failed", e);
            }
          });
    }

    void standby(StandbyReason reason) {
      executor.execute(
          () -> {
            try {
              listener.onStandby(reason);
            } catch (RuntimeException e) {
              LOG.warn("role listener onStandby failed", e);
            }
          });
    }
  }
}
