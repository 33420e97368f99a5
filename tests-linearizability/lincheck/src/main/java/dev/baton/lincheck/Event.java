package dev.baton.lincheck;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One line of a history: a process invokes an operation, or learns its outcome.
 *
 * @param process the client (Jepsen's {@code :process}); a process has at most one operation open
 * @param type invoke, ok, fail or info
 * @param f the operation's function, e.g. {@code read}, {@code write}, {@code cas}
 * @param key the key the operation works on, or {@code null}; models may check keys independently
 * @param value the invocation's argument, or the completion's result
 * @param time a timestamp in nanoseconds, or {@link #NO_TIME}
 * @param index the position in the original history (Jepsen's {@code :index}), or {@link #NO_INDEX}
 * @param line the line of the source file this event was read from, or 0 when built in code
 */
public record Event(
    int process,
    EventType type,
    String f,
    @Nullable Object key,
    @Nullable Object value,
    long time,
    long index,
    int line) {

  /** {@link #time()} of an event that has no timestamp. */
  public static final long NO_TIME = Long.MIN_VALUE;

  /** {@link #index()} of an event that has no index. */
  public static final long NO_INDEX = -1;

  public Event {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(f, "f");
    if (f.startsWith(":")) {
      f = f.substring(1);
    }
    key = Values.normalize(key);
    value = Values.normalize(value);
  }

  /** An event without time, index or line: the file order alone says what happened before what. */
  public static Event of(
      int process, EventType type, String f, @Nullable Object key, @Nullable Object value) {
    return new Event(process, type, f, key, value, NO_TIME, NO_INDEX, 0);
  }

  /** Same as {@link #of(int, EventType, String, Object, Object)} with no key. */
  public static Event of(int process, EventType type, String f, @Nullable Object value) {
    return of(process, type, f, null, value);
  }

  public boolean hasTime() {
    return time != NO_TIME;
  }

  public boolean hasIndex() {
    return index != NO_INDEX;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append(process).append(' ').append(type.wireName()).append(' ').append(f);
    if (key != null) {
      sb.append(" key=").append(Values.format(key));
    }
    sb.append(' ').append(Values.format(value));
    return sb.toString();
  }
}
