package dev.baton.benchmarks.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultsTest {

  @Test
  void percentilesAreNearestRank() {
    double[] v = new double[20];
    for (int i = 0; i < 20; i++) {
      v[i] = 20 - i; // 20, 19, ..., 1: unsorted on purpose
    }
    assertThat(Results.percentile(v, 50)).isEqualTo(10);
    assertThat(Results.percentile(v, 95)).isEqualTo(19);
    assertThat(Results.percentile(v, 99)).isEqualTo(20);
    assertThat(Results.percentile(v, 100)).isEqualTo(20);
  }

  @Test
  void csvRoundTripsAndThePlotIsWellFormedSvg(@TempDir Path dir) throws IOException {
    Results r = new Results();
    r.add(new Results.Sample("baton", "unplanned", 1, "time_to_writable", 1800.5, 1.25));
    r.add(new Results.Sample("baton", "unplanned", 2, "time_to_writable", 2100, 1.5));
    r.add(new Results.Sample("patroni-fast", "unplanned", 1, "time_to_writable", 20300, 0.5));
    Path csv = dir.resolve("x.csv");
    r.writeCsv(csv);
    assertThat(Results.readCsv(csv)).isEqualTo(r.samples());

    Map<String, double[]> series = Results.bySeries(Results.readCsv(csv));
    assertThat(series)
        .containsOnlyKeys(
            "baton unplanned time_to_writable", "patroni-fast unplanned time_to_writable");
    Path svg = dir.resolve("x.svg");
    Plot.write(svg, "a <title> & more", series);
    String text = Files.readString(svg);
    assertThat(text).startsWith("<svg ").endsWith("</svg>\n");
    assertThat(text).contains("a &lt;title&gt; &amp; more").contains("n=2, p50 1801 ms");
    assertThat(text.split("<polyline", -1)).hasSize(3);
  }

  @Test
  void aMalformedCsvIsRefusedWithItsLine(@TempDir Path dir) throws IOException {
    Path csv = dir.resolve("bad.csv");
    Files.writeString(csv, Results.HEADER + "\nbaton,unplanned,one,time,1,1\n");
    assertThatThrownBy(() -> Results.readCsv(csv)).hasMessageContaining("bad.csv:2");
    Files.writeString(csv, "system,value\n");
    assertThatThrownBy(() -> Results.readCsv(csv)).hasMessageContaining("first line must be");
  }
}
