package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The status page ({@code GET /}) of three real sidecar processes, loaded in a real browser:
 * Debian's Chromium, headless. Before a failover every node's page highlights the node that answers
 * {@code /active}; after a SIGKILL of that node, the survivors' pages highlight the new active and
 * show the dead one unreachable; the activation timeline highlights the same node's activation, the
 * new one marked FAILOVER with how long the failover took. Screenshots are kept under {@code
 * target/status-page/}.
 */
class StatusPageBrowserTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Path SHOTS = Path.of("target", "status-page");
  private static final Pattern HIGHLIGHTED =
      Pattern.compile("<tr data-node=\"([^\"]+)\" class=\"active\" data-active=\"true\">");
  private static SidecarProcesses cluster;
  private static Path profile;

  @BeforeAll
  static void start() throws Exception {
    if (!onPath("chromium")) {
      fail(
          "chromium is not on the PATH: the status page is tested in a real browser (Debian's"
              + " chromium package; scripts/install-deps installs it)");
    }
    profile = Files.createTempDirectory("baton-chromium-");
    Files.createDirectories(SHOTS);
    cluster = new SidecarProcesses(3);
    cluster.startAll();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void thePageHighlightsTheActiveBeforeAndAfterAFailover() throws Exception {
    String active = cluster.awaitSteadyActive(WAIT);
    // Every node's page, fetched over HTTP until it shows the active (a standby learns of the
    // activation when it applies it); then the active's page as the browser renders it.
    for (String id : cluster.nodes.keySet()) {
      awaitPage(id, html -> highlighted(html).equals(Optional.of(active)));
    }
    String dom = browse(active);
    assertThat(highlighted(dom)).as("the highlighted row in Chromium's DOM").contains(active);
    assertThat(dom).contains("<strong id=\"self\">" + active + "</strong>");
    assertThat(rows(dom)).containsExactlyInAnyOrder("n1", "n2", "n3");
    assertThat(currentInTimeline(dom)).as("the timeline's current activation").contains(active);
    screenshot(active, "before-" + active + ".png");

    cluster.kill(active);
    String next = cluster.awaitAnotherActive(active, WAIT);
    for (String id : cluster.nodes.keySet()) {
      if (!id.equals(active)) {
        awaitPage(
            id,
            html ->
                highlighted(html).equals(Optional.of(next))
                    && row(html, active).contains("UNREACHABLE")
                    && failoverTimed(next).matcher(html).find());
      }
    }
    dom = browse(next);
    assertThat(highlighted(dom)).as("the highlighted row in Chromium's DOM").contains(next);
    assertThat(dom).contains("Active: <strong data-node=\"" + next + "\">");
    assertThat(row(dom, active)).contains("UNREACHABLE");
    assertThat(currentInTimeline(dom)).as("the timeline's current activation").contains(next);
    assertThat(dom)
        .as("the failover's block in the timeline")
        .containsPattern(
            "<g class=\"act current\" data-node=\""
                + next
                + "\" data-token=\"\\d+\" data-reason=\"FAILOVER\"( data-failover-ms=\"\\d+\")?>");
    // Issue 38: the failover's block says how long it took, as the new active measured it (every
    // member's history carries the figure). Not necessarily the current block: a new active that
    // lost its first lease under load and took the role back has a second FAILOVER block, from
    // itself, with no figure.
    java.util.regex.Matcher timed = failoverTimed(next).matcher(dom);
    assertThat(timed.find()).as("a FAILOVER block of %s with its duration", next).isTrue();
    assertThat(Long.parseLong(timed.group(1))).as("the failover's duration (ms)").isPositive();
    assertThat(dom).containsPattern(">failover \\d+(\\.\\d)? m?s</text>");
    screenshot(next, "after-" + next + ".png");
  }

  /** A FAILOVER block of {@code node} that carries the failover's duration, in group 1. */
  private static Pattern failoverTimed(String node) {
    return Pattern.compile(
        "data-node=\""
            + Pattern.quote(node)
            + "\" data-token=\"\\d+\" data-reason=\"FAILOVER\" data-failover-ms=\"(\\d+)\">");
  }

  /** Polls node {@code id}'s page over HTTP (bounded) until {@code ok} holds, and returns it. */
  private static String awaitPage(String id, java.util.function.Predicate<String> ok) {
    return await("node " + id + "'s status page")
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> cluster.get(id, "/"), r -> r.code() == 200 && ok.test(r.body()))
        .body();
  }

  /** The DOM of node {@code id}'s status page, as headless Chromium loaded it. */
  private static String browse(String id) throws Exception {
    return chromium("--dump-dom", url(id)).trim();
  }

  private static void screenshot(String id, String name) throws Exception {
    Path png = SHOTS.resolve(name).toAbsolutePath();
    Files.deleteIfExists(png);
    chromium("--screenshot=" + png, "--window-size=1280,900", url(id));
    byte[] head = Files.readAllBytes(png);
    assertThat(head.length).as("%s's size", png).isGreaterThan(1000);
    assertThat(new String(head, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }

  private static String url(String id) {
    return "http://127.0.0.1:" + cluster.nodes.get(id).http + "/";
  }

  private static String chromium(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            "chromium",
            "--headless",
            // As root Chromium refuses to start with its sandbox; nothing but this page is loaded.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + profile));
    cmd.addAll(List.of(args));
    Path err = Files.createTempFile(profile, "stderr", ".txt");
    Process p =
        new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.to(err.toFile())).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("chromium did not finish within 60 s: " + cmd);
    }
    if (p.exitValue() != 0) {
      fail("chromium exited " + p.exitValue() + ": " + Files.readString(err));
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  private static Optional<String> highlighted(String dom) {
    Matcher m = HIGHLIGHTED.matcher(dom);
    Optional<String> first = m.find() ? Optional.of(m.group(1)) : Optional.empty();
    return m.find() ? Optional.of("more than one") : first;
  }

  /** The node of the timeline's highlighted block, or "more than one". */
  private static Optional<String> currentInTimeline(String dom) {
    Matcher m = Pattern.compile("<g class=\"act current\" data-node=\"([^\"]+)\"").matcher(dom);
    Optional<String> first = m.find() ? Optional.of(m.group(1)) : Optional.empty();
    return m.find() ? Optional.of("more than one") : first;
  }

  private static List<String> rows(String dom) {
    List<String> ids = new ArrayList<>();
    Matcher m = Pattern.compile("<tr data-node=\"([^\"]+)\"").matcher(dom);
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  private static String row(String dom, String id) {
    int i = dom.indexOf("<tr data-node=\"" + id + "\"");
    return i < 0 ? "" : dom.substring(i, dom.indexOf("</tr>", i));
  }

  private static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Path.of(dir, program).toFile().canExecute()) {
        return true;
      }
    }
    return false;
  }
}
