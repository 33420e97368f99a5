package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/monitoring/baton-dashboard.json}, the Grafana dashboard. No Grafana runs here
 * (Debian has no package and nothing can be pulled), so what Grafana itself would check is checked
 * instead: the JSON's shape (unique ids, panels inside the 24-column grid and not overlapping,
 * every query on the dashboard's data-source variable); every query parses as PromQL ({@code
 * promtool check rules}, with Grafana's variables filled in); every metric it names is documented;
 * and the queries that say who is active evaluate as they should on the series of a failover
 * ({@code promtool test rules}).
 */
class DashboardTest {
  static final Path DASHBOARD = AlertRulesTest.MONITORING.resolve("baton-dashboard.json");

  private static JsonNode dashboard;
  private static final List<String> EXPRS = new ArrayList<>();

  @TempDir Path dir;

  @BeforeAll
  static void load() throws IOException {
    dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    for (JsonNode p : dashboard.get("panels")) {
      for (JsonNode t : p.get("targets")) {
        EXPRS.add(t.get("expr").asText());
      }
    }
  }

  @BeforeEach
  void needsPromtool() {
    if (!Prerequisites.onPath("promtool")) {
      Prerequisites.missing(
          "DashboardTest",
          "promtool is not on the PATH (Debian's prometheus package; scripts/install-deps"
              + " installs it)");
    }
  }

  /** Grafana's variables, replaced by values PromQL accepts. */
  private static String filled(String expr) {
    return expr.replace("$__rate_interval", "1m").replace("$cluster", "plane");
  }

  @Test
  void panelsFitTheGridAndUseTheDataSourceVariable() {
    Set<Integer> ids = new HashSet<>();
    List<int[]> boxes = new ArrayList<>();
    for (JsonNode p : dashboard.get("panels")) {
      String title = p.get("title").asText();
      assertThat(ids.add(p.get("id").asInt())).as("%s: id unique", title).isTrue();
      JsonNode g = p.get("gridPos");
      int[] box = {g.get("x").asInt(), g.get("y").asInt(), g.get("w").asInt(), g.get("h").asInt()};
      assertThat(box[0] + box[2]).as("%s: right edge", title).isLessThanOrEqualTo(24);
      for (int[] other : boxes) {
        boolean apart =
            box[0] + box[2] <= other[0]
                || other[0] + other[2] <= box[0]
                || box[1] + box[3] <= other[1]
                || other[1] + other[3] <= box[1];
        assertThat(apart).as("%s overlaps another panel", title).isTrue();
      }
      boxes.add(box);
      assertThat(p.get("datasource").get("uid").asText()).isEqualTo("${datasource}");
      assertThat(p.get("description").asText()).as("%s: description", title).isNotBlank();
      for (JsonNode t : p.get("targets")) {
        assertThat(t.get("expr").asText())
            .as("%s: every query is for the chosen cluster", title)
            .contains("baton_cluster=\"$cluster\"");
      }
    }
    assertThat(ids).hasSizeGreaterThanOrEqualTo(10);
    JsonNode vars = dashboard.get("templating").get("list");
    assertThat(vars.findValuesAsText("name")).contains("datasource", "cluster");
  }

  @Test
  void everyQueryParsesAsPromql() throws Exception {
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (int i = 0; i < EXPRS.size(); i++) {
      rules
          .append("      - record: dashboard:q")
          .append(i)
          .append("\n        expr: '")
          .append(filled(EXPRS.get(i)).replace("'", "''"))
          .append("'\n");
    }
    Files.writeString(dir.resolve("dashboard-rules.yaml"), rules);
    Prerequisites.Run r =
        Prerequisites.run(List.of("promtool", "check", "rules", "dashboard-rules.yaml"), dir, 60);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: " + EXPRS.size() + " rules found");
  }

  @Test
  void everyMetricItNamesIsDocumented() throws IOException {
    Set<String> used = new TreeSet<>();
    Matcher m = Pattern.compile("\\b(baton_[a-z_]+)\\b").matcher(String.join("\n", EXPRS));
    while (m.find()) {
      used.add(m.group(1).replaceAll("_(bucket|count|sum)$", ""));
    }
    used.removeIf(n -> n.equals("baton_cluster") || n.equals("baton_node"));
    String doc = Files.readString(AlertRulesTest.METRICS_DOC);
    for (String name : used) {
      assertThat(doc).as("docs/metrics.md documents %s", name).contains("`" + name + "`");
    }
  }

  /**
   * The panels that say who is active, on a failover from n1 to n2 (15 s without an active), and on
   * n3 seen down by the leader: what Grafana would draw, evaluated by Prometheus's engine.
   */
  @Test
  void whoIsActiveEvaluatesOnAFailover() throws Exception {
    String activeNode = query("Active node");
    String activesNow = query("Actives now");
    String membersDown = query("Members down (as some node sees them)");
    String test =
        """
        rule_files: []
        evaluation_interval: 15s
        tests:
          - interval: 15s
            input_series:
              - series: 'baton_role{baton_cluster="plane",baton_node="n1",role="active"}'
                values: '1 1 0 0 0'
              - series: 'baton_role{baton_cluster="plane",baton_node="n2",role="active"}'
                values: '0 0 0 1 1'
              - series: 'baton_role{baton_cluster="other",baton_node="x1",role="active"}'
                values: '1 1 1 1 1'
              - series: 'baton_member_up{baton_cluster="plane",baton_node="n2",member="n3"}'
                values: '1 1 1 0 0'
              - series: 'baton_member_up{baton_cluster="plane",baton_node="n1",member="n3"}'
                values: '1 1 NaN NaN NaN'
            promql_expr_test:
              - expr: 'ACTIVE_NODE'
                eval_time: 15s
                exp_samples:
                  - labels: '{baton_node="n1"}'
                    value: 1
              - expr: 'ACTIVE_NODE'
                eval_time: 60s
                exp_samples:
                  - labels: '{baton_node="n2"}'
                    value: 1
              - expr: 'ACTIVES_NOW'
                eval_time: 30s
                exp_samples:
                  - labels: '{}'
                    value: 0
              - expr: 'ACTIVES_NOW'
                eval_time: 60s
                exp_samples:
                  - labels: '{}'
                    value: 1
              - expr: 'MEMBERS_DOWN'
                eval_time: 15s
                exp_samples:
                  - labels: '{}'
                    value: 0
              - expr: 'MEMBERS_DOWN'
                eval_time: 60s
                exp_samples:
                  - labels: '{}'
                    value: 1
        """
            .replace("ACTIVE_NODE", quoted(activeNode))
            .replace("ACTIVES_NOW", quoted(activesNow))
            .replace("MEMBERS_DOWN", quoted(membersDown));
    Files.writeString(dir.resolve("dashboard.test.yaml"), test);
    Prerequisites.Run r =
        Prerequisites.run(List.of("promtool", "test", "rules", "dashboard.test.yaml"), dir, 60);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }

  private static String quoted(String expr) {
    return filled(expr).replace("'", "''");
  }

  private static String query(String title) {
    for (JsonNode p : dashboard.get("panels")) {
      if (p.get("title").asText().equals(title)) {
        return p.get("targets").get(0).get("expr").asText();
      }
    }
    throw new AssertionError("no panel titled " + title + " in " + DASHBOARD);
  }
}
