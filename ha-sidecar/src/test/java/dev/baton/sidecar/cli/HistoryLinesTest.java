package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Activation;
import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.proto.HistoryResponse;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The table {@code bin/baton history} prints: the failover time where the record has one. */
class HistoryLinesTest {

  @Test
  void aFailoverWithItsTimeSaysSoAndAnUnknownTimeSaysNothing() {
    var start =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId("n1")
            .setToken(3)
            .setReason("START")
            .build();
    var timed =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId("n2")
            .setToken(41)
            .setReason("FAILOVER")
            .setPreviousNodeId("n1")
            .setPreviousToken(3)
            .setPromoted(true)
            .setFailoverMillis(1103)
            .build();
    var unknown = timed.toBuilder().setToken(57).setPreviousToken(41).clearFailoverMillis().build();
    List<Activation> history =
        ControlMessages.activations(
            HistoryResponse.newBuilder()
                .addActivations(start)
                .addActivations(timed)
                .addActivations(unknown)
                .build());
    StringWriter out = new StringWriter();
    try (PrintWriter w = new PrintWriter(out)) {
      HistoryCommand.print(w, history);
    }
    List<String> lines = out.toString().lines().toList();
    assertThat(lines.get(3)).startsWith("41 ").endsWith("became active, failover 1103 ms");
    assertThat(lines.get(4)).startsWith("57 ").endsWith("became active");
    assertThat(out.toString()).containsOnlyOnce("failover ");
  }
}
