package dev.baton.sidecar.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README says each figure once, with the command that produced it (issue 34):
 *
 * <ul>
 *   <li>(a) for each of {@link #MEASURES}, every place the README states the measure gives the same
 *       value (a rounded repeat agrees: "1.72 s" agrees with "1723 ms", "1.7 s" with both);
 *   <li>(b) in the Performance section, every table and every paragraph with a measured figure
 *       names its command: a code span starting with {@code scripts/}, {@code bin/}, {@code
 *       ./mvnw}, {@code bash } or {@code java }: for a paragraph, in it or in a code block just
 *       after it; for a table, in the table itself, in its caption (the paragraph just above it),
 *       or in a code block between the caption and the table. A threshold ("&lt; 96 MiB", "≤ 3 s")
 *       is a goal, not a figure.
 * </ul>
 */
class ReadmeFiguresTest {
  private static final Path README = Path.of("..", "README.md").toAbsolutePath().normalize();

  /**
   * The measures the README states. Each pattern finds one way the README writes the measure (its
   * table row, a prose form); its group 1 is the figure, a number with or without a unit (ms, s,
   * µs, MiB, %, ×; without one, the measure's unit). Fenced code blocks are not searched (sample
   * output is not a claim), and a line break counts as a space.
   *
   * <p>To add a measure: append {@code new Measure(name, unit, patterns...)} with one pattern for
   * its table row and one for each prose form in which it is or was repeated, then check that the
   * test fails on a copy of the README where one occurrence is changed.
   */
  static final List<Measure> MEASURES =
      List.of(
          new Measure(
              "KV put p50 (Baton)",
              "ms",
              "\\| put \\| ([\\d.]+ ms) \\|",
              "\\bput\\b[^|]{0,40}?(?:p50|median)\\D{0,6}?([\\d.]+ ?ms)"),
          new Measure(
              "KV put p50, Baton / etcd",
              "×",
              "\\| put \\|(?: [^|]* \\|){6,8} ([\\d.]+×) slower",
              "KV put ≤ 1\\.5× etcd \\| ([\\d.]+×)"),
          new Measure(
              "linearizable get p50 (Baton)",
              "ms",
              "\\| linearizable get \\| ([\\d.]+ ms) \\|",
              "\\bget p50 (?:of )?([\\d.]+ ?ms)"),
          new Measure(
              "unplanned failover p50, kill → write through the DNS name",
              "ms",
              "\\| unplanned: kill → write through the DNS name commits on the new server \\|"
                  + " (\\d+ ms)",
              "\\| Baton, default timing \\| \\d+ \\| ([\\d.]+ s)",
              "time-to-writable p99[^|]*\\|[^|]*\\bp50 ([\\d.]+ s)",
              "\\bunplanned p50 ([\\d.]+ ?m?s)"),
          new Measure(
              "unplanned failover p99, kill → write through the DNS name",
              "ms",
              "\\| unplanned: kill → write through the DNS name commits on the new server \\|"
                  + " \\d+ ms \\| \\d+ ms \\| (\\d+ ms)",
              "time-to-writable p99[^|]*\\| p99 \\(= max of 20\\) ([\\d.]+ s)"),
          new Measure(
              "planned switch to a warm target, write gap p50",
              "ms",
              "\\| planned, warm target: write gap[^|]*\\| (\\d+ ms)",
              "\\bwarm target: p50 ([\\d.]+ s)"),
          new Measure(
              "Patroni defaults, kill → first committed write p50",
              "s",
              "\\| Patroni defaults[^|]*\\| \\d+ \\| ([\\d.]+ s)",
              "Patroni-defaults run[^|]{0,200}?\\bp50 ([\\d.]+ s)"),
          new Measure(
              "idle active node CPU, % of a core",
              "%",
              "\\bactive ([\\d.]+ ?%) of a core",
              "< 1 % of a core \\| [\\d.]+–([\\d.]+ ?%)",
              "an earlier run at load [\\d.]+: ([\\d.]+ ?%)"),
          new Measure(
              "idle sidecar RSS, active node, bin/baton's defaults",
              "MiB",
              "\\| now: bin/baton's defaults \\|[^|]*\\| ([\\d.]+) /",
              "the defaults with `-Xmx256m` ([\\d.]+) \\(active\\)"),
          new Measure(
              "demo: SIGKILL → another node's /active = 200, quiet median",
              "ms",
              "\\| SIGKILL → another node's `/active` = 200 \\| (\\d+ ms)",
              "bin/baton demo[^|]{0,80}?\\bmedian ([\\d.]+ ?m?s)"));

  private static final List<String> COMMAND_PREFIXES =
      List.of("scripts/", "bin/", "./mvnw", "bash ", "java ");

  @Test
  void eachMeasureHasOneValueWhereverTheReadmeStatesIt() throws IOException {
    String readme = Files.readString(README, StandardCharsets.UTF_8);
    List<String> problems = new ArrayList<>();
    for (Measure measure : MEASURES) {
      List<Figure> found = measure.find(readme);
      // Not vacuous: a measure whose patterns match nothing has gone stale.
      if (found.isEmpty()) {
        problems.add(
            measure.name() + ": not found; update its patterns in ReadmeFiguresTest.MEASURES");
      }
      disagreement(measure, found).ifPresent(problems::add);
    }
    assertThat(problems)
        .as("README.md gives one measure different values:%n%s", String.join("\n", problems))
        .isEmpty();
  }

  @Test
  void everyPerformanceTableAndFigureParagraphNamesItsCommand() throws IOException {
    List<String> lines = Files.readAllLines(README, StandardCharsets.UTF_8);
    Check check = checkCommands(lines, "## Performance");
    // Not vacuous: the failover, Patroni, KV, fenced-write, footprint and phase tables at least.
    assertThat(check.checked()).isGreaterThanOrEqualTo(6);
    assertThat(check.problems())
        .as("README.md figures without the command that produced them:%n%s", check.describe())
        .isEmpty();
  }

  /**
   * The operations guide (docs/ and docs/operations/) states no measured percentile of its own: it
   * links to the README section that gives the figure with its command. Copies drifted: pages still
   * quoted a failover median that the README no longer gave. Sample output in fenced code blocks is
   * not a claim, and a bound that follows from the configuration is not a measurement.
   */
  @Test
  void theOperationsGuideRepeatsNoMeasuredPercentile() throws IOException {
    Path docs = README.getParent().resolve("docs");
    List<Path> pages = new ArrayList<>();
    for (Path dir : List.of(docs, docs.resolve("operations"))) {
      try (var files = Files.list(dir)) {
        files.filter(f -> f.toString().endsWith(".md")).sorted().forEach(pages::add);
      }
    }
    assertThat(pages).as("pages under %s", docs).hasSizeGreaterThan(10);
    List<String> found = new ArrayList<>();
    for (Path page : pages) {
      found.addAll(
          measuredPercentiles(
              "docs/" + docs.relativize(page), Files.readAllLines(page, StandardCharsets.UTF_8)));
    }
    assertThat(found).as("measured figures restated outside the README").isEmpty();
  }

  @Test
  void aPercentileInProseIsFoundAndOneInSampleOutputIsNot() {
    List<String> lines =
        List.of(
            "Measured: p50 107 ms in one JVM.",
            "```",
            "p50 2331 ms",
            "```",
            "The bound is `2 × max + min`.");
    assertThat(measuredPercentiles("x.md", lines))
        .containsExactly("x.md:1: Measured: p50 107 ms in one JVM.");
  }

  private static final Pattern PERCENTILE =
      Pattern.compile("\\b(?:p50|p95|p99|median|mean)\\b[^.\\n|]{0,25}?\\d");

  static List<String> measuredPercentiles(String page, List<String> lines) {
    List<String> found = new ArrayList<>();
    boolean inCode = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.strip().startsWith("```")) {
        inCode = !inCode;
      } else if (!inCode && PERCENTILE.matcher(line).find()) {
        found.add(page + ":" + (i + 1) + ": " + line.strip());
      }
    }
    return found;
  }

  @Test
  void twoDifferentValuesForOneMeasureAreReportedWithTheirLines() {
    Measure put =
        new Measure(
            "KV put p50",
            "ms",
            "\\| put \\| ([\\d.]+ ms) \\|",
            "\\bput\\b[^|]{0,40}?(?:p50|median)\\D{0,6}?([\\d.]+ ?ms)");
    String readme =
        String.join(
            "\n",
            "| | p50 |",
            "|---|---|",
            "| put | 16.2 ms |",
            "",
            "The put latency (minimum 3 ms,",
            "median 9.4 ms) was not profiled.",
            "```",
            "put p50 1.0 ms",
            "```",
            "");
    List<Figure> found = put.find(readme);
    assertThat(found)
        .extracting(Figure::line, Figure::text)
        .containsExactly(tuple(3, "16.2 ms"), tuple(6, "9.4 ms"));
    assertThat(disagreement(put, found))
        .hasValue("KV put p50: README.md:3 says 16.2 ms, README.md:6 says 9.4 ms");
  }

  @Test
  void aRoundedRepeatAgreesAndAnotherValueDoesNot() {
    assertThat(Figure.parse("1.72 s", "ms", 1).agrees(Figure.parse("1723 ms", "ms", 2))).isTrue();
    assertThat(Figure.parse("1.7 s", "ms", 1).agrees(Figure.parse("1723 ms", "ms", 2))).isTrue();
    assertThat(Figure.parse("1.00 s", "ms", 1).agrees(Figure.parse("996 ms", "ms", 2))).isTrue();
    assertThat(Figure.parse("5.9×", "×", 1).agrees(Figure.parse("3.1×", "×", 2))).isFalse();
    assertThat(Figure.parse("2.0 s", "ms", 1).agrees(Figure.parse("2004 ms", "ms", 2))).isTrue();
    assertThat(Figure.parse("2.1 s", "ms", 1).agrees(Figure.parse("2004 ms", "ms", 2))).isFalse();
    assertThat(Figure.parse("149.8", "MiB", 1).agrees(Figure.parse("147.5", "MiB", 2))).isFalse();
  }

  @Test
  void aTableOrFigureParagraphWithoutItsCommandIsReported() {
    List<String> lines =
        List.of(
            "## Performance", // 1
            "",
            "Measured on a machine with 2 cores and 23 GiB.", // 3: no figure
            "",
            "**Failover** (`scripts/bench failover 20`):", // 5: caption with the command
            "",
            "| | p50 |", // 7
            "| failover | 1723 ms |",
            "",
            "The KV, one run:", // 10: caption, the command in the code block below
            "",
            "```",
            "$ scripts/bench etcd-kv",
            "```",
            "",
            "| put | 16.2 ms |", // 16
            "",
            "Side by side, Patroni:", // 18: no command
            "",
            "| Patroni | 20.3 s |", // 20
            "",
            "An earlier run gave 2004 ms.", // 22: a figure, no command
            "",
            "| goal | |", // 24: only thresholds: not a figure
            "| p99 ≤ 3 s | [above](#failover) |",
            "",
            "![failover CDF](failover.svg)", // 27: a plot, no command
            "",
            "Then a run at 1.9 load, 256 MiB:", // 29: a figure, its command just after it
            "```",
            "java -cp x Main",
            "```",
            "",
            "## Next",
            "",
            "A figure outside the section: 9.4 ms.");
    Check check = checkCommands(lines, "## Performance");
    assertThat(check.problems())
        .containsExactly(
            "README.md:20-20 (table '| Patroni | 20.3 s |'): no command in the table or its"
                + " caption",
            "README.md:22-22 (paragraph 'An earlier run gave 2004 ms.'): no command in the"
                + " paragraph or a code block just after it",
            "README.md:27-27 (paragraph '![failover CDF](failover.svg)'): no command in the"
                + " paragraph or a code block just after it");
    assertThat(check.checked()).isEqualTo(6);
  }

  // ---------------------------------------------------------------- (a) one value per measure

  /** A measure and the patterns that find its figure; see {@link #MEASURES}. */
  record Measure(String name, String unit, List<Pattern> patterns) {
    Measure(String name, String unit, String... patterns) {
      this(name, unit, Arrays.stream(patterns).map(Pattern::compile).toList());
    }

    /** Every occurrence, in the order of the text, outside fenced code blocks. */
    List<Figure> find(String markdown) {
      String searchable = searchable(markdown);
      Map<Integer, Figure> byOffset = new TreeMap<>();
      for (Pattern pattern : patterns) {
        Matcher m = pattern.matcher(searchable);
        while (m.find()) {
          int line = lineOf(markdown, m.start(1));
          byOffset.putIfAbsent(m.start(1), Figure.parse(m.group(1), unit, line));
        }
      }
      return List.copyOf(byOffset.values());
    }
  }

  /** One figure as written: its value and its precision, both in the measure's base unit. */
  record Figure(String text, int line, BigDecimal value, BigDecimal precision) {
    private static final Pattern FIGURE =
        Pattern.compile("(\\d[\\d,]*(?:\\.(\\d+))?)\\s*(ms|µs|s|MiB|%|×)?");
    private static final Map<String, BigDecimal> TO_MS =
        Map.of("ms", BigDecimal.ONE, "s", BigDecimal.valueOf(1000), "µs", new BigDecimal("0.001"));

    static Figure parse(String text, String unit, int line) {
      Matcher m = FIGURE.matcher(text.trim());
      if (!m.matches()) {
        throw new IllegalArgumentException("README.md:" + line + ": not a figure: '" + text + "'");
      }
      String written = m.group(3) == null ? unit : m.group(3);
      BigDecimal factor = TO_MS.containsKey(written) ? TO_MS.get(written) : BigDecimal.ONE;
      if (TO_MS.containsKey(written) != TO_MS.containsKey(unit)) {
        throw new IllegalArgumentException(
            "README.md:" + line + ": '" + text + "' is not in " + unit + " or a time unit");
      }
      BigDecimal number = new BigDecimal(m.group(1).replace(",", ""));
      BigDecimal precision = BigDecimal.ONE.movePointLeft(number.scale()).multiply(factor);
      return new Figure(text.trim(), line, number.multiply(factor), precision);
    }

    /** True when both are the same value, the finer one rounded to the coarser's precision. */
    boolean agrees(Figure other) {
      BigDecimal coarse = precision.max(other.precision);
      return roundTo(value, coarse).compareTo(roundTo(other.value, coarse)) == 0;
    }

    private static BigDecimal roundTo(BigDecimal v, BigDecimal step) {
      return v.divide(step, 0, RoundingMode.HALF_UP).multiply(step);
    }
  }

  /** The first pair of occurrences that disagree, as "name: README.md:L1 says X, ...:L2 says Y". */
  static Optional<String> disagreement(Measure measure, List<Figure> found) {
    for (int i = 0; i < found.size(); i++) {
      for (int j = i + 1; j < found.size(); j++) {
        Figure a = found.get(i);
        Figure b = found.get(j);
        if (!a.agrees(b)) {
          return Optional.of(
              String.format(
                  "%s: README.md:%d says %s, README.md:%d says %s",
                  measure.name(), a.line(), a.text(), b.line(), b.text()));
        }
      }
    }
    return Optional.empty();
  }

  /** The text with fenced code blocks blanked and line breaks as spaces; offsets are unchanged. */
  static String searchable(String markdown) {
    StringBuilder out = new StringBuilder(markdown.length());
    boolean fenced = false;
    for (String line : markdown.split("\n", -1)) {
      boolean fence = line.strip().startsWith("```");
      out.append(fenced || fence ? " ".repeat(line.length()) : line).append(' ');
      if (fence) {
        fenced = !fenced;
      }
    }
    return out.substring(0, markdown.length());
  }

  static int lineOf(String text, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) {
      if (text.charAt(i) == '\n') {
        line++;
      }
    }
    return line;
  }

  // ---------------------------------------------------------- (b) a command next to each figure

  /** A measured figure: a number with a unit, not a threshold after ≤, <, ≥ or >. */
  private static final Pattern MEASURED =
      Pattern.compile(
          "(?<![\\w.,])(?<![≤<≥>] )(?<![≤<≥>])\\d[\\d,]*(?:\\.\\d+)?\\s?(?:ms|µs|s|MiB|%|×)(?!\\w)");

  private static final Pattern CODE_SPAN = Pattern.compile("`([^`]+)`");

  record Block(String kind, int first, int last, List<String> lines) {
    String head() {
      String line = lines.get(0).strip();
      return line.length() > 60 ? line.substring(0, 60) + "…" : line;
    }
  }

  record Check(int checked, List<String> problems) {
    String describe() {
      return String.join("\n", problems)
          + "\n(a command is a code span starting with "
          + String.join(", ", COMMAND_PREFIXES)
          + ": in the paragraph or a code block just after it; for a table, in the table, its"
          + " caption paragraph just above it, or a code block between the two)";
    }
  }

  /** Checks rule (b) on the section that starts with the line {@code heading}. */
  static Check checkCommands(List<String> lines, String heading) {
    List<Block> blocks = blocks(lines, heading);
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (int i = 0; i < blocks.size(); i++) {
      Block block = blocks.get(i);
      boolean image = block.kind().equals("paragraph") && block.lines().get(0).startsWith("![");
      if (!image && !hasFigure(block)) {
        continue;
      }
      if (block.kind().equals("table")) {
        checked++;
        boolean named = hasCommand(block);
        for (int j = i - 1; j >= 0 && !named; j--) {
          Block before = blocks.get(j);
          named = hasCommand(before);
          if (!before.kind().equals("fence")) {
            break; // the caption paragraph, or a heading or table: stop
          }
        }
        if (!named) {
          problems.add(
              String.format(
                  "README.md:%d-%d (table '%s'): no command in the table or its caption",
                  block.first(), block.last(), block.head()));
        }
      } else if (block.kind().equals("paragraph")) {
        checked++;
        boolean named =
            hasCommand(block)
                || (i + 1 < blocks.size()
                    && blocks.get(i + 1).kind().equals("fence")
                    && hasCommand(blocks.get(i + 1)));
        if (!named) {
          problems.add(
              String.format(
                  "README.md:%d-%d (paragraph '%s'): no command in the paragraph or a code block"
                      + " just after it",
                  block.first(), block.last(), block.head()));
        }
      }
    }
    return new Check(checked, problems);
  }

  private static boolean hasFigure(Block block) {
    return block.lines().stream().anyMatch(line -> MEASURED.matcher(line).find());
  }

  private static boolean hasCommand(Block block) {
    if (block.kind().equals("fence")) {
      return block.lines().stream()
          .map(line -> line.strip().replaceFirst("^\\$ ", ""))
          .anyMatch(line -> COMMAND_PREFIXES.stream().anyMatch(line::startsWith));
    }
    if (block.kind().equals("heading")) {
      return false;
    }
    Matcher m = CODE_SPAN.matcher(String.join(" ", block.lines()));
    while (m.find()) {
      String span = m.group(1);
      if (COMMAND_PREFIXES.stream().anyMatch(span::startsWith)) {
        return true;
      }
    }
    return false;
  }

  /** 1 for "# x", 2 for "## x", ...; 0 for a line that is not a heading. */
  static int headingLevel(String line) {
    int n = 0;
    while (n < line.length() && line.charAt(n) == '#') {
      n++;
    }
    return n > 0 && n < line.length() && line.charAt(n) == ' ' ? n : 0;
  }

  /**
   * The section's blocks: headings, tables (lines starting with |), fenced code and paragraphs,
   * with their 1-based first and last lines. The section ends at the next heading of its level.
   */
  static List<Block> blocks(List<String> lines, String heading) {
    int start = lines.indexOf(heading);
    if (start < 0) {
      throw new IllegalArgumentException("README.md has no line '" + heading + "'");
    }
    int level = headingLevel(heading);
    List<Block> blocks = new ArrayList<>();
    int i = start + 1;
    while (i < lines.size()) {
      String line = lines.get(i);
      int lineLevel = headingLevel(line);
      if (lineLevel > 0 && lineLevel <= level) {
        break; // the next heading of the section's level or above
      }
      if (line.isBlank()) {
        i++;
        continue;
      }
      int first = i;
      String kind;
      if (line.strip().startsWith("```")) {
        kind = "fence";
        i++;
        while (i < lines.size() && !lines.get(i).strip().startsWith("```")) {
          i++;
        }
        i++; // past the closing fence
      } else if (line.startsWith("#")) {
        kind = "heading";
        i++;
      } else if (line.startsWith("|")) {
        kind = "table";
        while (i < lines.size() && lines.get(i).startsWith("|")) {
          i++;
        }
      } else {
        kind = "paragraph";
        while (i < lines.size()
            && !lines.get(i).isBlank()
            && !lines.get(i).startsWith("|")
            && !lines.get(i).startsWith("#")
            && !lines.get(i).strip().startsWith("```")) {
          i++;
        }
      }
      int last = Math.min(i, lines.size());
      blocks.add(new Block(kind, first + 1, last, List.copyOf(lines.subList(first, last))));
    }
    return blocks;
  }
}
