package dev.baton.lincheck.report;

import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.Explanation;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Outcome;
import dev.baton.lincheck.PartitionResult;
import dev.baton.lincheck.Values;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * A self-contained HTML page with an SVG timeline of a checked history: one row per process, one
 * bar per operation from its invocation to its completion. For a history that is not linearizable,
 * it shows the failing partition: the longest consistent prefix in green, numbered in linearization
 * order, the operations that cannot be ordered after it in red, and a red line where the order
 * breaks. The horizontal axis is event order, not wall-clock time, so that short operations stay
 * visible.
 */
public final class TimelineReport {
  private static final int ROW = 26;
  private static final int BAR = 18;
  private static final int LEFT = 70;
  private static final int TOP = 40;
  private static final int MAX_WIDTH = 6000;

  private TimelineReport() {}

  /**
   * Writes {@code <name>.html} into {@code dir} (created if needed) and returns its path.
   *
   * @param name the file name without extension (e.g. the history file's name)
   */
  public static Path write(
      Path dir, String name, History history, String modelName, CheckResult result)
      throws IOException {
    Files.createDirectories(dir);
    Path file = dir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".html");
    Files.writeString(file, html(history, modelName, result), StandardCharsets.UTF_8);
    return file;
  }

  /** The report as a string. */
  public static String html(History history, String modelName, CheckResult result) {
    Explanation ex = result.explanation();
    List<Operation> shown = new ArrayList<>();
    String scope;
    if (ex != null && result.partitions().size() > 1) {
      Object key = ex.partitionKey();
      for (Operation op : history.operations()) {
        if (Objects.equals(op.key(), key)) {
          shown.add(op);
        }
      }
      scope =
          "Showing the failing key "
              + Values.format(key)
              + ": "
              + shown.size()
              + " of "
              + history.operations().size()
              + " operations.";
    } else {
      shown.addAll(history.operations());
      scope = "Showing all " + shown.size() + " operations.";
    }
    StringBuilder sb = new StringBuilder();
    String title = history.source() == null ? "history" : history.source();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
        .append(esc(title))
        .append(" - ")
        .append(result.verdict())
        .append(
            "</title>\n<style>body{font-family:sans-serif;margin:1em}"
                + "pre{background:#f6f6f6;padding:.6em;overflow:auto}"
                + ".LINEARIZABLE{color:#1a7f37}.NOT_LINEARIZABLE{color:#cf222e}.UNKNOWN{color:#9a6700}"
                + "svg text{font-family:monospace;font-size:10px}</style></head><body>\n");
    sb.append("<h1>").append(esc(title)).append("</h1>\n");
    sb.append("<p>Model <b>")
        .append(esc(modelName))
        .append("</b>: <b class=\"")
        .append(result.verdict())
        .append("\">")
        .append(result.verdict())
        .append("</b>, ")
        .append(result.operationCount())
        .append(" operations, ")
        .append(result.partitions().size())
        .append(" partition(s), checked in ")
        .append(result.elapsed().toMillis())
        .append(" ms.");
    if (result.reason() != null) {
      sb.append(" Reason: ").append(esc(result.reason()));
    }
    sb.append("</p>\n");
    if (ex != null) {
      sb.append("<h2>Where the order breaks</h2>\n<pre>")
          .append(esc(ex.describe(20)))
          .append("</pre>\n");
    }
    sb.append("<p>")
        .append(esc(scope))
        .append(
            " Bars run from invocation to completion; hatched: outcome unknown (info or never"
                + " completed); grey: failed (did not happen).")
        .append(
            ex != null
                ? " Green, numbered: the longest consistent prefix; red: cannot be"
                    + " ordered next; red line: where the order breaks."
                : "")
        .append("</p>\n");
    sb.append(svg(shown, ex));
    if (result.partitions().size() > 1) {
      sb.append(
          "<h2>Partitions</h2>\n<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">"
              + "<tr><th>key</th><th>verdict</th><th>operations</th><th>configurations</th>"
              + "<th>ms</th></tr>\n");
      for (PartitionResult p : result.partitions()) {
        sb.append("<tr><td>")
            .append(esc(Values.format(p.key())))
            .append("</td><td class=\"")
            .append(p.verdict())
            .append("\">")
            .append(p.verdict())
            .append(p.reason() == null ? "" : " (" + esc(p.reason()) + ")")
            .append("</td><td>")
            .append(p.operationCount())
            .append("</td><td>")
            .append(p.configurations())
            .append("</td><td>")
            .append(p.elapsed().toMillis())
            .append("</td></tr>\n");
      }
      sb.append("</table>\n");
    }
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static String svg(List<Operation> ops, @Nullable Explanation ex) {
    // Axis: every distinct event position gets a column.
    TreeSet<Long> times = new TreeSet<>();
    for (Operation op : ops) {
      times.add(op.start());
      if (op.end() != Long.MAX_VALUE) {
        times.add(op.end());
      }
    }
    Map<Long, Integer> column = new HashMap<>();
    int c = 0;
    for (long t : times) {
      column.put(t, c++);
    }
    int columns = Math.max(1, c + 1);
    double step = Math.max(2.0, Math.min(24.0, (MAX_WIDTH - LEFT - 20) / (double) columns));
    TreeMap<Integer, Integer> rowOf = new TreeMap<>();
    for (Operation op : ops) {
      rowOf.put(op.process(), 0);
    }
    int r = 0;
    for (Map.Entry<Integer, Integer> e : rowOf.entrySet()) {
      e.setValue(r++);
    }
    Map<Integer, Integer> order = new HashMap<>();
    Map<Integer, String> notes = new HashMap<>();
    if (ex != null) {
      for (int i = 0; i < ex.longestPrefix().size(); i++) {
        order.put(ex.longestPrefix().get(i).id(), i + 1);
      }
      for (int i = 0; i < ex.unorderable().size(); i++) {
        notes.put(ex.unorderable().get(i).id(), ex.notes().get(i));
      }
    }
    int width = (int) Math.ceil(LEFT + columns * step + 40);
    int height = TOP + Math.max(1, rowOf.size()) * ROW + 20;
    StringBuilder sb = new StringBuilder();
    sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append(
            "\">\n<defs><pattern id=\"hatch\" width=\"6\" height=\"6\""
                + " patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                + "<rect width=\"6\" height=\"6\" fill=\"#ffe8b0\"/>"
                + "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d4a017\" stroke-width=\"2\"/>"
                + "</pattern></defs>\n");
    for (Map.Entry<Integer, Integer> e : rowOf.entrySet()) {
      int y = TOP + e.getValue() * ROW;
      sb.append("<text x=\"4\" y=\"")
          .append(y + BAR - 5)
          .append("\">p")
          .append(e.getKey())
          .append("</text><line x1=\"")
          .append(LEFT)
          .append("\" y1=\"")
          .append(y + BAR / 2)
          .append("\" x2=\"")
          .append(width - 10)
          .append("\" y2=\"")
          .append(y + BAR / 2)
          .append("\" stroke=\"#eee\"/>\n");
    }
    for (Operation op : ops) {
      double x1 = LEFT + at(column, op.start()) * step;
      boolean open = op.end() == Long.MAX_VALUE || op.isUnknown();
      double x2 =
          op.end() == Long.MAX_VALUE || op.isUnknown()
              ? LEFT + (columns - 1) * step + step / 2
              : LEFT + at(column, op.end()) * step;
      if (x2 - x1 < 3) {
        x2 = x1 + 3;
      }
      int y = TOP + at(rowOf, op.process()) * ROW;
      String fill;
      String stroke = "#555";
      if (notes.containsKey(op.id())) {
        fill = op.isUnknown() ? "url(#hatch)" : "#ffb3b3";
        stroke = "#cf222e";
      } else if (order.containsKey(op.id())) {
        fill = "#a6e3a1";
        stroke = "#1a7f37";
      } else if (op.outcome() == Outcome.FAIL) {
        fill = "#e5e5e5";
        stroke = "#aaa";
      } else if (open) {
        fill = "url(#hatch)";
      } else {
        fill = "#cfe3ff";
      }
      sb.append("<g><title>")
          .append(esc(op.toString()))
          .append(
              order.containsKey(op.id()) ? esc(" - #" + order.get(op.id()) + " in the prefix") : "")
          .append(
              notes.containsKey(op.id())
                  ? esc(" - cannot be ordered next: " + notes.get(op.id()))
                  : "")
          .append("</title><rect x=\"")
          .append(fmt(x1))
          .append("\" y=\"")
          .append(y)
          .append("\" width=\"")
          .append(fmt(x2 - x1))
          .append("\" height=\"")
          .append(BAR)
          .append("\" rx=\"3\" fill=\"")
          .append(fill)
          .append("\" stroke=\"")
          .append(stroke)
          .append(notes.containsKey(op.id()) ? "\" stroke-width=\"2" : "")
          .append("\"/>");
      String label = label(op, order.get(op.id()));
      if ((x2 - x1) > 6.6 * Math.min(label.length(), 4) + 4) {
        sb.append("<text x=\"")
            .append(fmt(x1 + 2))
            .append("\" y=\"")
            .append(y + BAR - 5)
            .append("\">")
            .append(esc(fit(label, (int) ((x2 - x1 - 4) / 6.6))))
            .append("</text>");
      }
      sb.append("</g>\n");
    }
    if (ex != null && ex.breakPoint() != Long.MAX_VALUE && column.containsKey(ex.breakPoint())) {
      double x = LEFT + column.get(ex.breakPoint()) * step;
      sb.append("<line x1=\"")
          .append(fmt(x))
          .append("\" y1=\"")
          .append(TOP - 14)
          .append("\" x2=\"")
          .append(fmt(x))
          .append("\" y2=\"")
          .append(height - 10)
          .append("\" stroke=\"#cf222e\" stroke-width=\"2\" stroke-dasharray=\"5,3\"/>")
          .append("<text x=\"")
          .append(fmt(x + 4))
          .append("\" y=\"")
          .append(TOP - 18)
          .append("\" fill=\"#cf222e\">order breaks here</text>\n");
    }
    sb.append("</svg>\n");
    return sb.toString();
  }

  /** The column or row of a time or process that the layout above gave one to. */
  private static <K> int at(Map<K, Integer> layout, K key) {
    return Objects.requireNonNull(layout.get(key), "no place for " + key);
  }

  private static String label(Operation op, @Nullable Integer order) {
    String v;
    if (op.isOk() && op.output() != null && !op.output().equals(op.input())) {
      v = Values.format(op.output());
    } else {
      v = Values.format(op.input());
    }
    return (order != null ? "#" + order + " " : "") + op.f() + " " + v;
  }

  private static String fit(String s, int chars) {
    if (s.length() <= chars) {
      return s;
    }
    return chars <= 1 ? "" : s.substring(0, chars - 1) + "\u2026";
  }

  private static String fmt(double d) {
    return String.format(java.util.Locale.ROOT, "%.1f", d);
  }

  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        default -> sb.append(ch);
      }
    }
    return sb.toString();
  }
}
