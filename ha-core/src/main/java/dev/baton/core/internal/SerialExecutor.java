package dev.baton.core.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on an executor the caller chose (which may have
 * many threads). Listeners rely on this to see role changes and watch events in order.
 */
public final class SerialExecutor implements Executor {
  private final Executor delegate;
  private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
  private boolean running;

  public SerialExecutor(Executor delegate) {
    this.delegate = delegate;
  }

  @Override
  public void execute(Runnable task) {
    synchronized (queue) {
      queue.addLast(task);
      if (running) {
        return;
      }
      running = true;
    }
    delegate.execute(this::drain);
  }

  private void drain() {
    while (true) {
      Runnable next;
      synchronized (queue) {
        next = queue.pollFirst();
        if (next == null) {
          running = false;
          return;
        }
      }
      next.run();
    }
  }
}
