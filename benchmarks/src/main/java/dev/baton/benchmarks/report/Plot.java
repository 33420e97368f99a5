package dev.baton.benchmarks.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws samples as an SVG chart: for each series, the sorted values as a cumulative distribution
 * (x: time, log scale; y: fraction of trials at or under x). No library: plain SVG text.
 *
 * <p>Run: {@code java -cp ... dev.baton.benchmarks.report.Plot out.svg "title" a.csv b.csv ...}
 * (CSV files in the {@link Results} format); prints every series' summary too.
 */
public final class Plot {
  private static final String[] COLORS = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"
  };
  private static final int W = 900;
  private static final int H = 480;
  private static final int LEFT = 70;
  private static final int RIGHT = 20;
  private static final int TOP = 40;
  private static final int BOTTOM = 60;

  private Plot() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: Plot OUT.svg TITLE RESULTS.csv...");
      System.exit(2);
    }
    List<Results.Sample> all = new ArrayList<>();
    for (int i = 2; i < args.length; i++) {
      // Idle footprint rows (percent of a core, MiB) are not times: not on this chart.
      Results.readCsv(Path.of(args[i])).stream()
          .filter(s -> !s.scenario().startsWith("idle"))
          .forEach(all::add);
    }
    Map<String, double[]> series = Results.bySeries(all);
    series.forEach((k, v) -> System.out.println(Results.summary(k, v)));
    write(Path.of(args[0]), args[1], series);
    System.out.println("wrote " + args[0]);
  }

  /** Writes the chart of {@code series} (name to values in ms) to {@code file}. */
  public static void write(Path file, String title, Map<String, double[]> series)
      throws IOException {
    double min = Double.MAX_VALUE;
    double max = 0;
    for (double[] v : series.values()) {
      for (double x : v) {
        min = Math.min(min, Math.max(x, 1));
        max = Math.max(max, x);
      }
    }
    if (series.isEmpty() || max <= 0) {
      throw new IllegalArgumentException("nothing to plot");
    }
    double lo = Math.pow(10, Math.floor(Math.log10(min)));
    double hi = Math.pow(10, Math.ceil(Math.log10(max)));
    if (hi <= lo) {
      hi = lo * 10;
    }
    int pw = W - LEFT - RIGHT;
    int ph = H - TOP - BOTTOM;
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">\n",
            W,
            H + 18 * series.size()));
    b.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    b.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            LEFT,
            escape(title)));
    // Grid: decades and their 2x, 5x on x; tenths on y.
    for (double d = lo; d <= hi * 1.0001; d *= 10) {
      for (int m : new int[] {1, 2, 5}) {
        double x = d * m;
        if (x > hi * 1.0001) {
          break;
        }
        double px = LEFT + pw * (Math.log10(x / lo) / Math.log10(hi / lo));
        b.append(
            String.format(
                Locale.ROOT,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
                    + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                px,
                TOP,
                px,
                TOP + ph,
                px,
                TOP + ph + 16,
                label(x)));
      }
    }
    for (int i = 0; i <= 10; i++) {
      double py = TOP + ph - ph * i / 10.0;
      b.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                  + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
              LEFT,
              py,
              LEFT + pw,
              py,
              LEFT - 6,
              py + 4,
              i * 10));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n"
                + "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (log scale)</text>\n"
                + "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
                + "text-anchor=\"middle\">fraction of trials at or under</text>\n",
            LEFT,
            TOP,
            pw,
            ph,
            LEFT + pw / 2,
            TOP + ph + 36,
            TOP + ph / 2,
            TOP + ph / 2));
    int i = 0;
    for (Map.Entry<String, double[]> e : series.entrySet()) {
      String color = COLORS[i % COLORS.length];
      double[] v = e.getValue().clone();
      Arrays.sort(v);
      StringBuilder pts = new StringBuilder();
      double prevY = TOP + ph;
      for (int k = 0; k < v.length; k++) {
        double px = LEFT + pw * (Math.log10(Math.max(v[k], lo) / lo) / Math.log10(hi / lo));
        double py = TOP + ph - ph * (k + 1) / (double) v.length;
        pts.append(String.format(Locale.ROOT, "%.1f,%.1f %.1f,%.1f ", px, prevY, px, py));
        prevY = py;
      }
      b.append(
          String.format(
              Locale.ROOT,
              "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n",
              color,
              pts.toString().trim()));
      int ly = H + 18 * i - 4;
      b.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>\n"
                  + "<text x=\"%d\" y=\"%d\">%s (n=%d, p50 %.0f ms, p99 %.0f ms)</text>\n",
              LEFT,
              ly - 4,
              color,
              LEFT + 20,
              ly,
              escape(e.getKey()),
              v.length,
              Results.percentile(v, 50),
              Results.percentile(v, 99)));
      i++;
    }
    b.append("</svg>\n");
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, b.toString(), StandardCharsets.UTF_8);
  }

  private static String label(double ms) {
    return ms >= 1000 ? trim(ms / 1000) + " s" : trim(ms) + " ms";
  }

  private static String trim(double x) {
    return x == Math.rint(x) ? Long.toString((long) x) : String.format(Locale.ROOT, "%.1f", x);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
