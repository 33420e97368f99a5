package dev.baton.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/monitoring/}: the shipped alert rules load in Prometheus's own checker, pass their
 * unit tests (each alert shown firing on the series a node exports, and quiet on the healthy and
 * the transient case next to it), and name only metrics that docs/metrics.md documents.
 */
class AlertRulesTest {
  static final Path MONITORING = Prerequisites.DEPLOY.resolve("monitoring");
  static final Path RULES = MONITORING.resolve("baton-alerts.yaml");
  static final Path METRICS_DOC = Prerequisites.DEPLOY.getParent().resolve("docs/metrics.md");

  @TempDir Path dir;

  @BeforeEach
  void needsPromtool() {
    if (!Prerequisites.onPath("promtool")) {
      Prerequisites.missing(
          "AlertRulesTest",
          "promtool is not on the PATH (Debian's prometheus package; scripts/install-deps"
              + " installs it)");
    }
  }

  @Test
  void theRulesLoadInPrometheusChecker() throws Exception {
    Prerequisites.Run r =
        Prerequisites.run(List.of("promtool", "check", "rules", RULES.toString()), MONITORING, 60);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: 10 rules found");
  }

  @Test
  void everyAlertPassesItsUnitTests() throws Exception {
    Prerequisites.Run r =
        Prerequisites.run(
            List.of("promtool", "test", "rules", "baton-alerts.test.yaml"), MONITORING, 60);
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }

  /** Every alert in the rules file has at least one test case that expects it to fire. */
  @Test
  void everyAlertIsShownFiring() throws IOException {
    Set<String> alerts = matches(Files.readString(RULES), "(?m)^\\s*- alert: (\\w+)$");
    String tests = Files.readString(MONITORING.resolve("baton-alerts.test.yaml"));
    Set<String> fired = new TreeSet<>();
    Matcher m =
        Pattern.compile("alertname: (\\w+)\\n\\s*exp_alerts:\\n\\s*- exp_labels").matcher(tests);
    while (m.find()) {
      fired.add(m.group(1));
    }
    assertThat(alerts).hasSize(10);
    assertThat(fired).as("alerts with a firing test case").containsAll(alerts);
  }

  /** A test that can fail: a rule whose expression no longer fires makes promtool fail. */
  @Test
  void aBrokenRuleFailsTheUnitTests() throws Exception {
    String broken =
        Files.readString(RULES)
            .replace(
                "sum by (baton_cluster) (baton_role{role=\"active\"}) == 0",
                "sum by (baton_cluster) (baton_role{role=\"promoting\"}) == 0");
    Files.writeString(dir.resolve("baton-alerts.yaml"), broken);
    Files.copy(MONITORING.resolve("baton-alerts.test.yaml"), dir.resolve("baton-alerts.test.yaml"));
    Prerequisites.Run r =
        Prerequisites.run(List.of("promtool", "test", "rules", "baton-alerts.test.yaml"), dir, 60);
    assertThat(r.exit()).as(r.output()).isNotZero();
    assertThat(r.output()).contains("BatonNoActive");
  }

  @Test
  void theRulesUseOnlyDocumentedMetrics() throws IOException {
    String rules = Files.readString(RULES).replaceAll("(?m)^\\s*#.*$", "");
    Set<String> used = new TreeSet<>();
    Matcher expr = Pattern.compile("(?m)^\\s*expr: (.*)$").matcher(rules);
    while (expr.find()) {
      used.addAll(matches(expr.group(1), "\\b(baton_[a-z_]+)\\b"));
    }
    used.removeIf(n -> n.equals("baton_cluster") || n.equals("baton_node"));
    Set<String> documented =
        matches(Files.readString(METRICS_DOC), "(?m)^\\| `(baton_[a-z_]+)`|, `(baton_[a-z_]+)`");
    assertThat(used).isNotEmpty();
    assertThat(documented).as("metrics documented in docs/metrics.md").containsAll(used);
  }

  private static Set<String> matches(String text, String regex) {
    Set<String> found = new TreeSet<>();
    Matcher m = Pattern.compile(regex).matcher(text);
    while (m.find()) {
      for (int g = 1; g <= m.groupCount(); g++) {
        if (m.group(g) != null) {
          found.add(m.group(g));
        }
      }
    }
    return found;
  }
}
