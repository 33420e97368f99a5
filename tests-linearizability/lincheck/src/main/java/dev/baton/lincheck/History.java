package dev.baton.lincheck;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An immutable history of events, with its operations (each invocation paired with the completion
 * of the same process).
 *
 * <p>Real-time order: when every event has a {@link Event#time() time}, events are ordered by time
 * (events with equal times are treated as concurrent); otherwise the order of the events as given
 * (the file order) is the real-time order. Jepsen's logs and the project's recorder both write
 * events in the order they happened.
 *
 * <p>Build one with {@link #of(List)}, with a {@link HistoryRecorder}, or read one with {@link
 * dev.baton.lincheck.io.HistoryFiles}.
 */
public final class History {
  private final @Nullable String source;
  private final List<Event> events;
  private final List<Operation> operations;
  private final boolean timed;

  private History(@Nullable String source, List<Event> events) {
    this.source = source;
    boolean allTimed = !events.isEmpty();
    for (Event e : events) {
      allTimed &= e.hasTime();
    }
    this.timed = allTimed;
    List<Event> ordered = new ArrayList<>(events);
    if (timed) {
      ordered.sort(Comparator.comparingLong(Event::time)); // stable: file order breaks ties
    }
    this.events = Collections.unmodifiableList(ordered);
    this.operations = Collections.unmodifiableList(pair(source, this.events, timed));
  }

  /** A history of these events, in this order (or in time order when every event has a time). */
  public static History of(List<Event> events) {
    return of(null, events);
  }

  /**
   * Same as {@link #of(List)}, naming the source (a file name) for error messages and reports.
   *
   * @throws HistoryFormatException when the events do not pair up (see {@link #operations()})
   */
  public static History of(@Nullable String source, List<Event> events) {
    return new History(source, List.copyOf(events));
  }

  /** The empty history (which is linearizable). */
  public static History empty() {
    return of(List.of());
  }

  /** The source the history was read from, or {@code null}. */
  public @Nullable String source() {
    return source;
  }

  /** The events in real-time order. */
  public List<Event> events() {
    return events;
  }

  /** True when every event has a timestamp, so operations are ordered by time. */
  public boolean isTimed() {
    return timed;
  }

  /**
   * The operations, ordered by invocation. A process's {@code ok}/{@code fail}/{@code info} ends
   * the operation that process invoked last; an invocation with no completion is {@link
   * Outcome#OPEN}.
   */
  public List<Operation> operations() {
    return operations;
  }

  /** A copy of this history with the given source name. */
  public History withSource(String newSource) {
    return new History(newSource, events);
  }

  @Override
  public String toString() {
    return "History[" + (source == null ? "" : source + ", ") + operations.size() + " operations]";
  }

  private static List<Operation> pair(@Nullable String source, List<Event> events, boolean timed) {
    record Open(Event invocation, long start, int slot) {}
    Map<Integer, Open> open = new HashMap<>();
    List<Operation> ops = new ArrayList<>();
    List<Open> byInvocation = new ArrayList<>();
    List<Event> completions = new ArrayList<>();
    List<Long> ends = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      Event e = events.get(i);
      long at = timed ? e.time() : i;
      int line = e.line() > 0 ? e.line() : 0;
      String where = e.line() > 0 ? "" : "event " + i + " (" + e + "): ";
      if (e.type() == EventType.INVOKE) {
        Open previous = open.get(e.process());
        if (previous != null) {
          throw new HistoryFormatException(
              source,
              line,
              where
                  + "process "
                  + e.process()
                  + " invokes "
                  + e.f()
                  + " while its "
                  + previous.invocation().f()
                  + (previous.invocation().line() > 0
                      ? " from line " + previous.invocation().line()
                      : "")
                  + " has not completed (a process runs one operation at a time; Jepsen gives a"
                  + " crashed process a new number)");
        }
        Open o = new Open(e, at, byInvocation.size());
        open.put(e.process(), o);
        byInvocation.add(o);
        completions.add(null);
        ends.add(Long.MAX_VALUE);
      } else {
        Open o = open.remove(e.process());
        if (o == null) {
          throw new HistoryFormatException(
              source,
              line,
              where
                  + e.type().wireName()
                  + " for process "
                  + e.process()
                  + " which has no operation in progress");
        }
        Event inv = o.invocation();
        if (!inv.f().equals(e.f())) {
          throw new HistoryFormatException(
              source,
              line,
              where
                  + "process "
                  + e.process()
                  + " completes "
                  + e.f()
                  + " but invoked "
                  + inv.f()
                  + (inv.line() > 0 ? " at line " + inv.line() : ""));
        }
        if (e.key() != null && !Objects.equals(e.key(), inv.key())) {
          throw new HistoryFormatException(
              source,
              line,
              where
                  + "process "
                  + e.process()
                  + " completes key "
                  + Values.format(e.key())
                  + " but invoked key "
                  + Values.format(inv.key()));
        }
        completions.set(o.slot(), e);
        ends.set(o.slot(), at);
      }
    }
    for (int i = 0; i < byInvocation.size(); i++) {
      Event inv = byInvocation.get(i).invocation();
      Event done = completions.get(i);
      Outcome outcome;
      if (done == null) {
        outcome = Outcome.OPEN;
      } else {
        outcome =
            switch (done.type()) {
              case OK -> Outcome.OK;
              case FAIL -> Outcome.FAIL;
              case INFO -> Outcome.INFO;
              default -> throw new AssertionError(done.type());
            };
      }
      ops.add(
          new Operation(
              i,
              inv.process(),
              inv.f(),
              inv.key(),
              inv.value(),
              done == null ? null : done.value(),
              outcome,
              inv,
              done,
              byInvocation.get(i).start(),
              ends.get(i)));
    }
    return ops;
  }
}
