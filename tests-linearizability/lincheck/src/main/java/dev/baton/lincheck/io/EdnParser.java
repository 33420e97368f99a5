package dev.baton.lincheck.io;

import dev.baton.lincheck.Keyword;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A reader for the subset of EDN that Jepsen histories use: nil, booleans, integers (with an
 * optional {@code N}), decimals, strings, characters, keywords, symbols, lists, vectors, maps,
 * sets, comments, {@code #_} discards and tagged literals (the tag is dropped: {@code
 * #jepsen.history.Op{...}} reads as its map). Lists and vectors become {@link List}s, keywords
 * {@link Keyword}s, symbols {@link Symbol}s, integers {@link Long}s (or {@link BigInteger}s).
 *
 * <p>Reads one top-level form at a time and knows the line it is on, for error messages.
 */
public final class EdnParser {

  /**
   * An EDN symbol such as {@code foo} (rare in histories; kept apart from strings).
   *
   * @param name the symbol
   */
  public record Symbol(String name) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** A syntax error, with the 1-based line where it was found. */
  public static final class EdnException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int line;

    EdnException(int line, String message) {
      super(message);
      this.line = line;
    }

    public int line() {
      return line;
    }
  }

  private final String text;
  private int pos;
  private int line = 1;

  public EdnParser(String text) {
    this.text = text;
  }

  /** Parses exactly one form from {@code text} (with nothing but whitespace around it). */
  public static @Nullable Object parseOne(String text) {
    EdnParser p = new EdnParser(text);
    if (!p.hasNext()) {
      throw new EdnException(1, "no value");
    }
    Object v = p.next();
    if (p.hasNext()) {
      throw new EdnException(p.line, "unexpected text after the value: '" + p.snippet() + "'");
    }
    return v;
  }

  /** Skips whitespace and comments; true if a form follows. */
  public boolean hasNext() {
    skipWhitespace();
    return pos < text.length();
  }

  /** The line the parser is on (after {@link #hasNext()}, the line where the next form starts). */
  public int line() {
    return line;
  }

  /** The next character after whitespace, or -1 at the end. */
  int peek() {
    skipWhitespace();
    return pos < text.length() ? text.charAt(pos) : -1;
  }

  /** Consumes one character (after {@link #peek()} returned it). */
  void consume() {
    pos++;
  }

  /** Reads the next form. */
  public @Nullable Object next() {
    skipWhitespace();
    if (pos >= text.length()) {
      throw error("unexpected end of input");
    }
    char c = text.charAt(pos);
    switch (c) {
      case '"':
        return readString();
      case '[':
        pos++;
        return Collections.unmodifiableList(readSeq(']'));
      case '(':
        pos++;
        return Collections.unmodifiableList(readSeq(')'));
      case '{':
        pos++;
        return readMap();
      case ':':
        return Keyword.of(readToken());
      case '\\':
        return readChar();
      case '#':
        return readDispatch();
      case ']':
      case ')':
      case '}':
        throw error("unexpected '" + c + "'");
      default:
        return readAtom(readToken());
    }
  }

  private @Nullable Object readDispatch() {
    int startLine = line;
    pos++; // '#'
    if (pos >= text.length()) {
      throw error("unexpected end of input after '#'");
    }
    char c = text.charAt(pos);
    if (c == '{') {
      pos++;
      Set<Object> set = new LinkedHashSet<>(readSeq('}'));
      return Collections.unmodifiableSet(set);
    }
    if (c == '_') {
      pos++;
      next(); // discarded
      if (!hasNext()) {
        throw new EdnException(startLine, "#_ discards the last form: nothing left");
      }
      return next();
    }
    // A tagged literal: #inst "...", #uuid "...", #jepsen.history.Op{...}. Keep the value.
    String tag = readToken();
    if (tag.isEmpty()) {
      throw error("unknown dispatch '#" + c + "'");
    }
    return next();
  }

  private List<Object> readSeq(char close) {
    int startLine = line;
    List<Object> out = new ArrayList<>();
    while (true) {
      skipWhitespace();
      if (pos >= text.length()) {
        throw new EdnException(
            startLine, "'" + close + "' missing: the collection opened here is not closed");
      }
      if (text.charAt(pos) == close) {
        pos++;
        return out;
      }
      out.add(next());
    }
  }

  private Map<Object, Object> readMap() {
    int startLine = line;
    List<Object> items = readSeq('}');
    if (items.size() % 2 != 0) {
      throw new EdnException(
          startLine, "a map needs an even number of forms, found " + items.size());
    }
    Map<Object, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < items.size(); i += 2) {
      map.put(items.get(i), items.get(i + 1));
    }
    return Collections.unmodifiableMap(map);
  }

  private String readString() {
    int startLine = line;
    pos++; // opening quote
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw new EdnException(startLine, "string not closed");
      }
      char c = text.charAt(pos++);
      if (c == '"') {
        return sb.toString();
      }
      if (c == '\n') {
        line++;
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (pos >= text.length()) {
        throw new EdnException(startLine, "string not closed");
      }
      char e = text.charAt(pos++);
      switch (e) {
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case '"' -> sb.append('"');
        case '\\' -> sb.append('\\');
        case 'u' -> {
          if (pos + 4 > text.length()) {
            throw error("bad \\u escape");
          }
          try {
            sb.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
          } catch (NumberFormatException ex) {
            throw error("bad \\u escape");
          }
          pos += 4;
        }
        default -> throw error("unknown escape \\" + e + " in a string");
      }
    }
  }

  private String readChar() {
    pos++; // backslash
    String token = readToken();
    if (token.isEmpty() && pos < text.length()) {
      return String.valueOf(text.charAt(pos++));
    }
    return switch (token) {
      case "newline" -> "\n";
      case "space" -> " ";
      case "tab" -> "\t";
      case "return" -> "\r";
      default -> {
        if (token.length() == 1) {
          yield token;
        }
        if (token.length() == 5 && token.charAt(0) == 'u') {
          yield String.valueOf((char) Integer.parseInt(token.substring(1), 16));
        }
        throw error("unknown character \\" + token);
      }
    };
  }

  private @Nullable Object readAtom(String token) {
    if (token.isEmpty()) {
      throw error("unexpected '" + text.charAt(pos) + "'");
    }
    switch (token) {
      case "nil":
        return null;
      case "true":
        return Boolean.TRUE;
      case "false":
        return Boolean.FALSE;
      default:
        break;
    }
    char c = token.charAt(0);
    boolean numeric =
        Character.isDigit(c)
            || ((c == '-' || c == '+') && token.length() > 1 && Character.isDigit(token.charAt(1)));
    if (!numeric) {
      return new Symbol(token);
    }
    try {
      if (token.endsWith("N")) {
        BigInteger big = new BigInteger(strip(token.substring(0, token.length() - 1)));
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
      }
      if (token.endsWith("M")) {
        return new BigDecimal(strip(token.substring(0, token.length() - 1))).doubleValue();
      }
      if (token.contains("/")) {
        String[] parts = token.split("/", 2);
        return new BigDecimal(strip(parts[0]))
            .divide(new BigDecimal(parts[1]), java.math.MathContext.DECIMAL64)
            .doubleValue();
      }
      if (token.contains(".") || token.contains("e") || token.contains("E")) {
        return Double.parseDouble(token);
      }
      BigInteger big = new BigInteger(strip(token));
      return big.bitLength() < 64 ? (Object) big.longValue() : big;
    } catch (NumberFormatException | ArithmeticException e) {
      throw error("not a number: " + token);
    }
  }

  private static String strip(String s) {
    return s.startsWith("+") ? s.substring(1) : s;
  }

  private String readToken() {
    int start = pos;
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (Character.isWhitespace(c) || c == ',' || "()[]{}\";".indexOf(c) >= 0) {
        break;
      }
      pos++;
    }
    return text.substring(start, pos);
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c == '\n') {
        line++;
        pos++;
      } else if (Character.isWhitespace(c) || c == ',') {
        pos++;
      } else if (c == ';') {
        while (pos < text.length() && text.charAt(pos) != '\n') {
          pos++;
        }
      } else {
        return;
      }
    }
  }

  private String snippet() {
    int end = Math.min(text.length(), pos + 20);
    int nl = text.indexOf('\n', pos);
    if (nl >= 0 && nl < end) {
      end = nl;
    }
    return text.substring(pos, end);
  }

  private EdnException error(String message) {
    return new EdnException(line, message);
  }
}
