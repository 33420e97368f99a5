package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Activation;
import dev.baton.core.Maintenance;
import dev.baton.core.Role;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStatus;
import dev.baton.core.control.proto.PromotionStep;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 30: {@link BatonClient} answers the library's records, read from the control API's messages
 * by {@link Messages}, the server's own conversion. A message read into a record and turned back
 * ({@link ControlMessages}, what {@code bin/baton --json} prints) is the message the server sent,
 * every field set: nothing of the answer is lost on the way.
 */
class MessagesTest {

  private static dev.baton.core.control.proto.Member member(String id, String control) {
    return dev.baton.core.control.proto.Member.newBuilder()
        .setId(id)
        .setRaftAddress("10.0.1." + id.substring(1) + ":7000")
        .setPriority(2)
        .setControlAddress(control)
        .build();
  }

  static StatusResponse fullStatus() {
    return StatusResponse.newBuilder()
        .setClusterId("c1")
        .setNodeId("n1")
        .setRole(dev.baton.core.control.proto.Role.ACTIVE)
        .setToken(42)
        .setTerm(7)
        .setLeaderId("n1")
        .setActiveNodeId("n1")
        .setActiveToken(42)
        .setHighestToken(42)
        .setLeaseRemainingMillis(1234)
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n1", "10.0.1.1:7500"))
                .setLeader(true)
                .setActive(true)
                .setInConfiguration(true)
                .setHealth(Health.SELF)
                .setReportedRole(dev.baton.core.control.proto.Role.ACTIVE)
                .setReportedToken(42)
                .setLastSeenMillisAgo(0))
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n2", "10.0.1.2:7500"))
                .setInConfiguration(true)
                .setHealth(Health.UNREACHABLE)
                .setReportedRole(dev.baton.core.control.proto.Role.STANDBY)
                .setLastSeenMillisAgo(9000)
                .setProbeError("connection refused"))
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n3", "").toBuilder().setWitness(true).setNoActivate(true))
                .setInConfiguration(false)
                .setHealth(Health.UNKNOWN)
                .setLastSeenMillisAgo(-1))
        .setPromotion(
            PromotionStatus.newBuilder()
                .setToken(42)
                .setState("FAILED")
                .setStep("dns")
                .setAttempt(3)
                .setLastError("SERVFAIL"))
        .setHealthGating(
            HealthGating.newBuilder()
                .setEnabled(true)
                .setEligible(false)
                .setHandOver(true)
                .addChecks(
                    HealthCheckState.newBuilder()
                        .setName("pg")
                        .setDemotes(true)
                        .setUp(false)
                        .setProbed(true)
                        .setLastHealthy(false)
                        .setLastReason("timeout"))
                .setNote("stays active: no healthy peer")
                .addUnhealthyMembers("n1")
                .addUnhealthyMembers("n2"))
        .addActions(
            ActionState.newBuilder()
                .setStep("dns")
                .setType("dns")
                .setState("PENDING")
                .setToken(42)
                .setSinceUnixMillis(1_765_000_000_000L)
                .setForMillis(4200)
                .setAttempts(3)
                .setLastError("SERVFAIL")
                .setLastErrorUnixMillis(1_765_000_001_000L)
                .addTargets(
                    ActionTarget.newBuilder()
                        .setName("db.example.com.")
                        .addPointsTo("A 10.0.1.1")
                        .addPointsTo("AAAA ::1")))
        .addActions(
            ActionState.newBuilder().setStep("guard").setType("postgres-guard").setState("IDLE"))
        .setMaintenance(
            MaintenanceState.newBuilder()
                .setOn(true)
                .setReason("db upgrade")
                .setSetBy("n2")
                .setClient("ops-admin")
                .setSetAtUnixMillis(1_765_000_002_000L)
                .setIndex(99))
        .build();
  }

  @Test
  void aStatusReadIntoItsRecordAndTurnedBackIsTheMessageTheServerSent() {
    StatusResponse sent = fullStatus();
    StatusReport r = Messages.statusReport(sent);

    assertThat(r.node().role()).isEqualTo(Role.ACTIVE);
    assertThat(r.node().leaseRemaining()).isEqualTo(Duration.ofMillis(1234));
    assertThat(r.node().health().members()).containsEntry("n2", false);
    StatusReport.Peer n2 = r.peers().get("n2");
    assertThat(n2.reachability()).isEqualTo(StatusReport.Reachability.UNREACHABLE);
    assertThat(n2.lastSeen()).contains(Duration.ofSeconds(9));
    assertThat(n2.probeError()).isEqualTo("connection refused");
    assertThat(r.peers().get("n3").controlAddress()).isEmpty();
    assertThat(r.peers().get("n3").lastSeen()).isEmpty();
    assertThat(r.peers().get("n3").reportedRole()).isEmpty();
    assertThat(r.steps().get(0).targets().get(0).pointsTo())
        .containsExactly("A 10.0.1.1", "AAAA ::1");
    assertThat(r.steps().get(1).since()).isEmpty();
    assertThat(r.maintenance())
        .map(Maintenance::client)
        .contains(java.util.Optional.of("ops-admin"));

    assertThat(ControlMessages.status(r)).isEqualTo(sent);
  }

  @Test
  void aStatusWithoutTheFieldsAddedAfter020ReadsThemAsNotReported() {
    StatusResponse old = fullStatus().toBuilder().clearActions().clearMaintenance().build();
    StatusReport r = Messages.statusReport(old);
    assertThat(r.steps()).isEmpty();
    assertThat(r.maintenance()).isEmpty();
    assertThat(ControlMessages.status(r)).isEqualTo(old);
  }

  @Test
  void anActivationReadIntoItsRecordAndTurnedBackIsTheMessageTheServerSent() {
    dev.baton.core.control.proto.Activation failover =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId("n2")
            .setToken(50)
            .setTerm(8)
            .setProposedAtUnixMillis(1_765_000_000_000L)
            .setReason("FAILOVER")
            .setPreviousNodeId("n1")
            .setPreviousToken(42)
            .setPromoted(true)
            .setResigned("SWITCH_ACTIVE")
            .addSteps(
                PromotionStep.newBuilder()
                    .setName("dns")
                    .setAttempt(1)
                    .setOutcome("FAILED")
                    .setDurationMillis(30)
                    .setError("SERVFAIL"))
            .addSteps(
                PromotionStep.newBuilder()
                    .setName("dns")
                    .setAttempt(2)
                    .setOutcome("STARTED")
                    .setDurationMillis(-1))
            .setFailoverMillis(1100)
            .build();
    dev.baton.core.control.proto.Activation start =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId("n1")
            .setToken(3)
            .setTerm(1)
            .setReason("START")
            .build();
    dev.baton.core.control.proto.Activation switched =
        start.toBuilder().setToken(60).setReason("SWITCH_ACTIVE").setRequester("n3").build();

    Activation a = Messages.activation(failover);
    assertThat(a.reason()).isEqualTo(Activation.Reason.FAILOVER);
    assertThat(a.proposedAt()).contains(Instant.ofEpochMilli(1_765_000_000_000L));
    assertThat(a.failoverDuration()).contains(Duration.ofMillis(1100));
    assertThat(a.steps().get(1).duration()).isEmpty();
    assertThat(Messages.activation(start).failoverDuration()).isEmpty();
    assertThat(Messages.activation(start).proposedAt()).isEmpty();
    assertThat(Messages.activation(switched).requester()).contains("n3");

    List<dev.baton.core.control.proto.Activation> sent = List.of(start, failover, switched);
    assertThat(
            ControlMessages.history(sent.stream().map(Messages::activation).toList())
                .getActivationsList())
        .isEqualTo(sent);
  }

  /**
   * A client ignores what it does not know (COMPATIBILITY.md, the control API): a reason, a step
   * outcome, a promotion state or a watch event type that only a newer server sends reads as
   * UNKNOWN, and the rest of the answer is kept, so that {@code bin/baton history} against a newer
   * server still prints.
   */
  @Test
  void valuesThisClientDoesNotKnowReadAsUnknownAndTheRestIsKept() {
    dev.baton.core.control.proto.Activation newer =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId("n1")
            .setToken(77)
            .setReason("QUORUM_LOSS")
            .addSteps(
                PromotionStep.newBuilder().setName("pg").setAttempt(1).setOutcome("SKIPPED_LATER"))
            .build();
    Activation read = Messages.activation(newer);
    assertThat(read.reason()).isEqualTo(Activation.Reason.UNKNOWN);
    assertThat(read.nodeId()).isEqualTo("n1");
    assertThat(read.token()).isEqualTo(77);
    assertThat(read.steps())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.name()).isEqualTo("pg");
              assertThat(s.outcome()).isEqualTo(dev.baton.core.JournalEntry.Outcome.UNKNOWN);
            });

    StatusResponse status =
        StatusResponse.newBuilder()
            .setNodeId("n1")
            .setPromotion(
                dev.baton.core.control.proto.PromotionStatus.newBuilder()
                    .setState("REHEARSING")
                    .setToken(77))
            .build();
    assertThat(Messages.statusReport(status).node().promotion().state())
        .isEqualTo(dev.baton.core.PromotionState.UNKNOWN);

    dev.baton.core.control.proto.KvEvent event =
        dev.baton.core.control.proto.KvEvent.newBuilder().setTypeValue(99).setRevision(5).build();
    WatchEvent w = Messages.watchEvent(event);
    assertThat(w.type()).isEqualTo(WatchEvent.Type.UNKNOWN);
    assertThat(w.entry()).isEmpty();
    assertThat(w.activation()).isEmpty();
    assertThat(w.revision()).isEqualTo(5);
  }

  @Test
  void aMemberKeepsItsControlAddressOrItsAbsence() {
    for (dev.baton.core.control.proto.Member m :
        List.of(member("n1", "10.0.1.1:7500"), member("n2", ""))) {
      ClusterMember c = Messages.clusterMember(m);
      assertThat(c.member().id()).isEqualTo(m.getId());
      assertThat(c.controlAddress().orElse("")).isEqualTo(m.getControlAddress());
      assertThat(ControlMessages.member(c)).isEqualTo(m);
    }
  }

  @Test
  void aRoleEventIsARoleChange() {
    RoleChange active =
        Messages.roleChange(
            RoleEvent.newBuilder()
                .setNodeId("n2")
                .setRole(dev.baton.core.control.proto.Role.ACTIVE)
                .setToken(50)
                .setPreviousActive("n1")
                .setPreviousToken(42)
                .setUnixMillis(1_765_000_000_000L)
                .build());
    assertThat(active)
        .isEqualTo(
            new RoleChange(
                "n2",
                Role.ACTIVE,
                50,
                java.util.Optional.empty(),
                java.util.Optional.of("n1"),
                42,
                Instant.ofEpochMilli(1_765_000_000_000L)));
    RoleChange standby =
        Messages.roleChange(
            RoleEvent.newBuilder()
                .setNodeId("n1")
                .setRole(dev.baton.core.control.proto.Role.STANDBY)
                .setStandbyReason("SWITCH_ACTIVE")
                .build());
    assertThat(standby.role()).isEqualTo(Role.STANDBY);
    assertThat(standby.standbyReason()).contains("SWITCH_ACTIVE");
    assertThat(standby.previousActive()).isEmpty();
  }

  /**
   * The server builds its role events from the record ({@code ControlStreams}, through {@link
   * Messages#roleEvent}): a change turned into the message and read back is the same change, and
   * the message has the fields the hand-built one had (a standby event carries no token, an active
   * one no reason).
   */
  @Test
  void aRoleChangeTurnedIntoItsEventAndReadBackIsTheSameChange() {
    Instant at = Instant.ofEpochMilli(1_765_000_000_000L);
    RoleChange active =
        new RoleChange(
            "n2", Role.ACTIVE, 50, java.util.Optional.empty(), java.util.Optional.of("n1"), 42, at);
    RoleChange standby =
        new RoleChange(
            "n1",
            Role.STANDBY,
            0,
            java.util.Optional.of("SWITCH_ACTIVE"),
            java.util.Optional.empty(),
            0,
            at);
    assertThat(Messages.roleEvent(active))
        .isEqualTo(
            RoleEvent.newBuilder()
                .setNodeId("n2")
                .setRole(dev.baton.core.control.proto.Role.ACTIVE)
                .setToken(50)
                .setPreviousActive("n1")
                .setPreviousToken(42)
                .setUnixMillis(1_765_000_000_000L)
                .build());
    assertThat(Messages.roleEvent(standby))
        .isEqualTo(
            RoleEvent.newBuilder()
                .setNodeId("n1")
                .setRole(dev.baton.core.control.proto.Role.STANDBY)
                .setStandbyReason("SWITCH_ACTIVE")
                .setUnixMillis(1_765_000_000_000L)
                .build());
    assertThat(Messages.roleChange(Messages.roleEvent(active))).isEqualTo(active);
    assertThat(Messages.roleChange(Messages.roleEvent(standby))).isEqualTo(standby);
  }
}
