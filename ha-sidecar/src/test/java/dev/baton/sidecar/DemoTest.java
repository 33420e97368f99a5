package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.testing.process.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code baton demo --json} end to end: three sidecars, SIGKILL, rejoin, switch-active. */
class DemoTest {
  @TempDir Path dir;

  @Test
  void theDemoRunsAndReportsFailoverTimeAndGrowingTokens() throws Exception {
    Path out = dir.resolve("demo.json");
    Path err = dir.resolve("demo.err");
    boolean exited;
    int status;
    // Closing kills the demo and the sidecars it started (its process group) if it hangs.
    try (ChildJvm demo =
        ChildJvm.of("dev.baton.sidecar.Main", "demo", "--json")
            .jvmOptions("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
            .stdout(out)
            .log(err)
            .start()) {
      exited = demo.waitFor(240, TimeUnit.SECONDS);
      status = exited ? demo.exitValue() : -1;
    }
    String story = Files.readString(err);
    assertThat(exited).as(story).isTrue();
    assertThat(status).as(story).isZero();

    JsonNode summary = Json.read(Files.readString(out));
    assertThat(summary.path("ok").asBoolean()).isTrue();
    long failover = summary.path("failoverMillis").asLong();
    assertThat(failover).isPositive().isLessThan(30_000);
    assertThat(summary.path("failover").path("newActive").asText())
        .isNotEqualTo(summary.path("failover").path("killed").asText());
    // Tokens of the three activations only grow.
    long first = summary.path("firstActive").path("token").asLong();
    long second = summary.path("failover").path("newToken").asLong();
    long third = summary.path("switchActive").path("token").asLong();
    assertThat(first).isPositive().isLessThan(second);
    assertThat(second).isLessThan(third);
    assertThat(summary.path("switchActive").path("to").asText())
        .isEqualTo(summary.path("failover").path("killed").asText());
    assertThat(summary.path("tokens")).extracting(JsonNode::asLong).contains(first, second, third);
    assertThat(summary.path("hookLines"))
        .extracting(JsonNode::asText)
        .anySatisfy(l -> assertThat(l).contains("token=" + second))
        .anySatisfy(l -> assertThat(l).contains("token=" + third));
    // Progress and the story went to stderr, and the temporary directory is gone.
    assertThat(story).contains("SIGKILL", "failover took", "rejoined as standby");
    String tmp = story.replaceAll("(?s).*hooks.log in (\\S+).*", "$1");
    assertThat(Path.of(tmp)).doesNotExist();
  }
}
