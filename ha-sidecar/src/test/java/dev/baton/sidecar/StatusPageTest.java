package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.Member;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * {@link StatusPage}'s rendering: what it highlights, what it says when it cannot know, escaping.
 */
class StatusPageTest {
  private static MemberStatus member(String id, Role role, long token, Health health) {
    return MemberStatus.newBuilder()
        .setMember(Member.newBuilder().setId(id).setRaftAddress("10.0.0.1:7000").setPriority(1))
        .setReportedRole(role)
        .setReportedToken(token)
        .setHealth(health)
        .setInConfiguration(true)
        .setLastSeenMillisAgo(health == Health.UNREACHABLE ? 4200 : 300)
        .build();
  }

  private static StatusResponse.Builder cluster() {
    return StatusResponse.newBuilder()
        .setClusterId("plane")
        .setNodeId("n2")
        .setRole(Role.ACTIVE)
        .setToken(42)
        .setTerm(3)
        .setLeaderId("n2")
        .setActiveNodeId("n2")
        .setActiveToken(42)
        .setHighestToken(42)
        .setLeaseRemainingMillis(1800)
        .addMembers(member("n1", Role.ROLE_UNSPECIFIED, 0, Health.UNREACHABLE))
        .addMembers(member("n2", Role.ACTIVE, 42, Health.SELF).toBuilder().setLeader(true))
        .addMembers(member("tie", Role.WITNESS, 0, Health.REACHABLE));
  }

  @Test
  void theActiveNodesRowIsTheOneHighlighted() {
    String page = StatusPage.render(cluster().build(), Instant.EPOCH);
    assertThat(page)
        .contains("<tr data-node=\"n2\" class=\"active\" data-active=\"true\">")
        .contains("<tr data-node=\"n1\"><td>")
        .contains("<tr data-node=\"tie\"><td>")
        .contains("Active: <strong data-node=\"n2\">n2</strong> with token <strong>42</strong>")
        .contains("lease left 1800 ms")
        .contains("<meta http-equiv=\"refresh\" content=\"2\">")
        .doesNotContainIgnoringCase("<script")
        .doesNotContain("http://")
        .doesNotContain("https://");
    assertThat(page.split("class=\"active\"", -1)).hasSize(2);
  }

  @Test
  void aNodeThatKnowsNoLeaderSaysItsViewMayBeStale() {
    String page =
        StatusPage.render(
            cluster().setNodeId("n1").setRole(Role.STANDBY).setLeaderId("").build(), Instant.EPOCH);
    assertThat(page)
        .contains("class=\"banner stale\"")
        .contains("knows no leader")
        .doesNotContain("lease left");
  }

  @Test
  void beforeAnyActivationNoRowIsHighlighted() {
    String page =
        StatusPage.render(
            cluster().setActiveNodeId("").setActiveToken(0).setRole(Role.STANDBY).build(),
            Instant.EPOCH);
    assertThat(page).contains("No activation yet").doesNotContain("class=\"active\"");
  }

  @Test
  void whatComesFromOutsideIsEscaped() {
    String evil = "<script>alert(1)</script>\"'&";
    StatusResponse s =
        cluster()
            .addMembers(
                member("x\"><img src=y>", Role.STANDBY, 0, Health.UNREACHABLE).toBuilder()
                    .setProbeError(evil))
            .setHealthGating(
                HealthGating.newBuilder()
                    .setEnabled(true)
                    .setEligible(false)
                    .setNote(evil)
                    .addChecks(
                        HealthCheckState.newBuilder()
                            .setName("plane")
                            .setDemotes(true)
                            .setProbed(true)
                            .setLastReason(evil)))
            .build();
    String page = StatusPage.render(s, Instant.EPOCH);
    assertThat(page)
        .doesNotContain("<script>")
        .doesNotContain("<img")
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;")
        .contains("data-node=\"x&quot;&gt;&lt;img src=y&gt;\"")
        .contains("A check is down: this node may not become active.");
  }
}
