package dev.baton.sidecar;

import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.Member;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;

/**
 * The control API's status messages that the sidecar's tests print: {@code CliJsonTest} (the CLI's
 * {@code --json} documents) and {@code StatusPageWholeTest} (the status page) read the same
 * messages.
 */
public final class StatusMessages {
  private StatusMessages() {}

  /** A member message; its Raft address follows from its id ({@code n2}: 10.0.1.2:7000). */
  public static Member member(String id, String control) {
    return Member.newBuilder()
        .setId(id)
        .setRaftAddress("10.0.1." + id.substring(1) + ":7000")
        .setPriority(2)
        .setControlAddress(control)
        .build();
  }

  /**
   * Node {@code nodeId}'s status in a three-member cluster whose leader and active is n1 (token
   * 42), every field set: n1 and n2 with control addresses, n2 unreachable with a probe error, n3 a
   * witness whose control address is unknown; a failed promotion when {@code token} is not 0 (the
   * active's view), idle otherwise; a health check down; a dns step pending; maintenance on.
   */
  public static StatusResponse status(String nodeId, Role role, long token) {
    return StatusResponse.newBuilder()
        .setClusterId("c1")
        .setNodeId(nodeId)
        .setRole(role)
        .setToken(token)
        .setTerm(7)
        .setLeaderId("n1")
        .setActiveNodeId("n1")
        .setActiveToken(42)
        .setHighestToken(42)
        .setLeaseRemainingMillis(token == 0 ? 0 : 1234)
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n1", "10.0.1.1:7500"))
                .setLeader(true)
                .setActive(true)
                .setInConfiguration(true)
                .setHealth(nodeId.equals("n1") ? Health.SELF : Health.REACHABLE)
                .setReportedRole(Role.ACTIVE)
                .setReportedToken(42)
                .setLastSeenMillisAgo(nodeId.equals("n1") ? 0 : 300))
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n2", "10.0.1.2:7500"))
                .setInConfiguration(true)
                .setHealth(nodeId.equals("n2") ? Health.SELF : Health.UNREACHABLE)
                .setReportedRole(Role.STANDBY)
                .setLastSeenMillisAgo(nodeId.equals("n2") ? 0 : 9000)
                .setProbeError(nodeId.equals("n2") ? "" : "connection refused"))
        .addMembers(
            MemberStatus.newBuilder()
                .setMember(member("n3", "").toBuilder().setWitness(true).setNoActivate(true))
                .setHealth(Health.UNKNOWN)
                .setLastSeenMillisAgo(-1))
        .setPromotion(
            PromotionStatus.newBuilder()
                .setToken(token)
                .setState(token == 0 ? "IDLE" : "FAILED")
                .setStep(token == 0 ? "" : "dns")
                .setAttempt(token == 0 ? 0 : 3)
                .setLastError(token == 0 ? "" : "SERVFAIL"))
        .setHealthGating(
            HealthGating.newBuilder()
                .setEnabled(true)
                .setEligible(false)
                .setHandOver(true)
                .addChecks(
                    HealthCheckState.newBuilder()
                        .setName("pg")
                        .setDemotes(true)
                        .setProbed(true)
                        .setLastReason("timeout"))
                .setNote("stays active: no healthy peer")
                .addUnhealthyMembers("n1"))
        .addActions(
            ActionState.newBuilder()
                .setStep("dns")
                .setType("dns")
                .setState("PENDING")
                .setToken(token)
                .setSinceUnixMillis(1_765_000_000_000L)
                .setForMillis(4200)
                .setAttempts(3)
                .setLastError("SERVFAIL")
                .setLastErrorUnixMillis(1_765_000_001_000L)
                .addTargets(
                    ActionTarget.newBuilder().setName("db.example.com.").addPointsTo("A 10.0.1.1")))
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
}
