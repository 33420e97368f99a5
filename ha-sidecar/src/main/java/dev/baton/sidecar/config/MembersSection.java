package dev.baton.sidecar.config;

import dev.baton.core.Member;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code members:} list (docs/sidecar-config.md): every node of the cluster, this one included,
 * with its Raft and control addresses and whether it may become active. Every problem names the
 * file, the line and the key.
 */
final class MembersSection {
  private MembersSection() {}

  /**
   * The parsed list.
   *
   * @param members the members, in file order
   * @param control each member's control API address, by id, where it is given
   * @param sections each member's entry, by id
   */
  record Parsed(
      List<Member> members, Map<String, String> control, Map<String, Yaml.Section> sections) {}

  /**
   * Reads {@code members} of {@code root}, and checks that {@code node} (this node's id, null when
   * it has a problem) is among them.
   */
  static Parsed parse(Yaml yaml, Yaml.Section root, String node) {
    List<Member> members = new ArrayList<>();
    Map<String, String> control = new LinkedHashMap<>();
    Map<String, Yaml.Section> memberSections = new HashMap<>();
    List<Yaml.Section> memberList = root.sections("members");
    if (memberList.isEmpty() && !root.has("members")) {
      root.required("members", "a list of every node, this one included (id, raft, control)");
    }
    for (Yaml.Section m : memberList) {
      m.allow("id", "raft", "control", "witness", "noActivate", "priority");
      String id = ConfigLoader.id(m, "id", "the member's node id");
      Optional<String> raft = m.hostPort("raft");
      if (raft.isEmpty() && !m.has("raft")) {
        m.required("raft", "host:port of the member's Raft server");
      }
      Optional<String> controlAddress = m.hostPort("control");
      boolean witness = m.bool("witness", false);
      boolean noActivate = m.bool("noActivate", false);
      int priority = m.integer("priority", witness ? 0 : 1, 0, 1000);
      if (id == null || raft.isEmpty()) {
        continue;
      }
      if (memberSections.put(id, m) != null) {
        yaml.problem(m.valueNode("id"), Yaml.join(m.path(), "id"), "'" + id + "' appears twice");
        continue;
      }
      for (Member other : members) {
        if (other.address().equals(raft.get())) {
          yaml.problem(
              m.valueNode("raft"),
              Yaml.join(m.path(), "raft"),
              raft.get() + " is already the Raft address of " + other.id());
        }
      }
      try {
        members.add(new Member(id, raft.get(), witness, noActivate || witness, priority));
      } catch (IllegalArgumentException e) {
        yaml.problem(m.node(), m.path(), e.getMessage());
      }
      controlAddress.ifPresent(a -> control.put(id, a));
    }
    if (node != null && !members.isEmpty() && !memberSections.containsKey(node)) {
      yaml.problem(
          root.valueNode("node"),
          "node",
          "'" + node + "' is not among the members " + memberSections.keySet());
    }
    if (!members.isEmpty() && members.stream().noneMatch(Member::eligible)) {
      yaml.problem(
          root.valueNode("members"),
          "members",
          "no member may become active: every one is a witness or noActivate");
    }

    return new Parsed(members, control, memberSections);
  }
}
