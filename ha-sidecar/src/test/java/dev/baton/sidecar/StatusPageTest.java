package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.proto.Activation;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.Member;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStep;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * {@link StatusPage}'s rendering: what it highlights, what it says when it cannot know, escaping.
 * The page renders Baton's records; the cases are written as the control API's messages and read
 * into records as a client reads them ({@link ControlMessages}), the same records the sidecar's
 * control server hands the page.
 */
class StatusPageTest {
  private static final HistoryResponse NO_HISTORY = HistoryResponse.getDefaultInstance();

  private static String render(StatusResponse s, HistoryResponse h, Instant now) {
    return StatusPage.render(ControlMessages.statusReport(s), ControlMessages.activations(h), now);
  }

  private static dev.baton.core.Activation record(Activation a) {
    return ControlMessages.activations(HistoryResponse.newBuilder().addActivations(a).build())
        .get(0);
  }

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

  /** Issue 37: maintenance mode shows as a banner while it is on, and only then. */
  @Test
  void maintenanceModeIsABannerWhileItIsOn() {
    MaintenanceState on =
        MaintenanceState.newBuilder()
            .setOn(true)
            .setReason("<b>upgrade</b>")
            .setSetBy("n1")
            .setClient("ops-admin")
            .setSetAtUnixMillis(Instant.parse("2026-12-06T12:00:00Z").toEpochMilli())
            .setIndex(7)
            .build();
    String page = render(cluster().setMaintenance(on).build(), NO_HISTORY, Instant.EPOCH);
    assertThat(page)
        .contains("id=\"maintenance\"")
        .contains(
            "Set by ops-admin via n1 at 2026-12-06T12:00:00Z (that member's clock):"
                + " &lt;b&gt;upgrade&lt;/b&gt;.")
        .doesNotContain("<b>upgrade");
    String off =
        render(
            cluster().setMaintenance(on.toBuilder().setOn(false)).build(),
            NO_HISTORY,
            Instant.EPOCH);
    assertThat(off).doesNotContain("id=\"maintenance\"");
    assertThat(render(cluster().build(), NO_HISTORY, Instant.EPOCH))
        .doesNotContain("id=\"maintenance\"");
  }

  @Test
  void theActiveNodesRowIsTheOneHighlighted() {
    String page = render(cluster().build(), NO_HISTORY, Instant.EPOCH);
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
        render(
            cluster().setNodeId("n1").setRole(Role.STANDBY).setLeaderId("").build(),
            NO_HISTORY,
            Instant.EPOCH);
    assertThat(page)
        .contains("class=\"banner stale\"")
        .contains("knows no leader")
        .doesNotContain("lease left");
  }

  @Test
  void beforeAnyActivationNoRowIsHighlighted() {
    String page =
        render(
            cluster().setActiveNodeId("").setActiveToken(0).setRole(Role.STANDBY).build(),
            NO_HISTORY,
            Instant.EPOCH);
    assertThat(page).contains("No activation yet").doesNotContain("class=\"active\"");
  }

  @Test
  void whatComesFromOutsideIsEscaped() {
    String evil = "<script>alert(1)</script>\"'&";
    StatusResponse s =
        // A member's id cannot carry markup (Member refuses it), the active node's id as the
        // status names it is only a string: the attribute it fills is escaped.
        cluster()
            .setActiveNodeId("x\"><img src=y>")
            .addMembers(
                member("x", Role.STANDBY, 0, Health.UNREACHABLE).toBuilder().setProbeError(evil))
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
    String page = render(s, NO_HISTORY, Instant.EPOCH);
    assertThat(page)
        .doesNotContain("<script>")
        .doesNotContain("<img")
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;")
        .contains("data-node=\"x&quot;&gt;&lt;img src=y&gt;\"")
        .contains("A check is down: this node may not become active.");
  }

  private static Activation activation(String node, long token, String reason, boolean promoted) {
    Activation.Builder a =
        Activation.newBuilder()
            .setNodeId(node)
            .setToken(token)
            .setReason(reason)
            .setPromoted(promoted)
            .setProposedAtUnixMillis(1_000_000L * token)
            .addSteps(
                PromotionStep.newBuilder()
                    .setName("dns")
                    .setAttempt(1)
                    .setOutcome(promoted ? "COMPLETED" : "FAILED")
                    .setDurationMillis(120));
    if (promoted) {
      a.addSteps(
          PromotionStep.newBuilder()
              .setName("postgres")
              .setAttempt(1)
              .setOutcome("COMPLETED")
              .setDurationMillis(250));
    }
    return a.build();
  }

