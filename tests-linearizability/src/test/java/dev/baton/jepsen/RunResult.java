package dev.baton.jepsen;

import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What one run produced: the verdict per checker, counts, the fault schedule, and where the files
 * are ({@code history.edn}, {@code history.jsonl}, {@code fenced.jsonl}, {@code results.json},
 * {@code timeline.html}).
 */
record RunResult(
    RunOptions options,
    Path directory,
    List<Outcome> outcomes,
    Map<String, Object> stats,
    List<Nemesis.Event> schedule,
    double seconds) {

  Validity validity() {
    if (outcomes.stream().anyMatch(o -> o.validity() == Validity.INVALID)) {
      return Validity.INVALID;
    }
    if (outcomes.stream().anyMatch(o -> o.validity() == Validity.UNKNOWN)) {
      return Validity.UNKNOWN;
    }
    return Validity.VALID;
  }

  Outcome outcome(String name) {
    return outcomes.stream()
        .filter(o -> o.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no checker " + name + " in this run"));
  }

  long faults() {
    return schedule.stream().filter(e -> e.phase().equals("start")).count();
  }

  /** A few lines for the test log and assertion messages. */
  String describe() {
    StringBuilder sb = new StringBuilder();
    sb.append("run ")
        .append(options.name())
        .append(" (seed ")
        .append(options.seed())
        .append(", ")
        .append(String.format("%.1f", seconds))
        .append(" s, ")
        .append(faults())
        .append(" faults): ")
        .append(validity())
        .append(" — ")
        .append(directory.resolve("results.json"))
        .append('\n');
    for (Outcome o : outcomes) {
      sb.append("  ")
          .append(
              o.validity() == Validity.VALID
                  ? "ok      "
                  : o.validity() == Validity.INVALID ? "VIOLATED" : "unknown ")
          .append(' ')
          .append(o.name())
          .append(": ")
          .append(o.summary())
          .append('\n');
    }
    return sb.toString();
  }
}
