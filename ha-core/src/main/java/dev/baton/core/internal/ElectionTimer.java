package dev.baton.core.internal;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.Timestamp;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts this follower's election once it has heard nothing from a leader for a timeout drawn from
 * {@code [electionTimeoutMin, electionTimeoutMax]} ({@link ElectionDeadline}), so that a dead
 * leader is noticed between {@code min} and {@code max} after its last message, not between {@code
 * min} and {@code 2 × max}.
 *
 * <p>Why: Ratis 3.3's {@code FollowerState} sleeps a whole random timeout {@code T} and only then
 * checks whether it has heard nothing for {@code T}; a heartbeat that arrived during the sleep
 * fails the check and starts another whole sleep, so detection took between {@code min} and {@code
 * 2 × max} after the last heartbeat (0.8–2.4 s by default). This timer wakes when the drawn timeout
 * after the last leader RPC ends, and runs exactly Ratis's own check at that moment, under the same
 * lock Ratis's append handling takes ({@code synchronized} on the server division): a follower (not
 * a listener, candidate or leader), no append or snapshot installation in progress, silent for at
 * least the drawn timeout by Ratis's own record of the last leader RPC (its clock, {@code
 * System.nanoTime()}), not a leader that stepped down for lost heartbeats a moment ago, server
 * running. It then calls what Ratis's timer calls, {@code changeToCandidate(false)}: an election
 * that starts with pre-vote. So no follower starts an election before {@code min} of silence on its
 * own clock, which is what step 2 of docs/lease.md rests on, exactly as before; Ratis's own timer
 * keeps running beside it and may still start the election first.
 *
 * <p>Those members of Ratis are package-private, so they are reached by reflection, resolved once
 * at start. If they cannot be (another Ratis version), the timer logs one WARN and does nothing:
 * Ratis's own timer still detects within {@code 2 × max}, the documented failover bound.
 */
