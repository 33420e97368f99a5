package dev.baton.lincheck.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.lincheck.Budget;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.Checker;
import dev.baton.lincheck.Explanation;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.PartitionResult;
import dev.baton.lincheck.Values;
import dev.baton.lincheck.Verdict;
import dev.baton.lincheck.io.EdnParser;
import dev.baton.lincheck.io.HistoryFiles;
import dev.baton.lincheck.io.HistoryFormat;
import dev.baton.lincheck.models.Models;
import dev.baton.lincheck.models.NilRead;
import dev.baton.lincheck.report.TimelineReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lincheck --model NAME [--initial VALUE] FILE...}: checks each history file and prints one
 * line per file. Exit status: 0 when every file is linearizable, 1 when any is not, otherwise 2
 * when any is unknown (budget) or unreadable.
 */
@Command(
    name = "lincheck",
    mixinStandardHelpOptions = true,
    version = "lincheck (Baton linearizability checker)",
    sortOptions = false,
    description = {
      "Checks histories of concurrent operations for linearizability.",
      "Prints one line per file: verdict, operation count, time taken.",
      "Exit status: 0 all linearizable; 1 some file is not linearizable;"
          + " 2 otherwise, if some file is unknown (budget exhausted) or unreadable."
    },
    exitCodeOnInvalidInput = 2,
    exitCodeOnExecutionException = 2)
