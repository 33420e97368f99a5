package dev.baton.benchmarks.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measured samples in long form, one CSV row per sample: {@code
 * system,scenario,trial,metric,value_ms,load1}. Every benchmark program (and the peer scripts)
 * writes this format, so {@link Plot} can draw them side by side.
 */
public final class Results {
  public static final String HEADER = "system,scenario,trial,metric,value_ms,load1";

  /** One sample. */
  public record Sample(
      String system, String scenario, int trial, String metric, double valueMs, double load1) {
    String csv() {
      return String.format(
          Locale.ROOT, "%s,%s,%d,%s,%.1f,%.2f", system, scenario, trial, metric, valueMs, load1);
    }

    /** The series this sample belongs to. */
    public String series() {
      return system + " " + scenario + " " + metric;
    }
  }

  private final List<Sample> samples = new ArrayList<>();

  public synchronized void add(Sample s) {
    samples.add(s);
  }

  public synchronized List<Sample> samples() {
    return List.copyOf(samples);
  }

  /** Samples grouped by series, in first-seen order. */
  public static Map<String, double[]> bySeries(List<Sample> samples) {
    Map<String, List<Double>> m = new LinkedHashMap<>();
    for (Sample s : samples) {
      m.computeIfAbsent(s.series(), k -> new ArrayList<>()).add(s.valueMs());
    }
    Map<String, double[]> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
    return out;
  }

  public synchronized void writeCsv(Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    StringBuilder b = new StringBuilder(HEADER).append('\n');
    samples.forEach(s -> b.append(s.csv()).append('\n'));
    Files.writeString(file, b.toString(), StandardCharsets.UTF_8);
  }

  /** Reads a file {@link #writeCsv} (or a peer script) wrote. */
  public static List<Sample> readCsv(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    if (lines.isEmpty() || !lines.get(0).trim().equals(HEADER)) {
      throw new IOException(file + ": first line must be '" + HEADER + "'");
    }
    List<Sample> out = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",");
      if (f.length != 6) {
        throw new IOException(file + ":" + (i + 1) + ": expected 6 fields, got " + f.length);
      }
      try {
        out.add(
            new Sample(
                f[0],
                f[1],
                Integer.parseInt(f[2]),
                f[3],
                Double.parseDouble(f[4]),
                Double.parseDouble(f[5])));
      } catch (NumberFormatException e) {
        throw new IOException(file + ":" + (i + 1) + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** Nearest-rank percentile of unsorted values. */
  public static double percentile(double[] values, double p) {
    double[] s = values.clone();
    Arrays.sort(s);
    int idx = (int) Math.ceil(p / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, idx))];
  }

  /**
   * {@code name, n=.., p50 .. p95 .. p99 .. max ..} of latencies in milliseconds, the name padded
   * to {@code nameWidth} and the percentiles given to {@code decimals} places (the maximum to one).
   */
  public static String latencyLine(String name, double[] ms, int nameWidth, int decimals) {
    String p = "%." + decimals + "f ms";
    return String.format(
        Locale.ROOT,
        "%-" + nameWidth + "s n=%d  p50 " + p + "  p95 " + p + "  p99 " + p + "  max %.1f ms",
        name,
        ms.length,
        percentile(ms, 50),
        percentile(ms, 95),
        percentile(ms, 99),
        percentile(ms, 100));
  }

  /** {@code name, n=.., p50 .. p95 .. p99 .. max ..} */
  public static String summary(String name, double[] v) {
    return String.format(
        Locale.ROOT,
        "%-48s n=%2d  p50 %7.0f ms  p95 %7.0f ms  p99 %7.0f ms  max %7.0f ms",
        name,
        v.length,
        percentile(v, 50),
        percentile(v, 95),
        percentile(v, 99),
        percentile(v, 100));
  }

  /** The 1-minute load average from /proc/loadavg (NaN where there is none). */
  public static double load1() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** /proc/loadavg's first three fields, for printing next to a number. */
  public static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return "load average " + f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "load average unknown";
    }
  }
}