  @Test
  void theTimelineShowsTheNewestActivationsInTokenOrderAndHighlightsTheCurrentOne() {
    HistoryResponse.Builder h = HistoryResponse.newBuilder();
    h.addActivations(activation("n1", 1, "START", true));
    for (long t = 2; t <= 13; t++) {
      h.addActivations(activation(t % 2 == 0 ? "n2" : "n1", t, "FAILOVER", true));
    }
    h.addActivations(activation("gone<b>", 27, "HEALTH", false));
    h.addActivations(activation("n2", 42, "SWITCH_ACTIVE", true).toBuilder().setRequester("n1"));
    String page = render(cluster().build(), h.build(), Instant.EPOCH);

    assertThat(page).contains("<svg id=\"timeline\"").contains("Showing 12 of 15 activations");
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile(
                "<g class=\"act[^\"]*\" data-node=\"[^\"]*\" data-token=\"(\\d+)\"")
            .matcher(page);
    java.util.List<Long> tokens = new java.util.ArrayList<>();
    while (m.find()) {
      tokens.add(Long.parseLong(m.group(1)));
    }
    assertThat(tokens).containsExactly(4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 27L, 42L);
    assertThat(page.split("class=\"act current\"", -1)).hasSize(2);
    assertThat(page)
        .contains("<g class=\"act current\" data-node=\"n2\" data-token=\"42\"")
        .contains("data-reason=\"SWITCH_ACTIVE\"")
        .contains("SWITCH · 42")
        .contains("promoted 370 ms")
        .contains("requested through n1")
        .contains(
            "<g class=\"act unpromoted\" data-node=\"gone&lt;b&gt;\" data-token=\"27\""
                + " data-reason=\"HEALTH\">")
        .contains("not promoted")
        .doesNotContain("<b>");
    // One lane per member, then the node that is no longer one.
    assertThat(page.indexOf(">tie</text>")).isLessThan(page.indexOf(">gone&lt;b&gt;</text>"));
  }

  /**
   * Issue 38: under a FAILOVER block, how long the failover took as its new active measured it;
   * nothing where the record has no figure (an older server or record, a node that did not follow
   * the old active) and nothing under a hand-over, whatever the record carries.
   */
  @Test
  void aFailoverBlockShowsHowLongTheFailoverTookAndAnUnknownFigureShowsNothing() {
    HistoryResponse h =
        HistoryResponse.newBuilder()
            .addActivations(activation("n1", 1, "START", true))
            .addActivations(
                activation("n2", 7, "FAILOVER", true).toBuilder().setFailoverMillis(1103))
            .addActivations(
                activation("n1", 12, "FAILOVER", true).toBuilder().setFailoverMillis(850))
            .addActivations(activation("n2", 20, "FAILOVER", true))
            .addActivations(
                activation("n2", 42, "SWITCH_ACTIVE", true).toBuilder().setFailoverMillis(300))
            .build();
    String page = render(cluster().build(), h, Instant.EPOCH);

    assertThat(page)
        .contains("data-token=\"7\" data-reason=\"FAILOVER\" data-failover-ms=\"1103\">")
        .contains("data-token=\"12\" data-reason=\"FAILOVER\" data-failover-ms=\"850\">")
        .contains("data-token=\"20\" data-reason=\"FAILOVER\">")
        .contains("data-token=\"42\" data-reason=\"SWITCH_ACTIVE\">")
        .contains(">failover 1.1 s</text>")
        .contains(">failover 850 ms</text>")
        .contains(
            "the failover took 1103 ms from the previous active&#39;s lease end, on n2&#39;s clock");
    assertThat(page.split("class=\"when failover\"", -1))
        .as("one label per FAILOVER with a figure, none for the unknown one or the switch")
        .hasSize(3);
    // The label sits in its block's column: token 7's is the second column.
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("<text class=\"when failover\" x=\"(\\d+)\"").matcher(page);
    assertThat(m.find()).isTrue();
    assertThat(Integer.parseInt(m.group(1))).isEqualTo(60 + 104 + 4);
    assertThat(TimelineSvg.failoverLabel(record(activation("n2", 20, "FAILOVER", true)))).isEmpty();
    assertThat(
            TimelineSvg.failoverLabel(
                record(
                    activation("n2", 20, "FAILOVER", true).toBuilder()
                        .setFailoverMillis(0)
                        .build())))
        .isEqualTo("failover 0 ms");
  }

  @Test
  void withNoActivationTheTimelineSaysSo() {
    assertThat(render(cluster().build(), NO_HISTORY, Instant.EPOCH))
        .contains("No activation recorded yet.")
        .doesNotContain("<svg");
  }
}
