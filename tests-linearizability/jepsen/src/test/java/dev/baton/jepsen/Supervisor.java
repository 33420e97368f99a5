package dev.baton.jepsen;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The harness as a node's supervisor (systemd {@code Restart=on-failure}, a Kubernetes pod): a node
 * app that exits by itself with {@link dev.baton.jepsen.node.NodeApp#SELF_STOP_STATUS} (its node
 * stopped itself) is started again after {@link #delay}, and each such self-stop is recorded, so a
 * run neither goes on with a dead node that the cluster's configuration still counts nor hides that
 * a node stopped.
 *
 * <p>Only that status is restarted: a SIGKILL by the nemesis (137) and a node that refused to start
 * (the wipe nemesis expects it to stay down) are not. A node the nemesis holds ({@link
 * Child#restartUnlessHeld}) is left to the nemesis.
 */
final class Supervisor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

  /** Phases recorded in the schedule (kind {@code null}, source {@code supervisor}). */
  static final String SELF_STOP = "self-stop";

  static final String RESTARTED = "supervisor-restart";

  /** One supervised node app. */
  interface Child {
    String id();

    /**
     * The exit status of its last run and something that tells that exit from the next one (e.g.
     * the container's finish time); {@code null} while it runs.
     */
    Exit exit();

    /** Why it last stopped by itself, as it recorded it ("" when it did not say). */
    String stopReason();

    /**
     * Starts it again, unless the nemesis holds it (then returns false), atomically with respect to
     * the nemesis taking hold of it.
     */
    boolean restartUnlessHeld();
  }

  record Exit(int status, String id) {}

  /** A self-stop: the node, when it was seen exited (System.nanoTime), and why. */
  record SelfStop(String node, long seen, String reason) {}

  interface Recorder {
    void record(String phase, String detail);
  }

  private final List<? extends Child> children;
  private final Duration delay;
  private final Duration poll;
  private final Recorder recorder;
  private final List<SelfStop> selfStops = Collections.synchronizedList(new ArrayList<>());
  // Per child: the exit last recorded, when it was seen, and the exit last restarted.
  private final Map<String, String> reported = new HashMap<>();
  private final Map<String, String> restarted = new HashMap<>();
  private final Map<String, Long> seen = new HashMap<>();
  private volatile boolean running = true;
  private final Thread thread;

  Supervisor(List<? extends Child> children, Duration delay, Duration poll, Recorder recorder) {
    this.children = List.copyOf(children);
    this.delay = delay;
    this.poll = poll;
    this.recorder = recorder;
    this.thread = new Thread(this::loop, "jepsen-supervisor");
    thread.setDaemon(true);
  }

  Supervisor start() {
    thread.start();
    return this;
  }

  List<SelfStop> selfStops() {
    return List.copyOf(selfStops);
  }

  private void loop() {
    while (running) {
      for (Child c : children) {
        try {
          check(c);
        } catch (RuntimeException e) {
          LOG.warn("supervisor: checking {}: {}", c.id(), e.toString());
        }
      }
      LockSupport.parkNanos(poll.toNanos());
    }
  }

  /**
   * One look at {@code c}: a new exit with status 3 is recorded at once ({@link #SELF_STOP}, with
   * why), and {@link #delay} later the child is started again ({@link #RESTARTED}) unless the
   * nemesis holds it (then the nemesis starts it again when its fault is over).
   */
  void check(Child c) {
    Exit e = c.exit();
    if (e == null || e.status() != dev.baton.jepsen.node.NodeApp.SELF_STOP_STATUS) {
      return;
    }
    long now = System.nanoTime();
    if (!e.id().equals(reported.get(c.id()))) {
      reported.put(c.id(), e.id());
      seen.put(c.id(), now);
      String reason = c.stopReason();
      selfStops.add(new SelfStop(c.id(), now, reason));
      LOG.warn("supervisor: {} exited by itself with status {}: {}", c.id(), e.status(), reason);
      recorder.record(
          SELF_STOP,
          c.id()
              + " exited by itself with status "
              + e.status()
              + " (its node stopped itself): "
              + (reason.isEmpty() ? "(no reason recorded)" : reason));
      return;
    }
    if (e.id().equals(restarted.get(c.id()))
        || now - seen.get(c.id()) < delay.toNanos()
        || !running) {
      return;
    }
    if (!c.restartUnlessHeld()) {
      return;
    }
    restarted.put(c.id(), e.id());
    recorder.record(
        RESTARTED,
        c.id()
            + " restarted by the supervisor "
            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - seen.get(c.id()))
            + " ms after it exited by itself");
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    LockSupport.unpark(thread);
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
