package dev.baton.jepsen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Overlap;
import dev.baton.jepsen.NodeEvents.Activation;
import dev.baton.lincheck.Event;
import dev.baton.lincheck.History;
import dev.baton.lincheck.io.HistoryWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** Writes a run's files: histories, {@code results.json}, {@code timeline.html}. */
final class RunReport {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private RunReport() {}

  /**
   * {@code history.edn}: the KV clients' operations and the nemesis's, Jepsen style ({@code
   * :process :nemesis}); {@code history.jsonl}: the KV operations ({@code bin/lincheck --model
   * cas-register --nil-read absent}: a read of null found the key absent); {@code
   * fenced.jsonl}/{@code fenced.edn}: the fenced writes ({@code --model fenced-register}); {@code
   * nemesis.jsonl}: the schedule.
   */
  static void writeHistories(Path dir, History kv, History fenced, List<Nemesis.Event> schedule)
      throws IOException {
    HistoryWriter.writeJsonLines(kv, dir.resolve("history.jsonl"));
    HistoryWriter.writeJsonLines(fenced, dir.resolve("fenced.jsonl"));
    HistoryWriter.writeEdn(fenced, dir.resolve("fenced.edn"));
    List<Object[]> lines = new ArrayList<>();
    for (Event e : kv.events()) {
      lines.add(new Object[] {e.time(), HistoryWriter.toEdnLine(e)});
    }
    for (Nemesis.Event n : schedule) {
      String f = n.source();
      lines.add(
          new Object[] {
            n.time(),
            "{:process :nemesis, :type :info, :f :"
                + f
                + ", :value \""
                + (n.phase() + ": " + n.detail()).replace("\\", "\\\\").replace("\"", "\\\"")
                + "\", :time "
                + n.time()
                + "}"
          });
    }
    lines.sort(Comparator.comparingLong(o -> (Long) o[0]));
    try (Writer w = Files.newBufferedWriter(dir.resolve("history.edn"), StandardCharsets.UTF_8)) {
      for (Object[] l : lines) {
        w.write((String) l[1]);
        w.write('\n');
      }
    }
    try (Writer w = Files.newBufferedWriter(dir.resolve("nemesis.jsonl"), StandardCharsets.UTF_8)) {
      for (Nemesis.Event n : schedule) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", n.time());
        m.put("nemesis", n.source());
        m.put("phase", n.phase());
        m.put("detail", n.detail());
        w.write(new ObjectMapper().writeValueAsString(m));
        w.write('\n');
      }
    }
  }

  static void writeResults(RunResult r, long origin) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("run", r.options().name());
    m.put(
        "valid",
        switch (r.validity()) {
          case VALID -> true;
          case INVALID -> false;
          case UNKNOWN -> "unknown";
        });
    Map<String, Object> opts = new LinkedHashMap<>();
    opts.put("nodes", r.options().nodes());
    opts.put("timeLimitSeconds", r.options().timeLimit().toSeconds());
    opts.put("nemeses", r.options().nemeses().stream().map(NemesisKind::wireName).toList());
    opts.put(
        "workloads",
        r.options().workloads().stream().map(w -> w.name().toLowerCase(Locale.ROOT)).toList());
    opts.put("seed", r.options().seed());
    opts.put("unsafe", r.options().unsafe());
    opts.put("clockRates", r.options().clockRates());
    m.put("options", opts);
    m.put("seconds", Math.round(r.seconds() * 10) / 10.0);
    Map<String, Object> checkers = new LinkedHashMap<>();
    for (Outcome o : r.outcomes()) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put(
          "valid",
          switch (o.validity()) {
            case VALID -> true;
            case INVALID -> false;
            case UNKNOWN -> "unknown";
          });
      c.put("guarantee", o.guarantee());
      c.put("summary", o.summary());
      c.put("details", o.details());
      checkers.put(o.name(), c);
    }
    m.put("checkers", checkers);
    m.put("stats", r.stats());
    List<Map<String, Object>> schedule = new ArrayList<>();
    for (Nemesis.Event e : r.schedule()) {
      Map<String, Object> s = new LinkedHashMap<>();
      s.put("at", Math.round((e.time() - origin) / 1e6) / 1000.0);
      s.put("nemesis", e.source());
      s.put("phase", e.phase());
      s.put("detail", e.detail());
      schedule.add(s);
    }
    m.put("nemesisSchedule", schedule);
    // Each node app that exited by itself (its node stopped itself) and the supervisor's restart:
    // not an anomaly by itself (the safety checkers judge what happened around it), but listed so
    // that a liveness bug it points to is not hidden.
    List<Map<String, Object>> selfStops = new ArrayList<>();
    for (Nemesis.Event e : r.schedule()) {
      if (e.phase().equals(Supervisor.SELF_STOP) || e.phase().equals(Supervisor.RESTARTED)) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("at", Math.round((e.time() - origin) / 1e6) / 1000.0);
        s.put("phase", e.phase());
        s.put("detail", e.detail());
        selfStops.add(s);
      }
    }
    m.put("selfStops", selfStops);
    m.put(
        "files",
        List.of(
            "history.edn",
            "history.jsonl",
            "fenced.jsonl",
            "fenced.edn",
            "nemesis.jsonl",
            "timeline.html",
            "containers/<name>/events.jsonl",
            "containers/<name>/output.log"));
    JSON.writeValue(r.directory().resolve("results.json").toFile(), m);
  }

  /** Failover durations: from one activation's last active sample to the next one's first. */
  static List<long[]> failovers(List<Activation> activations) {
    List<Activation> sorted = new ArrayList<>(activations);
    sorted.sort(Comparator.comparingLong(Activation::firstT0));
    List<long[]> out = new ArrayList<>();
    for (int i = 1; i < sorted.size(); i++) {
      Activation prev = sorted.get(i - 1);
      Activation next = sorted.get(i);
      if (next.firstT1() > prev.lastT0()) {
        out.add(new long[] {prev.lastT0(), next.firstT1()});
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------- timeline.html

  static void writeTimeline(
      RunResult r,
      long origin,
      long end,
      List<Activation> activations,
      List<DnsWatcher.Observation> dns,
      List<Checks.Row> staleRows,
      Map<String, Long> rowTimes,
      List<NodeEvents.Op> refusals)
      throws IOException {
    int width = 1500;
    int left = 110;
    int plot = width - left - 20;
    double span = Math.max(1, end - origin);
    java.util.function.LongFunction<Double> x = t -> left + plot * ((t - origin) / span);
    List<String> rows = new ArrayList<>();
    rows.add("nemesis");
    TreeSet<String> nodeIds =
        new TreeSet<>(Comparator.comparingInt(s -> Integer.parseInt(s.substring(1))));
    for (int i = 1; i <= r.options().nodes(); i++) {
      nodeIds.add("n" + i);
    }
    rows.addAll(nodeIds);
    rows.add("failovers");
    rows.add("dns fence");
    rows.add("fence refused");
    rows.add("violations");
    int rowH = 34;
    int top = 40;
    int height = top + rows.size() * rowH + 40;
    StringBuilder svg = new StringBuilder();
    svg.append("<svg xmlns='http://www.w3.org/2000/svg' width='")
        .append(width)
        .append("' height='")
        .append(height)
        .append("' font-family='sans-serif' font-size='11'>\n");
    for (int i = 0; i < rows.size(); i++) {
      int y = top + i * rowH;
      svg.append(String.format("<text x='4' y='%d'>%s</text>%n", y + 20, esc(rows.get(i))));
      svg.append(
          String.format(
              "<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='#ddd'/>%n",
              left, left + plot, y + rowH, y + rowH));
    }
    // time axis
    double seconds = span / 1e9;
    int step = seconds > 120 ? 10 : seconds > 40 ? 5 : 1;
    for (int s = 0; s <= seconds; s += step) {
      double xs = x.apply(origin + (long) (s * 1e9));
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#eee'/><text x='%.1f' y='%d'"
                  + " fill='#666'>%ds</text>%n",
              xs,
              xs,
              top,
              top + rows.size() * rowH,
              xs - 6,
              top - 8,
              s));
    }
    // nemesis bands
    Map<NemesisKind, Long> open = new LinkedHashMap<>();
    Map<NemesisKind, String> openDetail = new LinkedHashMap<>();
    for (Nemesis.Event e : r.schedule()) {
      if (e.kind() == null) {
        continue;
      }
      if (e.phase().equals("start")) {
        open.put(e.kind(), e.time());
        openDetail.put(e.kind(), e.detail());
      } else if (e.phase().equals("end") && open.containsKey(e.kind())) {
        band(
            svg,
            x,
            open.remove(e.kind()),
            e.time(),
            top,
            rowH,
            rows.size() * rowH,
            color(e.kind()),
            e.kind().wireName() + ": " + openDetail.get(e.kind()),
            e.kind().wireName());
      }
    }
    for (Map.Entry<NemesisKind, Long> e : open.entrySet()) {
      band(
          svg,
          x,
          e.getValue(),
          end,
          top,
          rowH,
          rows.size() * rowH,
          color(e.getKey()),
          e.getKey().wireName() + ": " + openDetail.get(e.getKey()),
          e.getKey().wireName());
    }
    // activations
    List<String> rowList = rows;
    for (Activation a : activations) {
      int y = top + rowList.indexOf(a.node()) * rowH;
      double x0 = x.apply(a.firstT1() <= a.lastT0() ? a.firstT1() : a.firstT0());
      double x1 = Math.max(x0 + 1.5, x.apply(a.lastT0()));
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>%s token %d (incarnation %d):"
                  + " %.3f s to %.3f s, %d samples%s</title></rect>%n",
              x0,
              y + 6,
              x1 - x0,
              rowH - 12,
              tokenColor(a.token()),
              a.node(),
              a.token(),
              a.incarnation(),
              (a.firstT1() - origin) / 1e9,
              (a.lastT0() - origin) / 1e9,
              a.samples(),
              a.endF0() < 0 ? ", end not sampled (killed, paused or stopped)" : ""));
      if (x1 - x0 > 22) {
        svg.append(
            String.format(
                Locale.ROOT,
                "<text x='%.1f' y='%d' fill='white'>%d</text>%n",
                x0 + 3,
                y + 21,
                a.token()));
      }
    }
    // failovers
    int fy = top + rows.indexOf("failovers") * rowH;
    for (long[] f : failovers(activations)) {
      double x0 = x.apply(f[0]);
      double x1 = x.apply(f[1]);
      double ms = (f[1] - f[0]) / 1e6;
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#333' marker-end=''/><title>no"
                  + " active for %.0f ms</title>%n<text x='%.1f' y='%d' fill='#333'>%s</text>%n",
              x0,
              x1,
              fy + 17,
              fy + 17,
              ms,
              x0,
              fy + 12,
              ms >= 1000
                  ? String.format(Locale.ROOT, "%.1fs", ms / 1000)
                  : String.format(Locale.ROOT, "%.0fms", ms)));
    }
    // dns fence changes
    int dy = top + rows.indexOf("dns fence") * rowH;
    long last = -2;
    for (DnsWatcher.Observation o : dns) {
      if (o.error() != null) {
        svg.append(
            String.format(
                Locale.ROOT,
                "<rect x='%.1f' y='%d' width='2' height='6' fill='#bbb'><title>no answer: %s</title></rect>%n",
                x.apply(o.time()),
                dy + 24,
                esc(o.error())));
        continue;
      }
      if (o.token() != last) {
        svg.append(
            String.format(
                Locale.ROOT,
                "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='%s' stroke-width='2'/><text"
                    + " x='%.1f' y='%d'>%d %s</text>%n",
                x.apply(o.time()),
                x.apply(o.time()),
                dy + 4,
                dy + 30,
                tokenColor(o.token()),
                x.apply(o.time()) + 2,
                dy + 15,
                o.token(),
                esc(o.node())));
        last = o.token();
      }
    }
    // stale writes the fence refused (correct refusals: the fenced-register check judges them)
    int ry = top + rows.indexOf("fence refused") * rowH;
    for (NodeEvents.Op op : refusals) {
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x='%.1f' y='%d' width='3' height='%d' fill='#555'><title>the fence refused a"
                  + " write by %s: stale token (%s)</title></rect>%n",
              x.apply(op.time()),
              ry + 8,
              rowH - 16,
              op.node(),
              esc(String.valueOf(op.error()))));
    }
    // violations: I2 overlaps and I3 stale commits
    int vy = top + rows.indexOf("violations") * rowH;
    for (Overlap o : Checks.overlaps(activations)) {
      double x0 = x.apply(o.from());
      double x1 = Math.max(x0 + 3, x.apply(o.to()));
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='red'><title>I2: %s (token %d) and"
                  + " %s (token %d) both active for %.3f ms</title></rect>%n",
              x0,
              vy + 4,
              x1 - x0,
              rowH - 8,
              o.a().node(),
              o.a().token(),
              o.b().node(),
              o.b().token(),
              (o.to() - o.from()) / 1e6));
    }
    for (Checks.Row s : staleRows) {
      Long t = rowTimes.get(s.value());
      if (t == null) {
        continue;
      }
      svg.append(
          String.format(
              Locale.ROOT,
              "<circle cx='%.1f' cy='%d' r='4' fill='darkred'><title>I3: %s committed %s with stale"
                  + " token %d (commit #%d)</title></circle>%n",
              x.apply(t),
              vy + rowH / 2,
              s.node(),
              esc(s.value()),
              s.token(),
              s.commitSeq()));
    }
    svg.append("</svg>\n");

    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html><html><head><meta charset='utf-8'><title>")
        .append(esc(r.options().name()))
        .append(
            "</title><style>body{font-family:sans-serif;margin:16px}td,th{padding:2px 8px;"
                + "text-align:left;vertical-align:top}.bad{color:#b00;font-weight:bold}"
                + ".ok{color:#070}</style></head><body>\n");
    html.append("<h2>Jepsen-style run ").append(esc(r.options().name())).append("</h2>\n");
    html.append("<p>")
        .append(esc(r.describe().lines().findFirst().orElse("")))
        .append("</p>\n<table>\n");
    for (Outcome o : r.outcomes()) {
      String cls =
          o.validity() == Checks.Validity.INVALID
              ? "bad"
              : o.validity() == Checks.Validity.VALID ? "ok" : "";
      html.append("<tr><td class='")
          .append(cls)
          .append("'>")
          .append(o.validity())
          .append("</td><th>")
          .append(esc(o.name()))
          .append("</th><td>")
          .append(esc(o.summary()))
          .append("<br><small>")
          .append(esc(o.guarantee()))
          .append("</small></td></tr>\n");
    }
    html.append(
        "</table>\n<p>Time runs left to right (seconds since the cluster was created,"
            + " CLOCK_MONOTONIC shared by all containers). Rows: nemesis bands; each node's sampled"
            + " active intervals, labelled with their token; the gaps between actives (failover"
            + " durations); the DNS fence record's token; violations. Hover for details.</p>\n");
    html.append(svg);
    html.append("<h3>Nemesis schedule</h3><table>\n");
    for (Nemesis.Event e : r.schedule()) {
      html.append(
          String.format(
              Locale.ROOT,
              "<tr><td>%.3f s</td><td>%s</td><td>%s</td><td>%s</td></tr>%n",
              (e.time() - origin) / 1e9,
              e.source(),
              esc(e.phase()),
              esc(e.detail())));
    }
    html.append("</table>\n<h3>Failovers</h3><p>");
    List<String> fo = new ArrayList<>();
    for (long[] f : failovers(activations)) {
      fo.add(
          String.format(
              Locale.ROOT, "%.0f ms at %.1f s", (f[1] - f[0]) / 1e6, (f[0] - origin) / 1e9));
    }
    html.append(esc(fo.isEmpty() ? "none" : String.join("; ", fo))).append("</p>\n");
    html.append("</body></html>\n");
    Files.writeString(r.directory().resolve("timeline.html"), html, StandardCharsets.UTF_8);
  }

  private static void band(
      StringBuilder svg,
      java.util.function.LongFunction<Double> x,
      long from,
      long to,
      int top,
      int rowH,
      int totalH,
      String color,
      String title,
      String label) {
    double x0 = x.apply(from);
    double x1 = Math.max(x0 + 2, x.apply(to));
    svg.append(
        String.format(
            Locale.ROOT,
            "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s' opacity='0.25'/>"
                + "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>%s</title></rect>"
                + "<text x='%.1f' y='%d' font-size='9'>%s</text>%n",
            x0,
            top,
            x1 - x0,
            totalH,
            color,
            x0,
            top + 6,
            x1 - x0,
            rowH - 12,
            color,
            esc(title),
            x0 + 2,
            top + 4,
            esc(label)));
  }

  private static String color(NemesisKind k) {
    return switch (k) {
      case PARTITION_HALVES,
          PARTITION_BRIDGE,
          PARTITION_MAJORITY_RING,
          PARTITION_ISOLATE_ACTIVE,
          PARTITION_LEADER_AFTER_READ ->
          "#e69f00";
      case KILL -> "#d55e00";
      case PAUSE -> "#cc79a7";
      case CLOCK -> "#56b4e9";
      case PG_KILL -> "#009e73";
      case DNS_PAUSE -> "#0072b2";
      case SWITCH_ACTIVE -> "#f0e442";
      case MEMBERSHIP, WIPE -> "#999999";
      case OUTSIDER -> "#000000";
      case HEALTH -> "#8fbc8f";
      case PG_PAUSED_TXN -> "#882255";
      case REGION_CUT -> "#44aa99";
    };
  }

  private static String tokenColor(long token) {
    String[] palette = {
      "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#d95f02"
    };
    return palette[(int) Math.floorMod(token * 2654435761L, palette.length)];
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;");
  }
}
