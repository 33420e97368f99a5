package dev.baton.lincheck.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.lincheck.Event;
import dev.baton.lincheck.EventType;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryFormatException;
import dev.baton.lincheck.Keyword;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reads histories from files: Jepsen EDN, Jepsen log lines, and the project's JSON Lines. Every
 * error names the file and the line ({@link HistoryFormatException}).
 *
 * <p>Operations of non-numeric processes (Jepsen's {@code :nemesis}) are not client operations and
 * are skipped.
 */
public final class HistoryFiles {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** {@code INFO jepsen.util - 3\t:invoke\t:cas\t[1 2]}: process, type, f, then the value. */
  private static final Pattern LOG_LINE =
      Pattern.compile("jepsen\\.util\\s+-\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)(?:\\s+(.*?))?\\s*$");

  private HistoryFiles() {}

  /** Reads {@code file}, telling the format from its name or, failing that, its first line. */
  public static History read(Path file) throws IOException {
    return read(file, null);
  }

  /**
   * Reads {@code file} in {@code format} ({@code null}: detect it).
   *
   * @throws HistoryFormatException when the content is malformed (the message names file and line)
   */
  public static History read(Path file, @Nullable HistoryFormat format) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    String source = file.toString();
    HistoryFormat f = format != null ? format : detect(source, text);
    return parse(source, text, f);
  }

  /** Parses {@code text} in {@code format}; {@code source} names it in errors. */
  public static History parse(String source, String text, HistoryFormat format) {
    return switch (format) {
      case EDN -> parseEdn(source, text);
      case JEPSEN_LOG -> parseJepsenLog(source, text);
      case JSON_LINES -> parseJsonLines(source, text);
    };
  }

  /**
   * Tells the format from the file name ({@code .edn}, {@code .log}, {@code .jsonl}/{@code
   * .ndjson}) or from the first non-blank line.
   *
   * @throws HistoryFormatException when neither says
   */
  public static HistoryFormat detect(String source, String text) {
    String name = source.toLowerCase(Locale.ROOT);
    if (name.endsWith(".edn")) {
      return HistoryFormat.EDN;
    }
    if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
      return HistoryFormat.JSON_LINES;
    }
    if (name.endsWith(".log")) {
      return HistoryFormat.JEPSEN_LOG;
    }
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      String t = line.strip();
      if (t.isEmpty()) {
        continue;
      }
      if (t.contains("jepsen.util")) {
        return HistoryFormat.JEPSEN_LOG;
      }
      if (t.startsWith("{\"") || t.matches("^\\{\\s*\".*")) {
        return HistoryFormat.JSON_LINES;
      }
      char c = t.charAt(0);
      if (c == '{' || c == '[' || c == '(' || c == '#' || c == ';') {
        return HistoryFormat.EDN;
      }
      throw new HistoryFormatException(
          source,
          lineNo,
          "cannot tell the format (expected EDN maps, Jepsen log lines or JSON Lines); name it"
              + " with --format");
    }
    return HistoryFormat.EDN; // empty: any format reads it as the empty history
  }

  // ---------------------------------------------------------------------------------------------
  // Jepsen log lines

  /**
   * Parses Jepsen log lines. Lines without {@code jepsen.util - } are ignored (a Jepsen log is
   * mostly other things), as are lines there whose process is not a number; a line whose process is
   * a number but that does not parse is an error.
   */
  public static History parseJepsenLog(String source, String text) {
    List<Event> events = new ArrayList<>();
    int lineNo = 0;
    long index = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (!line.contains("jepsen.util")) {
        continue;
      }
      Matcher m = LOG_LINE.matcher(line);
      if (!m.find()) {
        continue;
      }
      Integer process = parseProcess(m.group(1));
      if (process == null) {
        continue; // :nemesis, or a log message that is not an operation
      }
      try {
        EventType type = EventType.parse(m.group(2));
        String f = m.group(3);
        if (!f.startsWith(":")) {
          throw new IllegalArgumentException("the function should be a keyword, got '" + f + "'");
        }
        String valueText = m.group(4);
        Object value =
            valueText == null || valueText.isEmpty() ? null : EdnParser.parseOne(valueText);
        events.add(new Event(process, type, f, null, value, Event.NO_TIME, index++, lineNo));
      } catch (EdnParser.EdnException e) {
        throw new HistoryFormatException(source, lineNo, "bad value: " + e.getMessage(), e);
      } catch (IllegalArgumentException e) {
        throw new HistoryFormatException(source, lineNo, e.getMessage(), e);
      }
    }
    return History.of(source, events);
  }

  private static @Nullable Integer parseProcess(String token) {
    try {
      return Integer.valueOf(token);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // EDN

  /**
   * Parses a Jepsen EDN history: either one vector (or list) of op maps, or op maps one after the
   * other (Jepsen's {@code history.edn} writes one per line). Each map has {@code :process}, {@code
   * :type}, {@code :f}, {@code :value}, and optionally {@code :key}, {@code :time} and {@code
   * :index}.
   */
  public static History parseEdn(String source, String text) {
    EdnParser p = new EdnParser(text);
    List<Event> events = new ArrayList<>();
    try {
      int first = p.peek();
      if (first == '[' || first == '(') {
        int openLine = p.line();
        p.consume();
        char close = first == '[' ? ']' : ')';
        while (true) {
          int c = p.peek();
          if (c == -1) {
            throw new HistoryFormatException(
                source, openLine, "the history's '" + (char) first + "' is not closed");
          }
          if (c == close) {
            p.consume();
            break;
          }
          int line = p.line();
          addEdnOp(source, line, p.next(), events);
        }
        if (p.hasNext()) {
          throw new HistoryFormatException(
              source, p.line(), "unexpected text after the history's closing '" + close + "'");
        }
      } else {
        while (p.hasNext()) {
          int line = p.line();
          addEdnOp(source, line, p.next(), events);
        }
      }
    } catch (EdnParser.EdnException e) {
      throw new HistoryFormatException(source, e.line(), e.getMessage(), e);
    }
    return History.of(source, events);
  }

  private static void addEdnOp(String source, int line, @Nullable Object form, List<Event> events) {
    if (!(form instanceof Map<?, ?> map)) {
      throw new HistoryFormatException(
          source, line, "expected an operation map {:process .. :type .. :f ..}, got " + form);
    }
    Object process = map.get(Keyword.of("process"));
    if (process == null && !map.containsKey(Keyword.of("process"))) {
      throw new HistoryFormatException(source, line, "operation without :process");
    }
    if (!(process instanceof Long p)) {
      return; // :nemesis and other non-client processes
    }
    Object type = map.get(Keyword.of("type"));
    if (type == null) {
      throw new HistoryFormatException(source, line, "operation without :type");
    }
    Object f = map.get(Keyword.of("f"));
    if (f == null) {
      throw new HistoryFormatException(source, line, "operation without :f");
    }
    try {
      EventType t = EventType.parse(type instanceof Keyword k ? k.toString() : name(type));
      long time = longField(map.get(Keyword.of("time")), "time", Event.NO_TIME);
      long index = longField(map.get(Keyword.of("index")), "index", Event.NO_INDEX);
      events.add(
          new Event(
              Math.toIntExact(p),
              t,
              name(f),
              map.get(Keyword.of("key")),
              map.get(Keyword.of("value")),
              time,
              index,
              line));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new HistoryFormatException(source, line, e.getMessage(), e);
    }
  }

  private static String name(Object keywordOrString) {
    if (keywordOrString instanceof Keyword k) {
      return k.name();
    }
    if (keywordOrString instanceof String s) {
      return s;
    }
    if (keywordOrString instanceof EdnParser.Symbol s) {
      return s.name();
    }
    throw new IllegalArgumentException("expected a keyword, got " + keywordOrString);
  }

  private static long longField(@Nullable Object v, String field, long absent) {
    if (v == null) {
      return absent;
    }
    if (v instanceof Long l) {
      return l;
    }
    throw new IllegalArgumentException(":" + field + " should be an integer, got " + v);
  }

  // ---------------------------------------------------------------------------------------------
  // JSON Lines

  /**
   * Parses the project's JSON Lines: one object per line with {@code process} (integer), {@code
   * type} (invoke|ok|fail|info), {@code f}, and optionally {@code key}, {@code value}, {@code time}
   * (nanoseconds) and {@code index}. Blank lines are skipped; other fields are ignored.
   */
  public static History parseJsonLines(String source, String text) {
    List<Event> events = new ArrayList<>();
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (JsonProcessingException e) {
        // Jackson's message ends with a location that names no file; the line is ours to give.
        String why = e.getOriginalMessage().replaceAll("\\s*\\(start marker at .*$", "");
        throw new HistoryFormatException(source, lineNo, "not JSON: " + why, e);
      }
      if (node == null || !node.isObject()) {
        throw new HistoryFormatException(source, lineNo, "expected a JSON object");
      }
      try {
        JsonNode process = required(node, "process");
        if (!process.canConvertToInt() || !process.isIntegralNumber()) {
          throw new IllegalArgumentException("process should be an integer, got " + process);
        }
        EventType type = EventType.parse(required(node, "type").asText());
        JsonNode f = required(node, "f");
        if (!f.isTextual()) {
          throw new IllegalArgumentException("f should be a string, got " + f);
        }
        long time = optionalLong(node, "time", Event.NO_TIME);
        long index = optionalLong(node, "index", Event.NO_INDEX);
        events.add(
            new Event(
                process.intValue(),
                type,
                f.asText(),
                toJava(node.get("key")),
                toJava(node.get("value")),
                time,
                index,
                lineNo));
      } catch (IllegalArgumentException e) {
        throw new HistoryFormatException(source, lineNo, e.getMessage(), e);
      }
    }
    return History.of(source, events);
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("missing \"" + field + "\"");
    }
    return v;
  }

  private static long optionalLong(JsonNode node, String field, long absent) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return absent;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new IllegalArgumentException("\"" + field + "\" should be an integer, got " + v);
    }
    return v.longValue();
  }

  /** JSON to the checker's values: numbers to Long/BigInteger/Double, arrays to lists. */
  static @Nullable Object toJava(@Nullable JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (node.isIntegralNumber()) {
      BigInteger big = node.bigIntegerValue();
      return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (node.isArray()) {
      List<Object> list = new ArrayList<>(node.size());
      for (JsonNode e : node) {
        list.add(toJava(e));
      }
      return list;
    }
    if (node.isObject()) {
      Map<Object, Object> map = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        map.put(e.getKey(), toJava(e.getValue()));
      }
      return map;
    }
    return node.asText();
  }
}
