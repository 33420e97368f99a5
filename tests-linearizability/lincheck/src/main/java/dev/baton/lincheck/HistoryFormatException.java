package dev.baton.lincheck;

import org.jspecify.annotations.Nullable;

/**
 * A history that cannot be read or makes no sense (an {@code ok} with no invocation, a process that
 * invokes twice, a line that does not parse). The message names the source and the line.
 */
public class HistoryFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final @Nullable String source;
  private final int line;

  public HistoryFormatException(@Nullable String source, int line, @Nullable String message) {
    this(source, line, message, null);
  }

  public HistoryFormatException(
      @Nullable String source, int line, @Nullable String message, @Nullable Throwable cause) {
    super(
        (source == null ? "history" : source) + (line > 0 ? ":" + line : "") + ": " + message,
        cause);
    this.source = source;
    this.line = line;
  }

  /** The file (or other source) the history came from, or {@code null}. */
  public @Nullable String source() {
    return source;
  }

  /** The 1-based line of the problem, or 0 when unknown. */
  public int line() {
    return line;
  }
}
