package dev.baton.core.control;

import com.google.protobuf.ByteString;
import dev.baton.core.Activation;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.PromotionState;
import dev.baton.core.PromotionStatus;
import dev.baton.core.Role;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStep;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Conversions between the library's types and the control API's messages, both ways: the server
 * answers with them and {@link BatonClient} reads its answers back with them, so a record that goes
 * out and comes back is the same record ({@code MessagesTest} pins that, every field set).
 *
 * <p>Why this class is over 450 lines: it holds both directions of every message, one beside the
 * other, because each pair must mirror the other field by field; split by direction, a field added
 * to one half and forgotten in the other would go unnoticed until a round trip lost it.
 */
final class Messages {
  private Messages() {}

  static dev.baton.core.control.proto.Role role(Role role) {
    return dev.baton.core.control.proto.Role.valueOf(role.name());
  }

  /** The library's role; empty for a value this client does not know (or unspecified). */
  static Optional<Role> role(dev.baton.core.control.proto.Role role) {
    for (Role r : Role.values()) {
      if (r.name().equals(role.name())) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  static dev.baton.core.control.proto.Member member(ClusterMember m) {
    return member(m.member(), m.controlAddress().orElse(""));
  }

  static ClusterMember clusterMember(dev.baton.core.control.proto.Member m) {
    return new ClusterMember(member(m), text(m.getControlAddress()));
  }

  static dev.baton.core.control.proto.Member member(Member m, @Nullable String controlAddress) {
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

  /**
   * The library's activation.
   *
   * <p>A reason or a step outcome this client does not know (from a newer server) reads as {@code
   * UNKNOWN}.
   */
  static Activation activation(dev.baton.core.control.proto.Activation a) {
    List<Activation.Step> steps = new ArrayList<>();
    for (PromotionStep s : a.getStepsList()) {
      steps.add(
          new Activation.Step(
              s.getName(),
              s.getAttempt(),
              known(dev.baton.core.JournalEntry.Outcome.class, s.getOutcome()),
              s.getDurationMillis() < 0
                  ? Optional.empty()
                  : Optional.of(Duration.ofMillis(s.getDurationMillis())),
              text(s.getError())));
    }
    return new Activation(
        a.getNodeId(),
        a.getToken(),
        a.getTerm(),
        instant(a.getProposedAtUnixMillis()),
        known(Activation.Reason.class, a.getReason()),
        text(a.getRequester()),
        text(a.getPreviousNodeId()),
        a.getPreviousToken(),
        a.getPromoted(),
        text(a.getResigned()),
        steps,
        a.hasFailoverMillis()
            ? Optional.of(Duration.ofMillis(a.getFailoverMillis()))
            : Optional.empty());
  }

  /**
   * The library's watch event.
   *
   * <p>An event type this client does not know (from a newer server) reads as {@code UNKNOWN}, with
   * neither an entry nor an activation.
   */
  static WatchEvent watchEvent(dev.baton.core.control.proto.KvEvent e) {
    WatchEvent.Type type = known(WatchEvent.Type.class, e.getType().name());
    return new WatchEvent(
        type,
        type == WatchEvent.Type.PUT || type == WatchEvent.Type.DELETE
            ? Optional.of(entry(e.getEntry()))
            : Optional.empty(),
        e.getRevision(),
        type == WatchEvent.Type.ACTIVATED
            ? Optional.of(activation(e.getActivation()))
            : Optional.empty());
  }

  static RoleChange roleChange(RoleEvent e) {
    return new RoleChange(
        e.getNodeId(),
        role(e.getRole()).orElse(Role.STANDBY),
        e.getToken(),
        text(e.getStandbyReason()),
        text(e.getPreviousActive()),
        e.getPreviousToken(),
        Instant.ofEpochMilli(e.getUnixMillis()));
  }

  /**
   * The control API's role event of a change: {@link #roleChange}'s inverse, and the one place the
   * server builds the message (an empty reason or previous active is the field left empty).
   */
  static RoleEvent roleEvent(RoleChange c) {
    return RoleEvent.newBuilder()
        .setNodeId(c.nodeId())
        .setRole(role(c.role()))
        .setToken(c.token())
        .setStandbyReason(c.standbyReason().orElse(""))
        .setPreviousActive(c.previousActive().orElse(""))
        .setPreviousToken(c.previousToken())
        .setUnixMillis(c.at().toEpochMilli())
        .build();
  }

  /** The control API's status of a report read back: {@link #statusReport}'s inverse. */
  static StatusResponse status(StatusReport r) {
    Map<String, String> controlAddresses = new LinkedHashMap<>();
    r.peers().forEach((id, p) -> p.controlAddress().ifPresent(a -> controlAddresses.put(id, a)));
    StatusResponse.Builder b =
        status(
            r.node(),
            controlAddresses,
            id -> {
              StatusReport.Peer p = r.peers().get(id);
              return p == null ? MemberStatus.getDefaultInstance() : memberStatus(p);
            })
            .toBuilder();
    r.steps().forEach(s -> b.addActions(actionState(s)));
    r.maintenance().ifPresent(m -> b.setMaintenance(maintenance(m)));
    return b.build();
  }

  private static MemberStatus memberStatus(StatusReport.Peer p) {
    return MemberStatus.newBuilder()
        .setHealth(Health.valueOf(p.reachability().name()))
        .setReportedRole(
            p.reportedRole()
                .map(Messages::role)
                .orElse(dev.baton.core.control.proto.Role.ROLE_UNSPECIFIED))
        .setReportedToken(p.reportedToken())
        .setLastSeenMillisAgo(p.lastSeen().map(Duration::toMillis).orElse(-1L))
        .setProbeError(p.probeError())
        .build();
  }

  static ActionState actionState(StatusReport.StepState s) {
    ActionState.Builder b =
        ActionState.newBuilder()
            .setStep(s.step())
            .setType(s.type())
            .setState(s.state())
            .setDone(s.done())
            .setToken(s.token())
            .setSinceUnixMillis(s.since().map(Instant::toEpochMilli).orElse(0L))
            .setForMillis(s.lasted().toMillis())
            .setAttempts(s.attempts())
            .setLastError(s.lastError().orElse(""))
            .setLastErrorUnixMillis(s.lastErrorAt().map(Instant::toEpochMilli).orElse(0L));
    for (StatusReport.Target t : s.targets()) {
      b.addTargets(ActionTarget.newBuilder().setName(t.name()).addAllPointsTo(t.pointsTo()));
    }
    return b.build();
  }

  /**
   * The report of a status answer: the node's own view and what the serving node adds to it.
   *
   * <p>A promotion state this client does not know (from a newer server) reads as {@code UNKNOWN}.
   */
  static StatusReport statusReport(StatusResponse s) {
    List<NodeStatus.MemberStatus> members = new ArrayList<>();
    Map<String, StatusReport.Peer> peers = new LinkedHashMap<>();
    for (MemberStatus m : s.getMembersList()) {
      members.add(
          new NodeStatus.MemberStatus(
              member(m.getMember()), m.getLeader(), m.getActive(), m.getInConfiguration()));
      peers.put(
          m.getMember().getId(),
          new StatusReport.Peer(
              text(m.getMember().getControlAddress()),
              reachability(m.getHealth()),
              role(m.getReportedRole()),
              m.getReportedToken(),
              m.getLastSeenMillisAgo() < 0
                  ? Optional.empty()
                  : Optional.of(Duration.ofMillis(m.getLastSeenMillisAgo())),
              m.getProbeError()));
    }
    dev.baton.core.control.proto.PromotionStatus p = s.getPromotion();
    NodeStatus node =
        new NodeStatus(
            s.getClusterId(),
            s.getNodeId(),
            role(s.getRole()).orElse(Role.STOPPED),
            s.getToken(),
            s.getTerm(),
            text(s.getLeaderId()),
            text(s.getActiveNodeId()),
            s.getActiveToken(),
            s.getHighestToken(),
            Duration.ofMillis(s.getLeaseRemainingMillis()),
            members,
            new PromotionStatus(
                p.getToken(),
                p.getState().isEmpty()
                    ? PromotionState.IDLE
                    : known(PromotionState.class, p.getState()),
                text(p.getStep()),
                p.getAttempt(),
                text(p.getLastError())),
            health(s.getHealthGating()));
    List<StatusReport.StepState> steps = new ArrayList<>();
    for (ActionState a : s.getActionsList()) {
      steps.add(
          new StatusReport.StepState(
              a.getStep(),
              a.getType(),
              a.getState(),
              a.getDone(),
              a.getToken(),
              instant(a.getSinceUnixMillis()),
              Duration.ofMillis(a.getForMillis()),
              a.getAttempts(),
              text(a.getLastError()),
              instant(a.getLastErrorUnixMillis()),
              a.getTargetsList().stream()
                  .map(t -> new StatusReport.Target(t.getName(), t.getPointsToList()))
                  .toList()));
    }
    return new StatusReport(
        node,
        peers,
        steps,
        s.hasMaintenance() ? Optional.of(maintenance(s.getMaintenance())) : Optional.empty());
  }

  private static NodeStatus.Health health(HealthGating h) {
    Map<String, Boolean> members = new LinkedHashMap<>();
    h.getUnhealthyMembersList().forEach(id -> members.put(id, false));
    return new NodeStatus.Health(
        h.getEnabled(),
        h.getEligible(),
        h.getHandOver(),
        h.getChecksList().stream()
            .map(
                (HealthCheckState c) ->
                    new NodeStatus.Check(
                        c.getName(),
                        c.getDemotes(),
                        c.getUp(),
                        c.getProbed(),
                        c.getLastHealthy(),
                        c.getLastReason()))
            .toList(),
        members,
        h.getNote());
  }

  private static StatusReport.Reachability reachability(Health h) {
    return switch (h) {
      case SELF -> StatusReport.Reachability.SELF;
      case REACHABLE -> StatusReport.Reachability.REACHABLE;
      case UNREACHABLE -> StatusReport.Reachability.UNREACHABLE;
      default -> StatusReport.Reachability.UNKNOWN;
    };
  }

  private static Optional<String> text(String s) {
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  private static Optional<Instant> instant(long unixMillis) {
    return unixMillis == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(unixMillis));
  }

  /** The constant of {@code type} named {@code name}; its UNKNOWN for a name this client lacks. */
  private static <E extends Enum<E>> E known(Class<E> type, String name) {
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(name)) {
        return e;
      }
    }
    return Enum.valueOf(type, "UNKNOWN");
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
