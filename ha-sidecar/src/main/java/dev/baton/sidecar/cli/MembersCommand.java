package dev.baton.sidecar.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.baton.core.Member;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterMember;
import dev.baton.core.control.ControlMessages;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code baton members list|add|remove}. */
@Command(
    name = "members",
    mixinStandardHelpOptions = true,
    description = "Lists, adds and removes members (add and remove need an authorised client).",
    subcommands = {
      MembersCommand.ListMembers.class,
      MembersCommand.AddMember.class,
      MembersCommand.RemoveMember.class
    })
final class MembersCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static void print(PrintWriter out, List<ClusterMember> members, boolean json) {
    if (json) {
      out.println(json(members));
    } else {
      out.printf("%-16s %-22s %-22s %s%n", "ID", "RAFT", "CONTROL", "KIND");
      for (ClusterMember c : members) {
        Member m = c.member();
        out.printf(
            "%-16s %-22s %-22s %s%n",
            m.id(),
            m.address(),
            c.controlAddress().orElse("-"),
            m.witness()
                ? "witness"
                : m.noActivate() ? "voter, never active" : "voter, priority " + m.priority());
      }
    }
    out.flush();
  }

  /** The {@code --json} document: each member as the control API's {@code Member} in JSON. */
  static String json(List<ClusterMember> members) {
    ArrayNode a = Json.mapper().createArrayNode();
    members.forEach(m -> a.add(Json.tree(ControlMessages.member(m))));
    return Json.pretty(a);
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the members.")
  static final class ListMembers implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        print(spec.commandLine().getOut(), c.listMembers(), json);
        return 0;
      }
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description = {
        "Adds a member. Start the new node first, with 'joining: true' and the full new member"
            + " list in its config.",
      })
  static final class AddMember implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Option(names = "--id", required = true, description = "The new member's node id.")
    String id;

    @Option(
        names = "--raft",
        required = true,
        paramLabel = "HOST:PORT",
        description = "Its Raft address.")
    String raft;

    @Option(names = "--witness", description = "A witness: votes, never active.")
    boolean witness;

    @Option(names = "--no-activate", description = "A voter that never becomes active.")
    boolean noActivate;

    @Option(names = "--priority", description = "Priority among eligible nodes (default 1).")
    int priority = 1;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Member m = new Member(id, raft, witness, noActivate || witness, witness ? 0 : priority);
      try (BatonClient c = client.client()) {
        print(spec.commandLine().getOut(), c.addToCluster(m), false);
        return 0;
      }
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true, description = "Removes a member.")
  static final class RemoveMember implements Callable<Integer> {
    @Mixin ClientOptions client;

    @Parameters(paramLabel = "NODE", description = "The member to remove (not the active one).")
    String id;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (BatonClient c = client.client()) {
        print(spec.commandLine().getOut(), c.removeFromCluster(id), false);
        return 0;
      }
    }
  }
}
