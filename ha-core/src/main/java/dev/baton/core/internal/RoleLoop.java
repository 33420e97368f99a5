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

  private final long overrunNanos;

  private volatile boolean running;
  private @Nullable Thread thread;
  private @Nullable Thread watch;
  // When the step under way started (System.nanoTime()), 0 between steps; the watch reads it.
  private volatile long stepStarted;

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
    // A step can wait for a leadership transfer (up to twice electionTimeoutMax and a second)
    // after waiting for its resignation to apply (up to electionTimeoutMax): only beyond both is
    // it overrunning.
    this.overrunNanos =
        Math.max(
            TimeUnit.SECONDS.toNanos(5),
            config.timing().electionTimeoutMax().multipliedBy(5).toNanos());
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
    watch = new Thread(this::watch, "baton-role-watch-" + selfId);
    watch.setDaemon(true);
    watch.start();
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
    Thread w = watch;
    if (w != null) {
      w.interrupt();
    }
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
      stepStarted = System.nanoTime() | 1;
      try {
        step.run();
      } catch (RuntimeException e) {
        LOG.warn("{}: role step failed", selfId, e);
      } catch (Error e) {
        // Nothing else runs the role: a thread that died here would leave a node that neither
        // takes nor gives up the role, silently. Say it loudly and go on stepping.
        LOG.error("{}: role step failed with an error; the role loop goes on", selfId, e);
      } finally {
        stepStarted = 0;
      }
      try {
        wake.tryAcquire(nextWaitMillis(), TimeUnit.MILLISECONDS);
        wake.drainPermits();
      } catch (InterruptedException e) {
        // Only stop() ends the loop; an interrupt from elsewhere is said, not obeyed.
        if (running) {
          LOG.warn("{}: role loop interrupted while running; it goes on", selfId);
        }
      }
    }
  }

  /**
   * Once a second, whether the step under way has run longer than five times the maximum election
   * timeout (at least 5 s): a step takes milliseconds, or seconds when it hands leadership over (a
   * transfer and the resignation before it), and one that hangs leaves the node without anyone to
   * take or give up the role. The stack of the role thread is logged once per such step, so that
   * the hang can be diagnosed from the log alone; its end is logged too.
   */
  private void watch() {
    long reported = 0;
    while (running) {
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        return;
      }
      long started = stepStarted;
      Thread t = thread;
      if (reported != 0 && started != reported) {
        LOG.info("{}: the overrunning role step has ended", selfId);
        reported = 0;
      }
      if (started == 0 || t == null) {
        continue;
      }
      long ran = System.nanoTime() - started;
      if (ran < overrunNanos || reported == started) {
        continue;
      }
      reported = started;
      StringBuilder stack = new StringBuilder();
      for (StackTraceElement e : t.getStackTrace()) {
        stack.append("\n\tat ").append(e);
      }
      LOG.warn(
          "{}: a role step has run for {} ms (more than {} ms); thread {} is {}:{}",
          selfId,
          TimeUnit.NANOSECONDS.toMillis(ran),
          TimeUnit.NANOSECONDS.toMillis(overrunNanos),
          t.getName(),
          t.getState(),
          stack);
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
