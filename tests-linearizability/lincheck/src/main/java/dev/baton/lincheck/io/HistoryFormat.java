package dev.baton.lincheck.io;

import java.util.Locale;

/** The history file formats the readers understand. */
public enum HistoryFormat {
  /** Jepsen's {@code history.edn}: a vector of op maps, or one op map per line. */
  EDN,
  /** Jepsen's log lines: {@code INFO jepsen.util - 3 :invoke :cas [1 2]}. */
  JEPSEN_LOG,
  /** The project's JSON Lines format (see the module README). */
  JSON_LINES;

  /** Parses {@code edn}, {@code jepsen-log} (or {@code log}) and {@code jsonl}. */
  public static HistoryFormat parse(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "edn" -> EDN;
      case "jepsen-log", "log" -> JEPSEN_LOG;
      case "jsonl", "json-lines", "ndjson" -> JSON_LINES;
      default ->
          throw new IllegalArgumentException(
              "unknown format '" + name + "' (expected edn, jepsen-log or jsonl)");
    };
  }
}
