package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.internal.proto.MemberRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The members as the cluster knows them: the replicated member records once a membership change has
 * written them, else this node's configuration.
 */
public final class MemberView {
  private MemberView() {}

  public static List<Member> members(NodeConfig config, BatonStateMachine sm) {
    List<MemberRecord> records = sm.members();
    if (records.isEmpty()) {
      return config.members();
    }
    Map<String, Member> byId = new LinkedHashMap<>();
    for (MemberRecord r : records) {
      byId.put(r.getNodeId(), fromRecord(r));
    }
    return new ArrayList<>(byId.values());
  }

  public static Member fromRecord(MemberRecord r) {
    return new Member(
        r.getNodeId(), r.getAddress(), r.getWitness(), r.getNoActivate(), r.getPriority());
  }

  public static MemberRecord toRecord(Member m) {
    return MemberRecord.newBuilder()
        .setNodeId(m.id())
        .setAddress(m.address())
        .setWitness(m.witness())
        .setNoActivate(m.noActivate())
        .setPriority(m.priority())
        .build();
  }
}
