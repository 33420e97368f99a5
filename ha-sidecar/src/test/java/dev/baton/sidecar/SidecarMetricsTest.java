package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} of three real sidecar processes, read as Prometheus reads it: the exposition
 * parses strictly as the text format 0.0.4, every Baton series names its cluster and node in labels
 * that do not collide with Prometheus's target labels, and the role (an enum gauge), the members'
 * up gauges, the failover counter and the step-duration histogram change as they should when the
 * active is killed, and the lease-lapse counter counts when the new active then loses its majority.
 */
class SidecarMetricsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static SidecarProcesses cluster;

  private static final Path DASHBOARD =
      Path.of("..", "deploy", "monitoring", "baton-dashboard.json").toAbsolutePath().normalize();

  @BeforeAll
  static void start() throws Exception {
    // The default promotion (one exec step that records the token) and a health check that is
    // always up (a TCP connect to the node's own HTTP port), so that baton_health_check_up is
    // exported, as on a node with health.checks.
    cluster =
        new SidecarProcesses(
            List.of("n1", "n2", "n3"),
            Set.of(),
            (dir, n) ->
                SidecarProcesses.recordingPromotion(dir)
                    + "health:\n  checks:\n    - name: http-port\n      type: tcp\n"
                    + "      address: "
                    + n.host
                    + ":"
                    + n.http
                    + "\n      demote: false\n");
    cluster.startAll();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void metricsParseAndFollowAFailover() {
    String active = cluster.awaitSteadyActive(WAIT);
    Set<String> ids = cluster.nodes.keySet();

    // Before: each node one-hot in its role, the active's view of every member up.
    for (String id : ids) {
      Exposition m = scrape(id);
      assertThat(m.value("baton_role", Map.of("baton_node", id, "role", "active")))
          .as("%s's baton_role{role=active}", id)
          .isEqualTo(id.equals(active) ? 1.0 : 0.0);
      assertThat(m.value("baton_role", Map.of("baton_node", id, "role", "standby")))
          .isEqualTo(id.equals(active) ? 0.0 : 1.0);
      assertThat(m.sum("baton_role", Map.of("baton_node", id))).isEqualTo(1.0);
      assertThat(m.series("baton_role")).hasSize(6); // one per role
      assertThat(m.value("baton_member_up", Map.of("member", id))).isEqualTo(1.0);
      // The deprecated labels are still there, beside the new ones (COMPATIBILITY.md).
      assertThat(m.value("baton_role_active", Map.of("cluster", "sidecar-test", "node", id))) // old
          .isEqualTo(id.equals(active) ? 1.0 : 0.0);
      assertThat(m.type("baton_role")).isEqualTo("gauge");
      assertThat(m.type("baton_member_up")).isEqualTo("gauge");
    }
    Exposition before = scrape(active);
    for (String id : ids) {
      assertThat(before.value("baton_member_up", Map.of("member", id)))
          .as("the active's view of %s", id)
          .isEqualTo(1.0);
    }
    // The dashboard's queries name only metrics that a running sidecar exports.
    Set<String> exported = new HashSet<>();
    for (Sample sample : before.samples) {
      exported.add(sample.name());
    }
    for (String name : dashboardMetrics()) {
      assertThat(exported)
          .as("%s names %s; %s exports it", DASHBOARD.getFileName(), name, active)
          .contains(name);
    }
    // The failover histogram is there, empty, before any failover to this node... (a first lease
    // lost at start on a loaded machine is a failover too: then it counts it).
    assertThat(before.type("baton_failover_duration_seconds")).isEqualTo("histogram");
    Map<String, String> self0 = Map.of("baton_node", active);
    assertThat(before.value("baton_failover_duration_seconds_bucket", with(self0, "le", "+Inf")))
        .isEqualTo(before.value("baton_failover_duration_seconds_count", self0));

    // The promotion step's attempt, timed in a histogram.
    assertThat(before.type("baton_promotion_step_duration_seconds")).isEqualTo("histogram");
    Map<String, String> step =
        Map.of("baton_node", active, "step", "record", "phase", "promote", "outcome", "completed");
    assertThat(before.value("baton_promotion_step_duration_seconds_count", step)).isGreaterThan(0);
    assertThat(
            before.value("baton_promotion_step_duration_seconds_bucket", with(step, "le", "+Inf")))
        .isEqualTo(before.value("baton_promotion_step_duration_seconds_count", step));

    // SIGKILL the active: another node takes over and its metrics say so.
    cluster.kill(active);
    String next = cluster.awaitAnotherActive(active, WAIT);
    Exposition after =
        await("the new active's metrics show the failover")
            .atMost(WAIT)
            .until(
                () -> scrape(next),
                m ->
                    m.value("baton_role", Map.of("baton_node", next, "role", "active")) == 1.0
                        && m.value("baton_member_up", Map.of("member", active)) == 0.0);
    assertThat(after.sum("baton_role", Map.of("baton_node", next))).isEqualTo(1.0);
    assertThat(after.value("baton_member_up", Map.of("member", next))).isEqualTo(1.0);
    assertThat(after.value("baton_failovers_total", Map.of("baton_node", next)))
        .isGreaterThanOrEqualTo(1.0);
    assertThat(after.value("baton_token", Map.of("baton_node", next)))
        .isGreaterThan(before.value("baton_token", Map.of("baton_node", active)));
    // ...and counts the failover, timed from the old active's lease end to its turning active.
    Map<String, String> nextSelf = Map.of("baton_node", next);
    double failovers = after.value("baton_failover_duration_seconds_count", nextSelf);
    assertThat(failovers).as("failovers timed on %s", next).isGreaterThanOrEqualTo(1.0);
    assertThat(after.value("baton_failover_duration_seconds_bucket", with(nextSelf, "le", "+Inf")))
        .isEqualTo(failovers);
    assertThat(after.value("baton_failover_duration_seconds_sum", nextSelf))
        .as("seconds of failover on %s", next)
        .isGreaterThan(0.0)
        .isLessThan(failovers * WAIT.toSeconds());
    String third =
        ids.stream().filter(id -> !id.equals(active) && !id.equals(next)).findFirst().get();
    assertThat(scrape(third).value("baton_role", Map.of("baton_node", third, "role", "standby")))
        .isEqualTo(1.0);

    // SIGKILL the third as well: the new active cannot renew its lease without a majority, gives
    // the role up (LEASE_EXPIRING) and counts the lapse.
    Map<String, String> self = Map.of("baton_node", next);
    double lapses = scrape(next).value("baton_lease_lapses_total", self);
    cluster.kill(third);
    Exposition lapsed =
        await("the lone node counts a lease lapse")
            .atMost(WAIT)
            .until(() -> scrape(next), m -> m.value("baton_lease_lapses_total", self) > lapses);
    assertThat(lapsed.type("baton_lease_lapses_total")).isEqualTo("counter");
    assertThat(lapsed.value("baton_lease_lapses_total", self)).isEqualTo(lapses + 1);
    await("the lone node is no longer active")
        .atMost(WAIT)
        .until(
            () ->
                scrape(next).value("baton_role", Map.of("baton_node", next, "role", "active"))
                    == 0.0);
  }

  /**
   * The metric names the dashboard's queries (panel targets and template variables) use, with
   * histogram series named as exported ({@code _bucket}); the label names {@code baton_cluster} and
   * {@code baton_node} left out.
   */
  private static Set<String> dashboardMetrics() {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(DASHBOARD.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> queries = new ArrayList<>();
    root.findValues("expr").forEach(v -> queries.add(v.asText()));
    root.findValues("definition").forEach(v -> queries.add(v.asText()));
    assertThat(queries).as("queries in %s", DASHBOARD).isNotEmpty();
    Set<String> names = new java.util.TreeSet<>();
    Matcher m = Pattern.compile("\\b(baton_[a-z_]+)\\b").matcher(String.join("\n", queries));
    while (m.find()) {
      names.add(m.group(1));
    }
    names.removeAll(Set.of("baton_cluster", "baton_node"));
    return names;
  }

  private static Map<String, String> with(Map<String, String> m, String k, String v) {
    Map<String, String> out = new HashMap<>(m);
    out.put(k, v);
    return out;
  }

  /** Scrapes node {@code id}'s /metrics and parses it strictly; every Baton series is checked. */
  private static Exposition scrape(String id) {
    SidecarProcesses.HttpResult r = cluster.get(id, "/metrics");
    assertThat(r.code()).as("GET /metrics on %s: %s", id, r.body()).isEqualTo(200);
    try {
      // Kept for a look, or for promtool check metrics: the last scrape of each node.
      Files.writeString(Path.of("target", "metrics-" + id + ".prom"), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Exposition e = Exposition.parse(r.body());
    for (Sample s : e.samples) {
      if (s.name.startsWith("baton_") && !s.name.startsWith("baton_dns_")) {
        assertThat(s.labels)
            .as("%s has the non-colliding labels", s)
            .containsEntry("baton_cluster", "sidecar-test")
            .containsEntry("baton_node", id);
      }
    }
    return e;
  }

  record Sample(String name, Map<String, String> labels, double value) {}

  /**
   * A strict reader of the Prometheus text format 0.0.4: each line is a {@code # HELP}, a {@code #
   * TYPE} (once per family, before its samples) or a sample; label names are not repeated in a
   * series and a series appears once. Anything else fails the test, naming the line.
   */
  static final class Exposition {
    private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
    private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*";
    private static final String VALUE =
        "(?:[-+]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)";
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") (.*)");
    private static final Pattern TYPE =
        Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)");
    private static final Pattern SAMPLE =
        Pattern.compile("(" + NAME + ")(?:\\{(.*)\\})? (" + VALUE + ")(?: (-?[0-9]+))?");
    private static final Pattern PAIR =
        Pattern.compile("(" + LABEL + ")=\"((?:\\\\\\\\|\\\\\"|\\\\n|[^\"\\\\\\n])*)\"(,|$)");

    final List<Sample> samples = new ArrayList<>();
    final Map<String, String> types = new LinkedHashMap<>();

    static Exposition parse(String text) {
      Exposition e = new Exposition();
      Set<String> seen = new HashSet<>();
      Set<String> helped = new HashSet<>();
      assertThat(text).as("the exposition ends with a newline").endsWith("\n");
      int n = 0;
      for (String line : text.split("\n", -1)) {
        n++;
        if (line.isEmpty()) {
          continue;
        }
        Matcher m;
        if ((m = HELP.matcher(line)).matches()) {
          assertThat(helped.add(m.group(1))).as("line %d: a second HELP: %s", n, line).isTrue();
        } else if ((m = TYPE.matcher(line)).matches()) {
          assertThat(e.types.put(m.group(1), m.group(2)))
              .as("line %d: a second TYPE: %s", n, line)
              .isNull();
        } else if ((m = SAMPLE.matcher(line)).matches()) {
          Map<String, String> labels = new LinkedHashMap<>();
          if (m.group(2) != null && !m.group(2).isEmpty()) {
            Matcher p = PAIR.matcher(m.group(2));
            int at = 0;
            while (at < m.group(2).length()) {
              assertThat(p.find(at) && p.start() == at)
                  .as("line %d: bad label at %d: %s", n, at, line)
                  .isTrue();
              assertThat(labels.put(p.group(1), p.group(2)))
                  .as("line %d: label %s twice: %s", n, p.group(1), line)
                  .isNull();
              at = p.end();
            }
          }
          String name = m.group(1);
          String family = family(name, e.types);
          assertThat(family).as("line %d: a sample before its TYPE: %s", n, line).isNotNull();
          assertThat(seen.add(name + labels))
              .as("line %d: a repeated series: %s", n, line)
              .isTrue();
          String v = m.group(3);
          double value =
              v.endsWith("Inf")
                  ? (v.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY)
                  : Double.parseDouble(v);
          e.samples.add(new Sample(name, labels, value));
        } else {
          throw new AssertionError("line " + n + " is not Prometheus text format: " + line);
        }
      }
      return e;
    }

    /** The family a sample belongs to: its own name, or a histogram's/summary's. */
    private static String family(String name, Map<String, String> types) {
      if (types.containsKey(name)) {
        return name;
      }
      for (String suffix : List.of("_bucket", "_count", "_sum")) {
        if (name.endsWith(suffix)) {
          String base = name.substring(0, name.length() - suffix.length());
          String t = types.get(base);
          if ("histogram".equals(t) || "summary".equals(t)) {
            return base;
          }
        }
      }
      return null;
    }

    String type(String family) {
      return types.get(family);
    }

    List<Sample> series(String name) {
      return samples.stream().filter(s -> s.name.equals(name)).toList();
    }

    private List<Sample> matching(String name, Map<String, String> labels) {
      return samples.stream()
          .filter(s -> s.name.equals(name) && s.labels.entrySet().containsAll(labels.entrySet()))
          .toList();
    }

    /** The value of the one series of {@code name} that has {@code labels} (among others). */
    double value(String name, Map<String, String> labels) {
      List<Sample> found = matching(name, labels);
      assertThat(found).as("one series %s%s in %s", name, labels, series(name)).hasSize(1);
      return found.get(0).value;
    }

    double sum(String name, Map<String, String> labels) {
      return matching(name, labels).stream().mapToDouble(Sample::value).sum();
    }
  }
}