public final class Lincheck implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = {"-m", "--model"},
      required = true,
      paramLabel = "NAME",
      description = "register, cas-register, kv, mutex or fenced-register.")
  String model;

  @Option(
      names = {"-i", "--initial"},
      paramLabel = "VALUE",
      description =
          "Initial state as EDN: nil (absent), 0, \"\", true, [token value]. Default: nil for"
              + " registers, \"\" for kv, false (free) for mutex, [nil nil] for fenced-register.")
  String initial;

  @Option(
      names = "--nil-read",
      paramLabel = "MEANING",
      defaultValue = "unknown",
      description =
          "What a read of nil (EDN nil, JSON null) means: unknown (Jepsen's rule: the value was"
              + " not known, so the read matches any state) or absent (nil is a value: the read"
              + " found the register or key absent). Default: ${DEFAULT-VALUE}.")
  String nilRead;

  @Option(
      names = "--format",
      paramLabel = "FORMAT",
      description =
          "edn, jepsen-log or jsonl. Default: from the file name (.edn, .log, .jsonl) or its"
              + " first line.")
  String format;

  @Option(names = "--json", description = "Print one JSON object per file instead of text.")
  boolean json;

  @Option(
      names = "--explain",
      description = "After a NOT_LINEARIZABLE line, print the full explanation.")
  boolean explain;

  @Option(
      names = "--report",
      paramLabel = "DIR",
      description = "Write an HTML page with an SVG timeline per file into DIR.")
  Path reportDir;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "60s",
      description = "Time budget per file (e.g. 500ms, 30s, 2m). Default: ${DEFAULT-VALUE}.")
  String timeout;

  @Option(
      names = "--max-memory",
      paramLabel = "SIZE",
      defaultValue = "512m",
      description =
          "Memory budget per file for the search's memo (e.g. 256m, 2g). Default: ${DEFAULT-VALUE}.")
  String maxMemory;

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "History files.")
  List<Path> files;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Entry point of {@code bin/lincheck}. */
  public static void main(String[] args) {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "lincheck-logback.xml");
    }
    System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /** Runs the command with these streams and returns the exit status (used by tests). */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new Lincheck());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          cmd.getErr().println("lincheck: " + ex.getMessage());
          return 2;
        });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Model<?> m;
    Budget budget;
    HistoryFormat fmt;
    try {
      Object init = initial == null ? Models.DEFAULT_INITIAL : EdnParser.parseOne(initial);
      m = Models.byName(model, init, NilRead.parse(nilRead));
      budget = Budget.of(parseDuration(timeout), parseSize(maxMemory));
      fmt = format == null ? null : HistoryFormat.parse(format);
    } catch (RuntimeException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    int linearizable = 0;
    int notLinearizable = 0;
    int unknown = 0;
    int unreadable = 0;
    long started = System.nanoTime();
    Set<String> reportNames = new HashSet<>();
    for (Path file : files) {
      long t0 = System.nanoTime();
      History history;
      CheckResult result;
      try {
        history = HistoryFiles.read(file, fmt);
        result = Checker.check(history, m, budget);
      } catch (NoSuchFileException e) {
        unreadable++;
        printUnreadable(out, file, "no such file", t0);
        continue;
      } catch (IOException | UncheckedIOException e) {
        unreadable++;
        printUnreadable(out, file, e.toString(), t0);
        continue;
      } catch (RuntimeException e) {
        // HistoryFormatException and model errors: their messages name the file and line.
        unreadable++;
        printUnreadable(out, file, e.getMessage(), t0);
        continue;
      }
      switch (result.verdict()) {
        case LINEARIZABLE -> linearizable++;
        case NOT_LINEARIZABLE -> notLinearizable++;
        case UNKNOWN -> unknown++;
        default -> throw new AssertionError(result.verdict());
      }
      Path report = null;
      if (reportDir != null) {
        String name = file.getFileName().toString();
        String unique = name;
        for (int i = 2; !reportNames.add(unique); i++) {
          unique = name + "-" + i;
        }
        try {
          report = TimelineReport.write(reportDir, unique, history, m.name(), result);
        } catch (IOException e) {
          err.println("lincheck: cannot write the report for " + file + ": " + e);
        }
      }
      print(out, file, result, report);
    }
    if (files.size() > 1 && !json) {
      err.printf(
          Locale.ROOT,
          "%d files: %d linearizable, %d not linearizable, %d unknown, %d unreadable (%.2f s)%n",
          files.size(),
          linearizable,
          notLinearizable,
          unknown,
          unreadable,
          (System.nanoTime() - started) / 1e9);
    }
    if (notLinearizable > 0) {
      return 1;
    }
    return unknown > 0 || unreadable > 0 ? 2 : 0;
  }

  private void printUnreadable(PrintWriter out, Path file, @Nullable String reason, long t0) {
    long ms = (System.nanoTime() - t0) / 1_000_000;
    if (json) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("file", file.toString());
      o.put("verdict", "UNREADABLE");
      o.put("millis", ms);
      o.put("reason", reason);
      out.println(toJson(o));
    } else {
      out.println(file + ": UNREADABLE: " + reason);
    }
  }

  private void print(PrintWriter out, Path file, CheckResult r, @Nullable Path report) {
    if (json) {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("file", file.toString());
      o.put("verdict", r.verdict().name());
      o.put("operations", r.operationCount());
      o.put("millis", r.elapsed().toMillis());
      if (r.reason() != null) {
        o.put("reason", r.reason());
      }
      if (r.explanation() != null) {
        o.put("explanation", explanationJson(r.explanation()));
      }
      List<Object> parts = new ArrayList<>();
      for (PartitionResult p : r.partitions()) {
        Map<String, Object> po = new LinkedHashMap<>();
        po.put("key", p.key() == null ? null : Values.format(p.key()));
        po.put("verdict", p.verdict().name());
        po.put("operations", p.operationCount());
        po.put("configurations", p.configurations());
        po.put("millis", p.elapsed().toMillis());
        if (p.reason() != null) {
          po.put("reason", p.reason());
        }
        parts.add(po);
      }
      o.put("partitions", parts);
      if (report != null) {
        o.put("report", report.toString());
      }
      out.println(toJson(o));
      return;
    }
    StringBuilder line = new StringBuilder();
    line.append(file)
        .append(": ")
        .append(r.verdict())
        .append(" (")
        .append(r.operationCount())
        .append(" operations, ")
        .append(r.elapsed().toMillis())
        .append(" ms)");
    if (r.verdict() == Verdict.NOT_LINEARIZABLE) {
      line.append(": ").append(Objects.requireNonNull(r.explanation()).summary());
    } else if (r.verdict() == Verdict.UNKNOWN) {
      line.append(": ").append(r.reason());
    }
    out.println(line);
    if (explain && r.explanation() != null) {
      for (String l : r.explanation().describe(10).split("\n")) {
        out.println("    " + l);
      }
    }
    if (explain && report != null) {
      out.println("    report: " + report);
    }
  }

  private static Map<String, Object> explanationJson(Explanation e) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("key", e.partitionKey() == null ? null : Values.format(e.partitionKey()));
    o.put("summary", e.summary());
    List<Object> prefix = new ArrayList<>();
    for (Operation op : e.longestPrefix()) {
      prefix.add(op.toString());
    }
    o.put("longestPrefix", prefix);
    o.put("stateAfterPrefix", e.stateAfterPrefix());
    List<Object> un = new ArrayList<>();
    for (int i = 0; i < e.unorderable().size(); i++) {
      Map<String, Object> u = new LinkedHashMap<>();
      u.put("operation", e.unorderable().get(i).toString());
      u.put("why", e.notes().get(i));
      un.add(u);
    }
    o.put("unorderable", un);
    return o;
  }

  private static String toJson(Object o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");

  static Duration parseDuration(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    if (t.startsWith("pt")) {
      return Duration.parse(s.trim());
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "--timeout: expected a duration like 500ms, 30s, 2m, got '" + s + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> throw new AssertionError(unit);
    };
  }

  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmg]?)b?");

  static long parseSize(String s) {
    Matcher m = SIZE.matcher(s.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "--max-memory: expected a size like 256m or 2g, got '" + s + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "k" -> n << 10;
      case "m" -> n << 20;
      case "g" -> n << 30;
      default -> n;
    };
  }
}
