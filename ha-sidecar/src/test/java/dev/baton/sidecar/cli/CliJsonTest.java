package dev.baton.sidecar.cli;

import static dev.baton.sidecar.StatusMessages.member;
import static dev.baton.sidecar.StatusMessages.status;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.Member;
import dev.baton.core.control.proto.PromotionStep;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.sidecar.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 30: the CLI reads the control API through {@code BatonClient}'s records now, but its {@code
 * --json} documents are stable API (COMPATIBILITY.md: they only gain fields). Each document the CLI
 * prints from the records read from a message is the document it printed from the message itself
 * before: the control API's JSON of the same message, every field set.
 */
class CliJsonTest {

  /** The document as {@code baton status --json} built it from the messages before issue 30. */
  private static ObjectNode documentFromMessages(
      StatusResponse leader, List<StatusResponse> answered, String unreachable) {
    ObjectNode root = Json.mapper().createObjectNode();
    root.put("clusterId", leader.getClusterId());
    root.put("leaderId", leader.getLeaderId());
    root.put("activeNodeId", leader.getActiveNodeId());
    root.put("activeToken", leader.getActiveToken());
    root.put("highestToken", leader.getHighestToken());
    root.put("term", leader.getTerm());
    if (leader.hasMaintenance()) {
      root.set("maintenance", Json.tree(leader.getMaintenance()));
    }
    ArrayNode activeNow = root.putArray("activeNow");
    for (StatusResponse s : answered) {
      if (s.getRole() == Role.ACTIVE) {
        activeNow.addObject().put("id", s.getNodeId()).put("token", s.getToken());
      }
    }
    ArrayNode nodes = root.putArray("nodes");
    for (StatusResponse s : answered) {
      ObjectNode n = nodes.addObject();
      n.put("id", s.getNodeId());
      n.put("endpoint", "10.0.1." + s.getNodeId().substring(1) + ":7500");
      n.put("reachable", true);
      n.set("status", Json.tree(s));
    }
    ObjectNode n = nodes.addObject();
    n.put("id", (String) null);
    n.put("endpoint", unreachable);
    n.put("reachable", false);
    n.put("error", "UNAVAILABLE: io exception");
    return root;
  }

  @Test
  void statusJsonIsTheDocumentPrintedFromTheMessages() {
    StatusResponse n1 = status("n1", Role.ACTIVE, 42);
    StatusResponse n2 = status("n2", Role.STANDBY, 0);
    List<StatusCommand.Row> rows =
        List.of(
            new StatusCommand.Row("n1", "10.0.1.1:7500", ControlMessages.statusReport(n1), null),
            new StatusCommand.Row("n2", "10.0.1.2:7500", ControlMessages.statusReport(n2), null),
            new StatusCommand.Row(
                "?10.9.9.9:7500", "10.9.9.9:7500", null, "UNAVAILABLE: io exception"));

    String printed = Json.pretty(StatusCommand.json(ControlMessages.statusReport(n1), rows));

    assertThat(printed)
        .isEqualTo(Json.pretty(documentFromMessages(n1, List.of(n1, n2), "10.9.9.9:7500")));
    assertThat(printed).contains("\"probeError\"", "\"actions\"", "\"maintenance\"");
  }

  @Test
  void historyJsonIsTheHistoryResponse() {
    HistoryResponse h =
        HistoryResponse.newBuilder()
            .addActivations(
                dev.baton.core.control.proto.Activation.newBuilder()
                    .setNodeId("n1")
                    .setToken(3)
                    .setTerm(1)
                    .setReason("START")
                    .setPromoted(true))
            .addActivations(
                dev.baton.core.control.proto.Activation.newBuilder()
                    .setNodeId("n2")
                    .setToken(41)
                    .setTerm(2)
                    .setProposedAtUnixMillis(1_765_000_000_000L)
                    .setReason("FAILOVER")
                    .setPreviousNodeId("n1")
                    .setPreviousToken(3)
                    .setPromoted(true)
                    .setResigned("SWITCH_ACTIVE")
                    .addSteps(
                        PromotionStep.newBuilder()
                            .setName("dns")
                            .setAttempt(1)
                            .setOutcome("COMPLETED")
                            .setDurationMillis(30))
                    .addSteps(
                        PromotionStep.newBuilder()
                            .setName("pg")
                            .setAttempt(1)
                            .setOutcome("STARTED")
                            .setDurationMillis(-1))
                    .setFailoverMillis(1103))
            .addActivations(
                dev.baton.core.control.proto.Activation.newBuilder()
                    .setNodeId("n1")
                    .setToken(57)
                    .setTerm(2)
                    .setReason("SWITCH_ACTIVE")
                    .setRequester("n3")
                    .setPreviousNodeId("n2")
                    .setPreviousToken(41))
            .build();
    assertThat(HistoryCommand.json(ControlMessages.activations(h)))
        .isEqualTo(Json.pretty(Json.tree(h)))
        .contains("\"failoverMillis\"");
  }

  @Test
  void membersJsonIsEachMemberMessage() {
    List<Member> members =
        List.of(
            member("n1", "10.0.1.1:7500"),
            member("n2", ""),
            member("n3", "10.0.1.3:7500").toBuilder()
                .setWitness(true)
                .setNoActivate(true)
                .setPriority(0)
                .build());
    ArrayNode before = Json.mapper().createArrayNode();
    members.forEach(m -> before.add(Json.tree(m)));
    assertThat(MembersCommand.json(members.stream().map(ControlMessages::clusterMember).toList()))
        .isEqualTo(Json.pretty(before))
        .contains("\"controlAddress\" : \"\"");
  }
}
