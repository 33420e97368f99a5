package dev.baton.core.control;

import com.google.protobuf.ByteString;
import dev.baton.core.Activation;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.PromotionStatus;
import dev.baton.core.Role;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStep;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** Conversions between the library's types and the control API's messages. */
final class Messages {
  private Messages() {}

  static dev.baton.core.control.proto.Role role(Role role) {
    return dev.baton.core.control.proto.Role.valueOf(role.name());
  }

  static dev.baton.core.control.proto.Member member(Member m, String controlAddress) {
    return dev.baton.core.control.proto.Member.newBuilder()
        .setId(m.id())
        .setRaftAddress(m.address())
        .setWitness(m.witness())
        .setNoActivate(m.noActivate())
        .setPriority(m.priority())
        .setControlAddress(controlAddress == null ? "" : controlAddress)
        .build();
  }

  /** The library's member; its constructor names what is wrong (id, address, priority). */
  static Member member(dev.baton.core.control.proto.Member m) {
    if (m.getId().isEmpty()) {
      throw new IllegalArgumentException("member.id must be set");
    }
    if (m.getRaftAddress().isEmpty()) {
      throw new IllegalArgumentException(
          "member " + m.getId() + ": raft_address (host:port) must be set");
    }
    return new Member(
        m.getId(), m.getRaftAddress(), m.getWitness(), m.getNoActivate(), m.getPriority());
  }

  static dev.baton.core.control.proto.Activation activation(Activation a) {
    var b =
        dev.baton.core.control.proto.Activation.newBuilder()
            .setNodeId(a.nodeId())
            .setToken(a.token())
            .setTerm(a.term())
            .setProposedAtUnixMillis(a.proposedAt().map(Instant::toEpochMilli).orElse(0L))
            .setReason(a.reason().name())
            .setRequester(a.requester().orElse(""))
            .setPreviousNodeId(a.previousNodeId().orElse(""))
            .setPreviousToken(a.previousToken())
            .setPromoted(a.promoted())
            .setResigned(a.resigned().orElse(""));
    a.failoverDuration().ifPresent(d -> b.setFailoverMillis(d.toMillis()));
    for (Activation.Step s : a.steps()) {
      b.addSteps(
          PromotionStep.newBuilder()
              .setName(s.name())
              .setAttempt(s.attempt())
              .setOutcome(s.outcome().name())
              .setDurationMillis(s.duration().map(Duration::toMillis).orElse(-1L))
              .setError(s.error().orElse("")));
    }
    return b.build();
  }

  static MaintenanceState maintenance(Maintenance m) {
    return MaintenanceState.newBuilder()
        .setOn(m.on())
        .setReason(m.reason())
        .setSetBy(m.setBy().orElse(""))
        .setClient(m.client().orElse(""))
        .setSetAtUnixMillis(m.setAt().map(Instant::toEpochMilli).orElse(0L))
        .setIndex(m.index())
        .build();
  }

  /**
   * The library's record; a state that was never set (index 0) is {@link Maintenance#NEVER_SET}.
   */
  static Maintenance maintenance(MaintenanceState m) {
    if (m.getIndex() == 0) {
      return Maintenance.NEVER_SET;
    }
    return new Maintenance(
        m.getOn(),
        m.getReason(),
        m.getSetBy().isEmpty() ? Optional.empty() : Optional.of(m.getSetBy()),
        m.getClient().isEmpty() ? Optional.empty() : Optional.of(m.getClient()),
        m.getSetAtUnixMillis() == 0
            ? Optional.empty()
            : Optional.of(Instant.ofEpochMilli(m.getSetAtUnixMillis())),
        m.getIndex());
  }

  static dev.baton.core.control.proto.KvEntry entry(KvEntry e) {
    return dev.baton.core.control.proto.KvEntry.newBuilder()
        .setKey(e.key())
        .setValue(ByteString.copyFrom(e.value()))
        .setRevision(e.revision())
        .setCreateRevision(e.createRevision())
        .build();
  }

  static KvEntry entry(dev.baton.core.control.proto.KvEntry e) {
    return new KvEntry(
        e.getKey(), e.getValue().toByteArray(), e.getRevision(), e.getCreateRevision());
  }

  static StatusResponse status(
      NodeStatus s, Map<String, String> controlAddresses, Function<String, MemberStatus> health) {
    StatusResponse.Builder b =
        StatusResponse.newBuilder()
            .setClusterId(s.clusterId())
            .setNodeId(s.nodeId())
            .setRole(role(s.role()))
            .setToken(s.token())
            .setTerm(s.term())
            .setLeaderId(s.leaderId().orElse(""))
            .setActiveNodeId(s.activeNodeId().orElse(""))
            .setActiveToken(s.activeToken())
            .setHighestToken(s.highestToken())
            .setLeaseRemainingMillis(s.leaseRemaining().toMillis())
            .setPromotion(promotion(s.promotion()))
            .setHealthGating(healthGating(s.health()));
    for (NodeStatus.MemberStatus m : s.members()) {
      MemberStatus.Builder ms =
          health.apply(m.member().id()).toBuilder()
              .setMember(member(m.member(), controlAddresses.get(m.member().id())))
              .setLeader(m.leader())
              .setActive(m.active())
              .setInConfiguration(m.inConfiguration());
      if (m.member().id().equals(s.nodeId())) {
        ms.setHealth(Health.SELF)
            .setReportedRole(role(s.role()))
            .setReportedToken(s.token())
            .setLastSeenMillisAgo(0);
      }
      b.addMembers(ms);
    }
    return b.build();
  }

  static dev.baton.core.control.proto.HealthGating healthGating(NodeStatus.Health h) {
    dev.baton.core.control.proto.HealthGating.Builder b =
        dev.baton.core.control.proto.HealthGating.newBuilder()
            .setEnabled(h.enabled())
            .setEligible(h.eligible())
            .setHandOver(h.handOver())
            .setNote(h.note());
    for (NodeStatus.Check c : h.checks()) {
      b.addChecks(
          dev.baton.core.control.proto.HealthCheckState.newBuilder()
              .setName(c.name())
              .setDemotes(c.demotes())
              .setUp(c.up())
              .setProbed(c.probed())
              .setLastHealthy(c.lastHealthy())
              .setLastReason(c.lastReason()));
    }
    h.members().entrySet().stream()
        .filter(e -> !e.getValue())
        .map(java.util.Map.Entry::getKey)
        .sorted()
        .forEach(b::addUnhealthyMembers);
    return b.build();
  }

  static dev.baton.core.control.proto.PromotionStatus promotion(PromotionStatus p) {
    return dev.baton.core.control.proto.PromotionStatus.newBuilder()
        .setToken(p.token())
        .setState(p.state().name())
        .setStep(p.step().orElse(""))
        .setAttempt(p.attempt())
        .setLastError(p.lastError().orElse(""))
        .build();
  }
}
