package dev.baton.sidecar.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The link checker of the repository's and the tarball's Markdown: every relative link {@code
 * [x](path)} or {@code [x](path#anchor)} (and every reference definition {@code [x]: path}) must
 * point at an existing file, and an anchor must be the GitHub slug of a heading of that file
 * (lowercase, spaces to '-', punctuation dropped, a repeated heading gets -1, -2, ...). External
 * links (http, https, mailto) are not fetched: only their syntax is checked. Links inside fenced
 * code blocks and code spans are not links.
 *
 * <p>JDK only, one file, so that {@code scripts/check-dist} runs it on the unpacked tarball with
 * {@code java MarkdownLinks.java} and {@code MarkdownLinksTest} runs it on the repository in {@code
 * ./mvnw verify}:
 *
 * <pre>
 * java MarkdownLinks.java ROOT                          # every *.md under ROOT
 * java MarkdownLinks.java ROOT --repository REPO        # ROOT is the unpacked tarball
 * </pre>
 *
 * With {@code --repository}, a link whose target is missing under ROOT but exists in REPO under a
 * module's {@code src/} or under {@code scripts/} (source, test and build-script files,
 * deliberately not shipped) is reported, not failed; every other broken link fails. Exit 0 when
 * nothing is broken, 1 otherwise, 2 on bad arguments.
 */
public final class MarkdownLinks {
  /** One broken link: where it is, what it says, and why it does not resolve. */
  public record Problem(String file, int line, String link, String reason) {
    @Override
    public String toString() {
      return file + ":" + line + ": (" + link + "): " + reason;
    }
  }

  /** One link to a file that the tarball deliberately does not ship but the repository has. */
  public record NotShipped(String file, int line, String link, String target) {}

  /** What a run found. */
  public record Report(int files, int links, List<Problem> problems, List<NotShipped> notShipped) {}

  private static final Set<String> SKIPPED_DIRS = Set.of("target", "node_modules", ".git");
  // [text](target) or ![alt](target), target optionally <...> and optionally followed by a title.
  private static final Pattern INLINE =
      Pattern.compile(
          "!?\\[((?:[^\\[\\]]++|\\[[^\\[\\]]*+\\])*+)\\]\\(\\s*(<[^>]*>|[^\\s)]*)(?:\\s+(?:\"[^\"]*\"|'[^']*'))?\\s*\\)");
  private static final Pattern REFERENCE =
      Pattern.compile("^ {0,3}\\[([^\\]]+)\\]:\\s*(<[^>]*>|\\S+)");
  private static final Pattern ATX = Pattern.compile("^ {0,3}(#{1,6})(?:\\s+(.*?))?\\s*$");
  private static final Pattern HTML_ANCHOR =
      Pattern.compile("<a\\s+[^>]*(?:name|id)\\s*=\\s*\"([^\"]+)\"", Pattern.CASE_INSENSITIVE);
  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
  private static final Pattern FENCE = Pattern.compile("^ {0,3}(`{3,}|~{3,})");

  private final Path root;
  private final Path repository;
  private final Map<Path, Set<String>> anchors = new HashMap<>();

  /**
   * @param root the directory whose Markdown is checked and inside which links must resolve
   * @param repository null, or the repository the tarball {@code root} was built from
   */
  public MarkdownLinks(Path root, Path repository) {
    this.root = root.toAbsolutePath().normalize();
    this.repository = repository == null ? null : repository.toAbsolutePath().normalize();
  }

  /** Checks every {@code *.md} under the root, outside target/, node_modules/ and .git/. */
  public Report check() throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files =
          walk.filter(p -> p.getFileName().toString().endsWith(".md"))
              .filter(Files::isRegularFile)
              .filter(p -> !skipped(root.relativize(p)))
              .sorted()
              .toList();
    }
    List<Problem> problems = new ArrayList<>();
    List<NotShipped> notShipped = new ArrayList<>();
    int links = 0;
    for (Path file : files) {
      List<Problem> found = new ArrayList<>();
      links += checkFile(file, found, notShipped);
      found.sort(java.util.Comparator.comparingInt(Problem::line)); // stable: in-line order kept
      problems.addAll(found);
    }
    return new Report(files.size(), links, problems, notShipped);
  }

  private static boolean skipped(Path relative) {
    for (Path part : relative) {
      if (SKIPPED_DIRS.contains(part.toString())) {
        return true;
      }
    }
    return false;
  }

  private int checkFile(Path file, List<Problem> problems, List<NotShipped> notShipped)
      throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    String name = root.relativize(file).toString();
    boolean inFence = false;
    String fence = "";
    int count = 0;
    // The file's lines with code blocks and code spans blanked out: what can hold a link.
    List<String> prose = new ArrayList<>(java.util.Collections.nCopies(lines.size(), ""));
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      Matcher f = FENCE.matcher(line);
      if (f.find()) {
        String marker = f.group(1);
        if (!inFence) {
          inFence = true;
          fence = marker;
          continue;
        } else if (marker.charAt(0) == fence.charAt(0)
            && marker.length() >= fence.length()
            && line.strip().equals(marker)) { // a closing fence has no info string
          inFence = false;
          continue;
        }
      }
      if (inFence) {
        continue;
      }
      String text = withoutCodeSpans(line);
      prose.set(i, text);
      Matcher r = REFERENCE.matcher(text);
      if (r.find()) {
        count++;
        checkLink(file, name, i + 1, r.group(2), problems, notShipped);
      }
    }
    // Inline links a paragraph (lines up to a blank one) at a time, so that a link whose text
    // wraps onto the next line is still seen; it is reported at the line of its target.
    int start = 0;
    while (start < prose.size()) {
      int end = start;
      while (end < prose.size() && !prose.get(end).isBlank()) {
        end++;
      }
      String paragraph = String.join("\n", prose.subList(start, end));
      Matcher m = INLINE.matcher(paragraph);
      while (m.find()) {
        count++;
        int line =
            start
                + 1
                + (int) paragraph.substring(0, m.start(2)).chars().filter(c -> c == '\n').count();
        checkLink(file, name, line, m.group(2), problems, notShipped);
      }
      start = end + 1;
    }
    return count;
  }

  /** The line with every code span blanked out (a link in a code span is not a link). */
  static String withoutCodeSpans(String line) {
    StringBuilder out = new StringBuilder(line.length());
    int i = 0;
    while (i < line.length()) {
      char c = line.charAt(i);
      if (c != '`') {
        out.append(c);
        i++;
        continue;
      }
      int run = 0;
      while (i + run < line.length() && line.charAt(i + run) == '`') {
        run++;
      }
      String ticks = "`".repeat(run);
      int close = line.indexOf(ticks, i + run);
      while (close >= 0 && close + run < line.length() && line.charAt(close + run) == '`') {
        close = line.indexOf(ticks, close + run + 1);
      }
      if (close < 0) {
        out.append(ticks);
        i += run;
      } else {
        out.append(" ".repeat(close + run - i));
        i = close + run;
      }
    }
    return out.toString();
  }

  private void checkLink(
      Path file,
      String name,
      int line,
      String raw,
      List<Problem> problems,
      List<NotShipped> notShipped) {
    String link =
        raw.startsWith("<") && raw.endsWith(">") ? raw.substring(1, raw.length() - 1) : raw;
    if (link.isEmpty()) {
      problems.add(new Problem(name, line, raw, "an empty link target"));
      return;
    }
    if (SCHEME.matcher(link).find()) {
      String scheme = link.substring(0, link.indexOf(':')).toLowerCase();
      if (!Set.of("http", "https", "mailto").contains(scheme)) {
        problems.add(
            new Problem(name, line, raw, "scheme '" + scheme + ":' (only http, https, mailto)"));
        return;
      }
      try {
        URI uri = new URI(link);
        if (!scheme.equals("mailto") && (uri.getHost() == null || uri.getHost().isEmpty())) {
          problems.add(new Problem(name, line, raw, "an external link without a host"));
        }
      } catch (URISyntaxException e) {
        problems.add(new Problem(name, line, raw, "not a valid URL: " + e.getMessage()));
      }
      return;
    }
    if (link.startsWith("/")) {
      problems.add(
          new Problem(
              name, line, raw, "an absolute path: use a path relative to " + name + " instead"));
      return;
    }
    int hash = link.indexOf('#');
    String pathPart = hash < 0 ? link : link.substring(0, hash);
    String anchor = hash < 0 ? null : link.substring(hash + 1);
    int query = pathPart.indexOf('?');
    if (query >= 0) {
      pathPart = pathPart.substring(0, query);
    }
    Path target;
    try {
      target =
          pathPart.isEmpty()
              ? file
              : file.getParent()
                  .resolve(URLDecoder.decode(pathPart.replace("+", "%2B"), StandardCharsets.UTF_8))
                  .normalize();
    } catch (IllegalArgumentException e) { // a bad %-escape, or an InvalidPathException
      problems.add(new Problem(name, line, raw, "not a valid path: " + e.getMessage()));
      return;
    }
    if (!target.startsWith(root)) {
      problems.add(
          new Problem(name, line, raw, "points outside " + root.getFileName() + "/: " + target));
      return;
    }
    String relative = root.relativize(target).toString();
    if (!Files.exists(target)) {
      if (repository != null
          && Files.exists(repository.resolve(relative))
          && repositoryOnly(relative)) {
        notShipped.add(new NotShipped(name, line, raw, relative));
        return;
      }
      String why = "no such file: " + (relative.isEmpty() ? "." : relative);
      if (repository != null && Files.exists(repository.resolve(relative))) {
        why += " (the repository has it, the tarball does not ship it)";
      }
      problems.add(new Problem(name, line, raw, why));
      return;
    }
    if (anchor == null || anchor.isEmpty()) {
      return;
    }
    if (!target.getFileName().toString().endsWith(".md") || Files.isDirectory(target)) {
      // An anchor into a directory or a non-Markdown file (a line, #L10, on GitHub): the target's
      // existence is all that can be checked here.
      return;
    }
    Set<String> known = anchorsOf(target);
    String wanted = URLDecoder.decode(anchor.replace("+", "%2B"), StandardCharsets.UTF_8);
    if (!known.contains(wanted)) {
      String closest = closest(wanted, known);
      problems.add(
          new Problem(
              name,
              line,
              raw,
              "no heading with anchor '#"
                  + wanted
                  + "' in "
                  + relative
                  + (closest == null ? "" : " (closest: '#" + closest + "')")));
    }
  }

  /**
   * A file the tarball deliberately leaves in the repository: a module's source and test files
   * (under its src/) and the build's scripts/.
   */
  static boolean repositoryOnly(String relative) {
    String path = relative.replace('\\', '/');
    return path.matches("([^/]+/)+src/.+") || path.startsWith("scripts/");
  }

  private Set<String> anchorsOf(Path file) {
    return anchors.computeIfAbsent(
        file,
        f -> {
          try {
            return headingAnchors(Files.readAllLines(f, StandardCharsets.UTF_8));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** The anchors GitHub gives a Markdown file: its headings' slugs and explicit HTML anchors. */
  static Set<String> headingAnchors(List<String> lines) {
    Set<String> out = new LinkedHashSet<>();
    Map<String, Integer> seen = new HashMap<>();
    boolean inFence = false;
    String fence = "";
    for (String line : lines) {
      Matcher f = FENCE.matcher(line);
      if (f.find()) {
        String marker = f.group(1);
        if (!inFence) {
          inFence = true;
          fence = marker;
          continue;
        } else if (marker.charAt(0) == fence.charAt(0)
            && marker.length() >= fence.length()
            && line.strip().equals(marker)) { // a closing fence has no info string
          inFence = false;
          continue;
        }
      }
      if (inFence) {
        continue;
      }
      Matcher h = HTML_ANCHOR.matcher(line);
      while (h.find()) {
        out.add(h.group(1));
      }
      Matcher m = ATX.matcher(line);
      if (m.matches()) {
        String text = m.group(2) == null ? "" : m.group(2).replaceAll("\\s+#+$", "");
        String slug = slug(text);
        int n = seen.merge(slug, 1, Integer::sum) - 1;
        out.add(n == 0 ? slug : slug + "-" + n);
      }
    }
    return out;
  }

  /**
   * GitHub's heading slug: the heading's text as rendered (links to their text, code and emphasis
   * markers dropped), lowercased, every character that is not a letter, a digit, a space, '-' or
   * '_' dropped, and each space turned into '-'.
   */
  public static String slug(String heading) {
    String text =
        heading
            .replaceAll("!?\\[([^\\]]*)\\]\\([^)]*\\)", "$1") // links and images to their text
            .replaceAll("<[^>]+>", "") // inline HTML
            .replace("`", "")
            .replace("*", "")
            .replaceAll("(^|\\s)_+|_+(\\s|$)", "$1$2") // _emphasis_ markers, not snake_case
            .toLowerCase();
    StringBuilder out = new StringBuilder(text.length());
    text.codePoints()
        .forEach(
            c -> {
              if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                out.appendCodePoint(c);
              } else if (c == ' ') {
                out.append('-');
              }
            });
    return out.toString();
  }

  private static String closest(String wanted, Set<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      // A heading that the anchor is the start of (or that is the anchor's start) is the likely
      // one: an anchor cut short, or a heading that grew.
      int d = k.startsWith(wanted) || wanted.startsWith(k) ? 1 : distance(wanted, k);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best != null && bestDistance <= Math.max(3, wanted.length() / 2) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** The summary and every problem, one a line, as the command line prints them. */
  public static String describe(Report report, Path root) {
    StringBuilder out = new StringBuilder();
    for (Problem p : report.problems()) {
      out.append("broken link: ").append(p).append('\n');
    }
    if (!report.notShipped().isEmpty()) {
      Map<String, Integer> byTarget = new TreeMap<>();
      report.notShipped().forEach(n -> byTarget.merge(n.target(), 1, Integer::sum));
      out.append(
          String.format(
              "not shipped (source, test and build-script files, in the repository only): %d link(s)"
                  + " to %d"
                  + " file(s):%n",
              report.notShipped().size(), byTarget.size()));
      byTarget.forEach((t, n) -> out.append("  ").append(t).append(" (").append(n).append(")\n"));
    }
    out.append(
        String.format(
            "%s: %d Markdown file(s), %d link(s), %d broken%n",
            root, report.files(), report.links(), report.problems().size()));
    return out.toString();
  }

  public static void main(String[] args) throws IOException {
    Path root = null;
    Path repository = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--repository") && i + 1 < args.length) {
        repository = Path.of(args[++i]);
      } else if (root == null && !args[i].startsWith("--")) {
        root = Path.of(args[i]);
      } else {
        System.err.println(
            "usage: MarkdownLinks ROOT [--repository REPO]: bad argument " + args[i]);
        System.exit(2);
      }
    }
    if (root == null || !Files.isDirectory(root)) {
      System.err.println(
          "usage: MarkdownLinks ROOT [--repository REPO]: ROOT is not a directory: " + root);
      System.exit(2);
    }
    Report report = new MarkdownLinks(root, repository).check();
    System.out.print(describe(report, root));
    System.exit(report.problems().isEmpty() ? 0 : 1);
  }
}
