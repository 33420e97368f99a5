package dev.baton.core;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@link Cluster} one {@link BatonNode} hands out: each call goes to the node's running parts
 * ({@code internal.NodeRuntime}) as the node's own methods of the same name did before they moved
 * here. Not an API.
 */
final class NodeCluster implements Cluster {
  private final NodeLifecycle life;

  NodeCluster(NodeLifecycle life) {
    this.life = life;
  }

  @Override
  public long switchActive(String targetNodeId, Duration timeout) {
    return life.started().switchActive(targetNodeId, timeout);
  }

  @Override
  public Handover stepDown(Duration timeout) {
    return life.started().stepDown(timeout);
  }

  @Override
  public List<Member> members() {
    return life.started().members();
  }

  @Override
  public void addMember(Member member) {
    life.started().addMember(member);
  }

  @Override
  public void removeMember(String memberId) {
    life.started().removeMember(memberId);
  }

  @Override
  public Maintenance maintenance() {
    return life.started().maintenance();
  }

  @Override
  public Maintenance maintenance(boolean on, String reason) {
    Objects.requireNonNull(reason, "reason");
    return life.started().maintenance(on, reason);
  }

  @Override
  public List<Activation> history() {
    return life.started().history();
  }

  @Override
  public List<JournalEntry> journal() {
    return life.started().journal();
  }
}
