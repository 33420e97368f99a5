package dev.baton.core.internal;

import dev.baton.core.JournalEntry;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.Role;
import dev.baton.core.StepContext;
import dev.baton.core.internal.proto.ActivationRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What this node knows now, read from its own parts: its role, the members, the promotion journal
 * and the whole {@link NodeStatus}. Cheap, local, not linearizable.
 */
final class LocalStatus {
  private final NodeConfig config;
  private final BatonStateMachine stateMachine;
  private final RaftNode raft;
  private final RoleState roleState;
  private final PlanRunner planRunner;
  private final HealthGate health;

  LocalStatus(
      NodeConfig config,
      BatonStateMachine stateMachine,
      RaftNode raft,
      RoleState roleState,
      PlanRunner planRunner,
      HealthGate health) {
    this.config = config;
    this.stateMachine = stateMachine;
    this.raft = raft;
    this.roleState = roleState;
    this.planRunner = planRunner;
    this.health = health;
  }

  /** This node's role: {@link Role#STOPPED} when its Raft server has shut itself down. */
  Role role() {
    return raft.alive() ? roleState.role() : Role.STOPPED;
  }

  /** The members as the cluster knows them. */
  List<Member> members() {
    return MemberView.members(config, stateMachine);
  }

  /** The promotion journal as this node has applied it, oldest first. */
  List<JournalEntry> journal() {
    return stateMachine.localState(false).getJournalList().stream()
        .map(
            r ->
                new JournalEntry(
                    r.getNodeId(),
                    r.getToken(),
                    r.getAction(),
                    StepContext.Phase.valueOf(r.getPhase()),
                    r.getAttempt(),
                    JournalEntry.Outcome.valueOf(r.getOutcome()),
                    r.getError().isEmpty() ? Optional.empty() : Optional.of(r.getError())))
        .toList();
  }

  NodeStatus status() {
    ActivationRecord activation = stateMachine.activation();
    Optional<String> leader = raft.leaderId();
    List<String> inConf = raft.configurationIds();
    boolean activeKnown = !activation.getNodeId().isEmpty() && !activation.getResigned();
    List<NodeStatus.MemberStatus> members = new ArrayList<>();
    for (Member m : members()) {
      members.add(
          new NodeStatus.MemberStatus(
              m,
              leader.filter(m.id()::equals).isPresent(),
              activeKnown && activation.getNodeId().equals(m.id()),
              inConf.contains(m.id())));
    }
    long term;
    try {
      term = raft.info().getCurrentTerm();
    } catch (RuntimeException e) {
      term = 0;
    }
    return new NodeStatus(
        config.clusterId(),
        config.self().id(),
        role(),
        roleState.token(),
        term,
        leader,
        activeKnown ? Optional.of(activation.getNodeId()) : Optional.empty(),
        activeKnown ? activation.getToken() : 0,
        stateMachine.highestToken(),
        roleState.leaseRemaining(),
        members,
        planRunner.status(),
        health.status(members()));
  }
}
