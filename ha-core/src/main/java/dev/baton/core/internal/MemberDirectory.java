package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.internal.proto.MemberRecord;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.server.RaftConfiguration;
import org.jspecify.annotations.Nullable;

/**
 * Who counts as a member for the Raft port's trust checks, now: the members as the cluster knows
 * them (the replicated records, else this node's configuration), every peer of the Raft
 * configuration (current and, during a change, previous), and the members of a pending membership
 * request (so that the leader can reach a node it is adding before the change commits). A member
 * removed from all three is shut out of the Raft port from that moment.
 *
 * <p>Asked on every handshake and every call: the answer is cached until the replicated member
 * state or the Raft configuration changes.
 */
final class MemberDirectory {
  private final NodeConfig config;
  private final BatonStateMachine stateMachine;
  private volatile Supplier<RaftConfiguration> raftConf = () -> null;
  // Null until the first look; then the cached answer.
  private volatile @Nullable View view;

  private record View(
      long version, long confIndex, Set<String> ids, Map<String, String> byAddress) {}

  MemberDirectory(NodeConfig config, BatonStateMachine stateMachine) {
    this.config = config;
    this.stateMachine = stateMachine;
  }

  void attach(Supplier<RaftConfiguration> raftConf) {
    this.raftConf = raftConf;
  }

  /** The ids of the current members. */
  Set<String> ids() {
    return view().ids();
  }

  /** The member whose Raft address is {@code host:port}, if one is. */
  Optional<String> idAt(String host, int port) {
    if (host == null || port <= 0) {
      return Optional.empty();
    }
    return Optional.ofNullable(view().byAddress().get(host + ":" + port));
  }

  private View view() {
    RaftConfiguration conf = currentConf();
    long confIndex = conf == null ? -1 : conf.getLogEntryIndex();
    long version = stateMachine.membershipVersion();
    View v = view;
    if (v != null && v.version() == version && v.confIndex() == confIndex) {
      return v;
    }
    Map<String, String> byAddress = new HashMap<>();
    Set<String> ids = new TreeSet<>();
    // A joining node starts outside any configuration and knows the cluster only from its own
    // member list: until it has applied the records, that list is what MemberView returns.
    for (Member m : MemberView.members(config, stateMachine)) {
      byAddress.put(m.address(), m.id());
      ids.add(m.id());
    }
    if (conf != null) {
      addPeers(conf.getAllPeers(), byAddress, ids);
    }
    List<MemberRecord> pending = stateMachine.pendingMembership().getMembersList();
    for (MemberRecord r : pending) {
      byAddress.putIfAbsent(r.getAddress(), r.getNodeId());
      ids.add(r.getNodeId());
    }
    v = new View(version, confIndex, Set.copyOf(ids), Map.copyOf(byAddress));
    view = v;
    return v;
  }

  private static void addPeers(
      Collection<RaftPeer> peers, Map<String, String> byAddress, Set<String> ids) {
    for (RaftPeer p : peers) {
      byAddress.putIfAbsent(p.getAddress(), p.getId().toString());
      ids.add(p.getId().toString());
    }
  }

  private @Nullable RaftConfiguration currentConf() {
    try {
      return raftConf.get();
    } catch (RuntimeException e) {
      return null;
    }
  }
}
