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
    if (validity() != Validity.VALID) {
      sb.append(evidence());
    }
    return sb.toString();
  }

  /** Lines of each node's log that tell elections, roles and membership apart. */
  private static final java.util.regex.Pattern TELLING =
      java.util.regex.Pattern.compile(
          "result (PASSED|REJECTED|TIMEOUT|DISCOVERED|SHUTDOWN)|Replier log is empty|rejectedPeers"
              + "|won the role|giving up the role|ACTIVE with|membership change|hold the"
              + " configuration|did not confirm|REFUSED|NOT_IN_CONF|shut|halt|stops itself");

  private static final int LINES_PER_NODE = 14;

  /**
   * For a run that is not valid, what CI keeps of it: the fault schedule, and the last telling
   * lines of each node's log (the files themselves stay in the run's directory, which a CI machine
   * does not keep).
   */
  String evidence() {
    StringBuilder sb = new StringBuilder("  faults:\n");
    for (Nemesis.Event e : schedule) {
      sb.append("    ")
          .append(e.source())
          .append(' ')
          .append(e.phase())
          .append(": ")
          .append(clip(e.detail(), 160))
          .append('\n');
    }
    Path containers = directory.resolve("containers");
    try (java.util.stream.Stream<Path> nodes = java.nio.file.Files.list(containers)) {
      for (Path node : nodes.sorted().toList()) {
        Path log = node.resolve("output.log");
        if (!java.nio.file.Files.isRegularFile(log)) {
          continue;
        }
        List<String> telling;
        try (java.util.stream.Stream<String> lines =
            java.nio.file.Files.lines(log, java.nio.charset.StandardCharsets.UTF_8)) {
          telling = lines.filter(l -> TELLING.matcher(l).find()).toList();
        }
        sb.append("  ").append(node.getFileName()).append(" (last telling lines of its log):\n");
        for (String l :
            telling.subList(Math.max(0, telling.size() - LINES_PER_NODE), telling.size())) {
          sb.append("    ").append(clip(l, 240)).append('\n');
        }
      }
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      sb.append("  (no node logs under ").append(containers).append(": ").append(e).append(")\n");
    }
    return sb.toString();
  }

  private static String clip(String s, int max) {
    String one = s.replace('\n', ' ');
    return one.length() <= max ? one : one.substring(0, max) + "…";
  }
}