final class ElectionTimer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ElectionTimer.class);

  private final String self;
  private final Supplier<RaftServer.Division> division;
  private final ElectionDeadline deadline;
  private final long idleLookNanos;
  private final AtomicLong elections = new AtomicLong();
  private final Thread thread;
  private volatile boolean running = true;

  ElectionTimer(String self, long minNanos, long maxNanos, Supplier<RaftServer.Division> division) {
    this.self = self;
    this.division = division;
    this.deadline =
        new ElectionDeadline(minNanos, maxNanos, () -> ThreadLocalRandom.current().nextLong());
    this.idleLookNanos = minNanos / 4;
    this.thread = new Thread(this::run, "baton-election-timer-" + self);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** How many elections this timer has started (Ratis's own timer's are not counted). */
  long electionsStarted() {
    return elections.get();
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
  }

  private void run() {
    Optional<Hooks> resolved = Hooks.resolve();
    if (resolved.isEmpty()) {
      return;
    }
    Hooks hooks = resolved.get();
    while (running && !Thread.currentThread().isInterrupted()) {
      try {
        step(hooks);
      } catch (RuntimeException e) {
        LOG.debug("{}: election timer: {}", self, e.toString());
        park(idleLookNanos);
      }
    }
  }

  private void step(Hooks hooks) {
    RaftServer.Division d = division.get();
    Object fs = d == null || !d.getInfo().isFollower() ? null : hooks.followerState(d);
    if (fs == null) {
      // Leader, candidate, listener or not running: look again later.
      park(idleLookNanos);
      return;
    }
    Timestamp last = hooks.lastRpcTime(fs);
    long wait = deadline.waitNanos(last, silence(last));
    if (wait > 0) {
      long late = park(wait) - wait;
      if (late > hooks.sleepDeviationNanos(d)) {
        // Starved or paused: the leader's messages may be queued behind this thread; as Ratis's
        // timer does, skip this look and wait a fresh timeout.
        deadline.deferFrom(silence(hooks.lastRpcTime(fs)));
      }
      return;
    }
    long due = deadline.dueAtSilence();
    long silent = hooks.startElectionIfSilent(d, fs, due);
    if (silent >= 0) {
      elections.incrementAndGet();
      LOG.info(
          "{}: no leader heard for {} ms (timeout {} ms, drawn from the election timeout range):"
              + " starting an election (pre-vote first)",
          self,
          TimeUnit.NANOSECONDS.toMillis(silent),
          TimeUnit.NANOSECONDS.toMillis(due));
      park(idleLookNanos);
    } else {
      deadline.deferFrom(silence(hooks.lastRpcTime(fs)));
    }
  }

  private static long silence(Timestamp last) {
    return last.elapsedTime().toLong(TimeUnit.NANOSECONDS);
  }

  /** Parks about {@code nanos}; returns how long it actually took. */
  private static long park(long nanos) {
    long t0 = System.nanoTime();
    LockSupport.parkNanos(nanos);
    long took = System.nanoTime() - t0;
    // parkNanos may return early (spuriously); the caller looks again and parks for the rest.
    return took;
  }

  /** The package-private members of Ratis's server that the timer needs, resolved once. */
  static final class Hooks {
    private final Method getRole;
    private final Method getFollowerState;
    private final Method getLastRpcTime;
    private final Method getOutstandingOp;
    private final Method lostMajorityHeartbeatsRecently;
    private final Method isRunning;
    private final Method getSleepDeviationThreshold;
    private final Method changeToCandidate;

    private Hooks(Class<?> server, Class<?> role, Class<?> follower)
        throws ReflectiveOperationException {
      getRole = open(server.getDeclaredMethod("getRole"));
      getFollowerState = open(role.getDeclaredMethod("getFollowerState"));
      getLastRpcTime = open(follower.getDeclaredMethod("getLastRpcTime"));
      getOutstandingOp = open(follower.getDeclaredMethod("getOutstandingOp"));
      lostMajorityHeartbeatsRecently =
          open(follower.getDeclaredMethod("lostMajorityHeartbeatsRecently"));
      isRunning = open(server.getDeclaredMethod("isRunning"));
      getSleepDeviationThreshold = open(server.getDeclaredMethod("getSleepDeviationThreshold"));
      changeToCandidate = open(server.getDeclaredMethod("changeToCandidate", boolean.class));
    }

    /** The hooks, or empty (one WARN) when this Ratis does not have them. */
    static Optional<Hooks> resolve() {
      String pkg = "org.apache.ratis.server.impl.";
      try {
        return Optional.of(
            new Hooks(
                Class.forName(pkg + "RaftServerImpl"),
                Class.forName(pkg + "RoleInfo"),
                Class.forName(pkg + "FollowerState")));
      } catch (ReflectiveOperationException | RuntimeException e) {
        LOG.warn(
            "election timer off: this Ratis does not have the members it needs ({}); a dead"
                + " leader is detected by Ratis's own timer, within 2 × electionTimeoutMax",
            e.toString());
        return Optional.empty();
      }
    }

    private static Method open(Method m) {
      m.setAccessible(true);
      return m;
    }

    /** The division's running follower timer (Ratis's {@code FollowerState}), or null. */
    @Nullable Object followerState(RaftServer.Division d) {
      Object role = call(getRole, d);
      return ((Optional<?>) call(getFollowerState, role)).orElse(null);
    }

    Timestamp lastRpcTime(Object followerState) {
      return (Timestamp) call(getLastRpcTime, followerState);
    }

    long sleepDeviationNanos(RaftServer.Division d) {
      return ((org.apache.ratis.util.TimeDuration) call(getSleepDeviationThreshold, d))
          .toLong(TimeUnit.NANOSECONDS);
    }

    /**
     * Ratis's own check, under the lock its append handling takes, with {@code timeoutNanos} for
     * the random timeout; if it passes, starts the election as Ratis's timer does.
     *
     * @return the silence (ns) at which the election was started, or -1 if it was not
     */
    long startElectionIfSilent(RaftServer.Division d, Object followerState, long timeoutNanos) {
      synchronized (d) {
        if (!d.getInfo().isFollower() || followerState(d) != followerState) {
          return -1;
        }
        if ((Integer) call(getOutstandingOp, followerState) != 0) {
          return -1;
        }
        long silent = silence(lastRpcTime(followerState));
        if (silent < timeoutNanos) {
          return -1;
        }
        if ((Boolean) call(lostMajorityHeartbeatsRecently, followerState)
            || !(Boolean) call(isRunning, d)) {
          return -1;
        }
        call(changeToCandidate, d, false);
        return silent;
      }
    }

    private static Object call(Method m, Object target, Object... args) {
      try {
        return m.invoke(target, args);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      } catch (InvocationTargetException e) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException r) {
          throw r;
        }
        throw new IllegalStateException(c);
      }
    }
  }
}
