package dev.baton.lincheck;

import org.jspecify.annotations.Nullable;

/**
 * An invocation paired with its completion. Models see operations, not events.
 *
 * @param id position of the operation in the history, ordered by invocation
 * @param process the client that ran it
 * @param f the function, e.g. {@code read}
 * @param key the key, or {@code null}
 * @param input the value of the invocation (a write's value, a cas's {@code [from to]}, …)
 * @param output the value of the completion (a read's result), or {@code null} when it never
 *     completed; for {@link Outcome#INFO} and {@link Outcome#FAIL} it is informative only
 * @param outcome how it ended
 * @param invocation the invoke event
 * @param completion the completion event, or {@code null} when it never completed
 * @param start when it was invoked, in the history's order (nanoseconds when every event has a
 *     time, otherwise the event's position in the file)
 * @param end when it completed, in the same units, or {@link Long#MAX_VALUE} when it never did
 */
public record Operation(
    int id,
    int process,
    String f,
    @Nullable Object key,
    @Nullable Object input,
    @Nullable Object output,
    Outcome outcome,
    Event invocation,
    @Nullable Event completion,
    long start,
    long end) {

  /** True when the operation completed with {@code ok}: its effect and result are known. */
  public boolean isOk() {
    return outcome == Outcome.OK;
  }

  /**
   * True when the outcome is unknown ({@code info} or never completed): the operation may or may
   * not have taken effect, and its {@link #output()} says nothing.
   */
  public boolean isUnknown() {
    return outcome == Outcome.INFO || outcome == Outcome.OPEN;
  }

  /** Where the operation comes from: source lines when read from a file, else event positions. */
  public String location() {
    int from = invocation.line();
    if (from <= 0) {
      return "op " + id;
    }
    int to = completion == null ? 0 : completion.line();
    return to > 0 ? "lines " + from + "-" + to : "line " + from;
  }

  /** A short human-readable form: {@code p3 cas [1 2] ok (lines 14-17)}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append('p').append(process).append(' ').append(f);
    if (key != null) {
      sb.append(" key=").append(Values.format(key));
    }
    boolean resultOnly = outcome == Outcome.OK && input == null && output != null;
    if (!resultOnly) {
      sb.append(' ').append(Values.format(input)); // a read's nil argument says nothing
    }
    switch (outcome) {
      case OK -> {
        // A read's invocation carries nil and its completion the value read; show the result
        // whenever it says more than the argument.
        if (output != null && !output.equals(input)) {
          sb.append(" -> ").append(Values.format(output));
        }
        sb.append(" ok");
      }
      case FAIL -> sb.append(" fail");
      case INFO -> sb.append(" info");
      case OPEN -> sb.append(" (never completed)");
      default -> throw new AssertionError(outcome);
    }
    sb.append(" (").append(location()).append(')');
    return sb.toString();
  }
}
