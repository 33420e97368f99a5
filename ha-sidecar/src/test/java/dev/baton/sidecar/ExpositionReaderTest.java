package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The strict reader of the Prometheus text format that {@link SidecarMetricsTest} scrapes with: it
 * reads what the format allows and refuses, naming the line, what it does not.
 */
class ExpositionReaderTest {

  @Test
  void readsTheFormat() {
    SidecarMetricsTest.Exposition e =
        SidecarMetricsTest.Exposition.parse(
            "# HELP a_total counts\n"
                + "# TYPE a_total counter\n"
                + "a_total{x=\"1\",y=\"q\\\"uote\\\\ \\n\"} 3.0\n"
                + "# TYPE h histogram\n"
                + "h_bucket{le=\"+Inf\"} 2\n"
                + "h_count 2\n"
                + "h_sum 0.5\n"
                + "# TYPE g gauge\n"
                + "g NaN\n"
                + "g{k=\"v\"} -Inf 1700000000000\n");
    assertThat(e.value("a_total", Map.of("x", "1"))).isEqualTo(3.0);
    assertThat(e.value("h_bucket", Map.of("le", "+Inf"))).isEqualTo(2.0);
    assertThat(e.value("g", Map.of("k", "v"))).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(e.type("h")).isEqualTo("histogram");
  }

  @Test
  void refusesWhatIsNotTheFormat() {
    for (String bad :
        new String[] {
          "# TYPE a gauge\na{x=1} 1\n", // unquoted label value
          "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", // a label twice
          "# TYPE a gauge\na 1\na 2\n", // a series twice
          "a 1\n", // no TYPE before the sample
          "# TYPE a gauge\n# TYPE a gauge\na 1\n", // TYPE twice
          "# TYPE a gauge\na one\n", // not a number
          "# TYPE a gauge\na{x=\"1\"}1\n", // no space before the value
          "# TYPE a gauge\na 1", // no final newline
          "# TYPE a gauge\n1a 1\n", // bad name
          "# TYPE a gauge\na{x=\"a\\qb\"} 1\n", // bad escape
        }) {
      assertThatThrownBy(() -> SidecarMetricsTest.Exposition.parse(bad))
          .as("refuses %s", bad)
          .isInstanceOf(AssertionError.class);
    }
  }
}
