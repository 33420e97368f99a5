package dev.baton.lincheck;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Records a history from concurrent clients. Thread-safe: each event is stamped with the clock (by
 * default {@link System#nanoTime()}) and appended under one lock, so the recorded order and the
 * timestamps agree.
 *
 * <pre>{@code
 * HistoryRecorder rec = new HistoryRecorder();
 * // in client thread 3:
 * HistoryRecorder.Invocation op = rec.invoke(3, "cas", "key-a", List.of(1, 2));
 * try {
 *   boolean swapped = client.compareAndSet("key-a", 1, 2);
 *   if (swapped) op.ok(); else op.fail();
 * } catch (TimeoutException e) {
 *   op.info(); // may or may not have happened
 * }
 * // later:
 * CheckResult r = Checker.check(rec.history(), Models.casRegister(null));
 * }</pre>
 *
 * <p>A read's result goes to {@code op.ok(value)}. Record a read whose result is unknown with
 * {@code op.info()}, not {@code op.ok(null)}: by Jepsen's rule the checker's default models treat a
 * read of {@code null} as an unknown value, consistent with any state. A recorder that writes
 * {@code null} for an absent key checks with {@code NilRead.ABSENT} (e.g. {@code
 * Models.casRegister(null, NilRead.ABSENT)}) so that a stale read of "absent" is caught.
 *
 * <p>Invoke before sending the request and complete after the response arrives: the recorded
 * interval then contains the real one, which is what the checker needs. A process has one operation
 * in progress at a time; after an {@code info}, Jepsen's convention is to continue with a new
 * process number (the old one may still be running the operation).
 */
public final class HistoryRecorder {
  private final LongSupplier clock;
  private final List<Event> events = new ArrayList<>();
  private final Map<Integer, Invocation> open = new HashMap<>();

  /** A recorder stamping events with {@link System#nanoTime()}. */
  public HistoryRecorder() {
    this(System::nanoTime);
  }

  /** A recorder stamping events with {@code clock} (nanoseconds, non-decreasing). */
  public HistoryRecorder(LongSupplier clock) {
    this.clock = clock;
  }

  /** Records that {@code process} invokes {@code f} with {@code value} (no key). */
  public Invocation invoke(int process, String f, @Nullable Object value) {
    return invoke(process, f, null, value);
  }

  /**
   * Records that {@code process} invokes {@code f} on {@code key} with {@code value}.
   *
   * @throws IllegalStateException when {@code process} already has an operation in progress
   */
  public Invocation invoke(int process, String f, @Nullable Object key, @Nullable Object value) {
    synchronized (this) {
      if (open.containsKey(process)) {
        throw new IllegalStateException(
            "process " + process + " already has an operation in progress: " + open.get(process));
      }
      Invocation inv = new Invocation(process, f, key, value);
      open.put(process, inv);
      append(process, EventType.INVOKE, f, key, value);
      return inv;
    }
  }

  /** The history recorded so far (operations still in progress are {@link Outcome#OPEN}). */
  public synchronized History history() {
    return History.of("recorder", events);
  }

  /** The number of events recorded so far. */
  public synchronized int size() {
    return events.size();
  }

  private void append(
      int process, EventType type, String f, @Nullable Object key, @Nullable Object value) {
    long index = events.size();
    events.add(new Event(process, type, f, key, value, clock.getAsLong(), index, 0));
  }

  /** An operation in progress; complete it exactly once. */
  public final class Invocation {
    private final int process;
    private final String f;
    private final @Nullable Object key;
    private final @Nullable Object value;
    private boolean done;

    private Invocation(int process, String f, @Nullable Object key, @Nullable Object value) {
      this.process = process;
      this.f = f;
      this.key = key;
      this.value = value;
    }

    /** Completed and took effect, returning the invocation's value (a write, a cas). */
    public void ok() {
      ok(value);
    }

    /** Completed and took effect, returning {@code result} (a read's value). */
    public void ok(@Nullable Object result) {
      complete(EventType.OK, result);
    }

    /** Definitely did not take effect. */
    public void fail() {
      fail(value);
    }

    /** Definitely did not take effect; {@code reason} is kept for the reader. */
    public void fail(@Nullable Object reason) {
      complete(EventType.FAIL, reason);
    }

    /** Outcome unknown (timeout, lost connection): it may have taken effect. */
    public void info() {
      info(value);
    }

    /** Outcome unknown; {@code reason} is kept for the reader. */
    public void info(@Nullable Object reason) {
      complete(EventType.INFO, reason);
    }

    public int process() {
      return process;
    }

    private void complete(EventType type, @Nullable Object result) {
      synchronized (HistoryRecorder.this) {
        if (done) {
          throw new IllegalStateException("already completed: " + this);
        }
        done = true;
        open.remove(process);
        append(process, type, f, key, result);
      }
    }

    @Override
    public String toString() {
      return "p"
          + process
          + " "
          + f
          + (key == null ? "" : " key=" + Values.format(key))
          + " "
          + Values.format(value);
    }
  }
}
