package dev.baton.lincheck;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Why a history is not linearizable, in the terms of the deepest point the search reached: the
 * longest sequence of operations that the model accepts in an order respecting real time, and the
 * operations that cannot follow it.
 *
 * @param partitionKey the key of the failing partition ({@code null} when not partitioned)
 * @param longestPrefix the longest consistent prefix found: operations in linearization order
 * @param stateAfterPrefix the model's state after that prefix, rendered by {@link Model#describe}
 * @param unorderable the operations that cannot be ordered next: first the operation that completed
 *     before it could be linearized, then every operation concurrent with it that was not
 *     linearized yet
 * @param notes one note per operation of {@code unorderable}, why it cannot come next
 * @param breakPoint the time (in the history's order, see {@link Operation#start()}) at which the
 *     order breaks: the completion of the first unorderable operation
 */
public record Explanation(
    @Nullable Object partitionKey,
    List<Operation> longestPrefix,
    String stateAfterPrefix,
    List<Operation> unorderable,
    List<String> notes,
    long breakPoint) {

  public Explanation {
    longestPrefix = List.copyOf(longestPrefix);
    unorderable = List.copyOf(unorderable);
    notes = List.copyOf(notes);
  }

  /** A one-line summary. */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    if (partitionKey != null) {
      sb.append("key ").append(Values.format(partitionKey)).append(": ");
    }
    Operation first = unorderable.isEmpty() ? null : unorderable.get(0);
    sb.append(first == null ? "no operation" : first.toString())
        .append(" cannot be ordered after the longest consistent prefix (")
        .append(operations(longestPrefix.size()))
        .append(", state ")
        .append(stateAfterPrefix)
        .append(')');
    return sb.toString();
  }

  /**
   * A multi-line explanation; {@code maxPrefix} bounds how many of the prefix's last operations are
   * listed.
   */
  public String describe(int maxPrefix) {
    StringBuilder sb = new StringBuilder();
    if (partitionKey != null) {
      sb.append("Key ").append(Values.format(partitionKey)).append(".\n");
    }
    sb.append("Longest consistent prefix: ")
        .append(operations(longestPrefix.size()))
        .append(", leaving the state ")
        .append(stateAfterPrefix)
        .append('\n');
    int from = Math.max(0, longestPrefix.size() - maxPrefix);
    if (from > 0) {
      sb.append("  ... ").append(operations(from)).append(" before these\n");
    }
    for (int i = from; i < longestPrefix.size(); i++) {
      sb.append("  ").append(i + 1).append(". ").append(longestPrefix.get(i)).append('\n');
    }
    sb.append("Cannot be ordered next:\n");
    for (int i = 0; i < unorderable.size(); i++) {
      sb.append("  - ").append(unorderable.get(i));
      if (i < notes.size() && !notes.get(i).isEmpty()) {
        sb.append(": ").append(notes.get(i));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String operations(int n) {
    return n + (n == 1 ? " operation" : " operations");
  }
}
