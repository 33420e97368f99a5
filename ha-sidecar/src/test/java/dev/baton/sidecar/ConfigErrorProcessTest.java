package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real binary refuses a bad config: exit status 2, every problem printed, nothing started. */
class ConfigErrorProcessTest {
  @TempDir Path dir;

  @Test
  void aBadConfigStartsNothingAndExitsWithStatus2() throws Exception {
    int http = SidecarProcesses.freePort();
    Path config = dir.resolve("bad.yaml");
    Files.writeString(
        config,
        """
        cluster: demo
        node: n1
        dataDir: data
        members:
          - id: n1
            raft: 127.0.0.1:7401
            control: 127.0.0.1:7501
        http:
          listen: 127.0.0.1:%d
        timing:
          electionTimeoutMin: fast
        promotion:
          steps:
            - name: dns
              type: dns
        """
            .formatted(http));
    Path log = dir.resolve("out.log");
    Process p = SidecarProcesses.launch(log, "sidecar", "--config", config.toString());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(out).isEqualTo(2);
    assertThat(out)
        .contains("configuration errors:")
        .contains(config + ":11: timing.electionTimeoutMin: 'fast' is not a duration")
        .contains(
            config
                + ":14: promotion.steps[0].server: is required: host:port of the zone's primary"
                + " server, which takes the updates")
        .contains(config + ":14: promotion.steps[0].tsig: is required: the TSIG key")
        .contains("nothing was started.");
    assertThat(Files.exists(dir.resolve("data"))).as("no data directory was created").isFalse();
  }
}
