package dev.baton.lincheck;

import java.util.Locale;

/** The four kinds of history events, as Jepsen names them. */
public enum EventType {
  /** The client starts an operation. */
  INVOKE,
  /** The operation completed and took effect, with the completion's value as its result. */
  OK,
  /** The operation definitely did not take effect. */
  FAIL,
  /** The outcome is unknown: the operation may have taken effect at any time after its invoke. */
  INFO;

  /** The lower-case name used by every file format ({@code invoke}, {@code ok}, …). */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses {@code invoke}, {@code ok}, {@code fail} or {@code info}, with or without a leading
   * colon.
   *
   * @throws IllegalArgumentException for anything else
   */
  public static EventType parse(String s) {
    String name = s.startsWith(":") ? s.substring(1) : s;
    return switch (name) {
      case "invoke" -> INVOKE;
      case "ok" -> OK;
      case "fail" -> FAIL;
      case "info" -> INFO;
      default ->
          throw new IllegalArgumentException(
              "unknown event type '" + s + "' (expected invoke, ok, fail or info)");
    };
  }
}
