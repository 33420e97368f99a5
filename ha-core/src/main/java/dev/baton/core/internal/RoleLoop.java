package dev.baton.core.internal;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The role controller's thread: it runs the controller's step, then sleeps until something wakes it
 * or its tick passes. Only the scheduling lives here; what a step does to the role is {@link
 * RoleController}'s. Logs under the controller's name, as it always did.
 */
final class RoleLoop {
  private static final Logger LOG = LoggerFactory.getLogger(RoleController.class);

  private final String selfId;
  private final Runnable step;
  private final BooleanSupplier busy;
  private final long tickMillis;
  private final long idleTickMillis;
  private final Semaphore wake = new Semaphore(0);

  private volatile boolean running;
  private @Nullable Thread thread;

  /**
   * @param step one step of the controller, run on this loop's thread
   * @param busy whether the loop must tick every {@code tickMillis} (see {@link #nextWaitMillis()})
   */
  RoleLoop(NodeConfig config, Runnable step, BooleanSupplier busy) {
    this.selfId = config.self().id();
    this.step = step;
    this.busy = busy;
    this.tickMillis = Math.max(5, Math.min(50, config.timing().renewInterval().toMillis() / 3));
    this.idleTickMillis =
        Math.max(tickMillis, Math.min(500, config.timing().electionTimeoutMin().toMillis() / 4));
  }

  /** The tick of a loop that holds the role or leads, in milliseconds (at most 50). */
  long tickMillis() {
    return tickMillis;
  }

  void start() {
    running = true;
    thread = new Thread(this::loop, "baton-role-" + selfId);
    thread.setDaemon(true);
    thread.start();
  }

  /** Whether the loop runs: from {@link #start()} until {@link #stop()}. */
  boolean running() {
    return running;
  }

  /** Makes the loop look again now instead of at its next tick. Any thread. */
  void wake() {
    wake.release();
  }

  /** Stops the loop and waits (bounded) for its thread, unless called on it. */
  void stop() {
    running = false;
    wake.release();
    if (thread != null && thread != Thread.currentThread()) {
      try {
        thread.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void loop() {
    while (running) {
      try {
        step.run();
      } catch (RuntimeException e) {
        LOG.warn("{}: role step failed", selfId, e);
      }
      try {
        wake.tryAcquire(nextWaitMillis(), TimeUnit.MILLISECONDS);
        wake.drainPermits();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * How long the loop may sleep when nothing wakes it. While this node holds the role, leads, or is
   * between roles, every {@code tickMillis} (at most 50 ms): the lease's renewal and the demotion
   * reserve (step 5 of docs/lease.md) and the leader's time-outs are judged on it. A follower that
   * holds no role has nothing to do on a clock: every change it must act on wakes it (a leader
   * change, this node becoming leader or ready, an applied entry, close), and Ratis marks this
   * server leader before it tells the state machine; so it only checks every {@code idleTickMillis}
   * (a quarter of {@code electionTimeoutMin}, 200 ms by default) as a safety net. Nothing in the
   * lease depends on this loop's rate: {@code isActive()} is computed at the instant of the call.
   */
  private long nextWaitMillis() {
    return busy.getAsBoolean() ? tickMillis : idleTickMillis;
  }
}
