package dev.baton.lincheck.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.lincheck.Event;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Keyword;
import dev.baton.lincheck.Values;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Writes histories as the project's JSON Lines or as Jepsen EDN (one op map per line, as Jepsen's
 * {@code history.edn}). Both read back with {@link HistoryFiles} into an equal history; in JSON,
 * keywords become strings (JSON has no keywords).
 */
public final class HistoryWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HistoryWriter() {}

  /** Writes {@code history} as JSON Lines to {@code file}. */
  public static void writeJsonLines(History history, Path file) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      writeJsonLines(history, w);
    }
  }

  /** Writes {@code history} as JSON Lines, one event per line. */
  public static void writeJsonLines(History history, Writer out) throws IOException {
    for (Event e : history.events()) {
      out.write(toJsonLine(e));
      out.write('\n');
    }
  }

  /** One event as a JSON object (without the newline). */
  public static String toJsonLine(Event e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("process", e.process());
    m.put("type", e.type().wireName());
    m.put("f", e.f());
    if (e.key() != null) {
      m.put("key", jsonValue(e.key()));
    }
    m.put("value", jsonValue(e.value()));
    if (e.hasTime()) {
      m.put("time", e.time());
    }
    if (e.hasIndex()) {
      m.put("index", e.index());
    }
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  private static @Nullable Object jsonValue(@Nullable Object v) {
    if (v instanceof Keyword k) {
      return k.name();
    }
    if (v instanceof EdnParser.Symbol s) {
      return s.name();
    }
    if (v instanceof List<?> || v instanceof Set<?>) {
      List<Object> out = new ArrayList<>();
      for (Object o : (Iterable<?>) v) {
        out.add(jsonValue(o));
      }
      return out;
    }
    if (v instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      map.forEach(
          (k, val) ->
              out.put(
                  k instanceof String s
                      ? s
                      : k instanceof Keyword kw ? kw.name() : Values.format(k),
                  jsonValue(val)));
      return out;
    }
    return v;
  }

  /** Writes {@code history} as EDN to {@code file}. */
  public static void writeEdn(History history, Path file) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      writeEdn(history, w);
    }
  }

  /** Writes {@code history} as EDN, one op map per line. */
  public static void writeEdn(History history, Writer out) throws IOException {
    for (Event e : history.events()) {
      out.write(toEdnLine(e));
      out.write('\n');
    }
  }

  /** One event as an EDN map: {@code {:process 0, :type :invoke, :f :read, :value nil}}. */
  public static String toEdnLine(Event e) {
    StringBuilder sb = new StringBuilder();
    sb.append("{:process ").append(e.process());
    sb.append(", :type :").append(e.type().wireName());
    sb.append(", :f :").append(e.f());
    if (e.key() != null) {
      sb.append(", :key ").append(Values.format(e.key()));
    }
    sb.append(", :value ").append(Values.format(e.value()));
    if (e.hasTime()) {
      sb.append(", :time ").append(e.time());
    }
    if (e.hasIndex()) {
      sb.append(", :index ").append(e.index());
    }
    return sb.append('}').toString();
  }
}
