package dev.baton.sidecar.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.Maintenance;
import dev.baton.core.NodeStatus;
import dev.baton.core.Role;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ControlException;
import dev.baton.core.control.ControlMessages;
import dev.baton.core.control.StatusReport;
import dev.baton.core.control.StatusReport.StepState;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton status}: every node's own view, side by side. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "Shows every node's role, token, leader, health and promotion step, and the steps that",
      "work beside the role (a dns step in mode converge: each name, where it should point,",
      "moved or not, since when).",
      "Each node is asked for its own view; a node that does not answer is shown as unreachable.",
      "While maintenance mode is on, the top line says so: who set it (the client and the member",
      "asked), when (that member's clock) and why."
    })
final class StatusCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  @Spec CommandSpec spec;

  /** One node of the table: its status when it answered, else why not. */
  record Row(String id, String endpoint, StatusReport status, String error) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try (BatonClient c = client.client()) {
      StatusReport leader = null;
      String leaderError = null;
      try {
        leader = c.statusReport();
      } catch (ControlException e) {
        leaderError = e.getMessage();
      }
      Map<String, String> nodes = new LinkedHashMap<>();
      if (leader != null) {
        for (NodeStatus.MemberStatus m : leader.node().members()) {
          String id = m.member().id();
          StatusReport.Peer p = leader.peers().get(id);
          nodes.put(id, p == null ? "" : p.controlAddress().orElse(""));
        }
      }
      for (String e : c.endpoints()) {
        if (!nodes.containsValue(e)) {
          nodes.put("?" + e, e);
        }
      }
      Map<String, CompletableFuture<Row>> asks = new LinkedHashMap<>();
      for (Map.Entry<String, String> n : nodes.entrySet()) {
        String id = n.getKey();
        String endpoint = n.getValue();
        asks.put(
            id,
            CompletableFuture.supplyAsync(
                () -> {
                  if (endpoint.isEmpty()) {
                    return new Row(id, "", null, "control address unknown");
                  }
                  try {
                    StatusReport s = c.statusReport(endpoint, Duration.ofSeconds(2));
                    return new Row(s.node().nodeId(), endpoint, s, null);
                  } catch (ControlException e) {
                    return new Row(id, endpoint, null, shortError(e));
                  }
                }));
      }
      List<Row> rows = new ArrayList<>();
      for (CompletableFuture<Row> f : asks.values()) {
        Row r = f.join();
        if (rows.stream()
            .noneMatch(x -> x.status != null && r.status != null && x.id.equals(r.id))) {
          rows.add(r);
        }
      }
      boolean anyone = rows.stream().anyMatch(r -> r.status != null);
      if (json) {
        out.println(Json.pretty(json(leader, rows)));
      } else {
        table(out, leader, leaderError, rows);
      }
      return anyone ? 0 : 1;
    }
  }

  /**
   * The HEALTH cell of a node that answered: "up", or "up, unhealthy: CHECK,..." when its health
   * checks keep it from becoming active (the checks that are down).
   */
  static String health(NodeStatus.Health h) {
    if (!h.enabled() || h.eligible()) {
      return "up";
    }
    List<String> down = new ArrayList<>();
    for (NodeStatus.Check c : h.checks()) {
      if (!c.up()) {
        down.add(c.name());
      }
    }
    return "up, unhealthy: " + String.join(",", down);
  }

  private static String note(NodeStatus s) {
    List<String> notes = new ArrayList<>();
    NodeStatus.Health h = s.health();
    if (!h.note().isEmpty()) {
      notes.add(h.note());
    }
    for (NodeStatus.Check c : h.checks()) {
      if (!c.up()) {
        notes.add(c.name() + ": " + c.lastReason());
      }
    }
    s.promotion().lastError().ifPresent(e -> notes.add("last error: " + e));
    return String.join("; ", notes);
  }

  private static String shortError(ControlException e) {
    String m = e.getMessage();
    int i = m.indexOf(": ", m.indexOf(" from "));
    String tail = i < 0 ? m : m.substring(i + 2);
    return e.code() + (tail.isBlank() ? "" : ": " + tail);
  }

  /** The reachable nodes that say they are ACTIVE now. */
  private static List<Row> activeRows(List<Row> rows) {
    return rows.stream()
        .filter(r -> r.status != null && r.status.node().role() == Role.ACTIVE)
        .toList();
  }

  /**
   * The header's "active": the nodes that say they are active now (asked in parallel, so during a
   * hand-over two answers may straddle it), or "none" with the newest activation the answering node
   * knows of. That activation alone does not mean anyone is active: with no leader, or while its
   * node is unreachable, nobody may hold a lease.
   */
  private static String activeNow(NodeStatus any, List<Row> rows) {
    List<Row> active = activeRows(rows);
    if (!active.isEmpty()) {
      List<String> names = new ArrayList<>();
      for (Row r : active) {
        names.add(r.status.node().nodeId() + " (token " + r.status.node().token() + ")");
      }
      return String.join(", ", names);
    }
    return any.activeNodeId()
        .map(id -> "none (last activation: " + id + ", token " + any.activeToken() + ")")
        .orElse("none");
  }

  /**
   * The top line's tail while maintenance mode is on (as the answering node has applied it), e.g.
   * {@code ; MAINTENANCE ON, set by ops-admin via n1 at ... (that member's clock): db upgrade};
   * empty while it is off.
   */
  static String maintenanceNote(Optional<Maintenance> m) {
    if (m.isEmpty() || !m.get().on()) {
      return "";
    }
    return "; MAINTENANCE ON"
        + MaintenanceCommand.describe(m.get()).substring("maintenance ON".length());
  }

  /**
   * The {@code --json} document: the cluster's figures as the leader (or the first node that
   * answered) sees them, the nodes that say they are active, and each node's status as the control
   * API's {@code StatusResponse} in its JSON form (stable: it only gains fields).
   */
  static ObjectNode json(StatusReport leader, List<Row> rows) {
    ObjectNode root = Json.mapper().createObjectNode();
    StatusReport any =
        leader != null
            ? leader
            : rows.stream().filter(r -> r.status != null).map(Row::status).findFirst().orElse(null);
    if (any != null) {
      NodeStatus n = any.node();
      root.put("clusterId", n.clusterId());
      root.put("leaderId", n.leaderId().orElse(""));
      root.put("activeNodeId", n.activeNodeId().orElse(""));
      root.put("activeToken", n.activeToken());
      root.put("highestToken", n.highestToken());
      root.put("term", n.term());
      any.maintenance()
          .ifPresent(m -> root.set("maintenance", Json.tree(ControlMessages.maintenance(m))));
    }
    ArrayNode activeNow = root.putArray("activeNow");
    for (Row r : activeRows(rows)) {
      activeNow
          .addObject()
          .put("id", r.status.node().nodeId())
          .put("token", r.status.node().token());
    }
    ArrayNode nodes = root.putArray("nodes");
    for (Row r : rows) {
      ObjectNode n = nodes.addObject();
      n.put("id", r.id.startsWith("?") ? null : r.id);
      n.put("endpoint", r.endpoint);
      n.put("reachable", r.status != null);
      if (r.status != null) {
        n.set("status", Json.tree(ControlMessages.status(r.status)));
      } else {
        n.put("error", r.error);
      }
    }
    return root;
  }

  private static void table(
      PrintWriter out, StatusReport leader, String leaderError, List<Row> rows) {
    StatusReport any =
        leader != null
            ? leader
            : rows.stream().filter(r -> r.status != null).map(Row::status).findFirst().orElse(null);
    if (any == null) {
      out.println("no node answered" + (leaderError == null ? "" : ": " + leaderError));
    } else {
      out.printf(
          "cluster %s: active %s, leader %s, term %d, highest token %d%s%n%n",
          any.node().clusterId(),
          activeNow(any.node(), rows),
          any.node().leaderId().orElse("none"),
          any.node().term(),
          any.node().highestToken(),
          maintenanceNote(any.maintenance()));
    }
    List<String[]> cells = new ArrayList<>();
    cells.add(
        new String[] {
          "NODE", "ROLE", "TOKEN", "LEADER", "HEALTH", "CONTROL", "PROMOTION", "LEASE", "NOTE"
        });
    for (Row r : rows) {
      String id = r.id.startsWith("?") ? "?" : r.id;
      if (r.status == null) {
        cells.add(new String[] {id, "?", "-", "", "unreachable", r.endpoint, "-", "", r.error});
        continue;
      }
      NodeStatus s = r.status.node();
      String promotion = s.promotion().state().name();
      if (s.promotion().step().isPresent() && !promotion.equals("IDLE")) {
        promotion += " " + s.promotion().step().get() + "#" + s.promotion().attempt();
      }

      cells.add(
          new String[] {
            s.nodeId(),
            s.role().name(),
            s.token() == 0 ? "-" : Long.toString(s.token()),
            s.leaderId().filter(s.nodeId()::equals).isPresent() ? "*" : "",
            health(s.health()),
            r.endpoint,
            promotion,
            s.leaseRemaining().toMillis() > 0 ? s.leaseRemaining().toMillis() + "ms" : "",
            note(s)
          });
    }
    int[] width = new int[cells.get(0).length];
    for (String[] row : cells) {
      for (int i = 0; i < row.length - 1; i++) {
        width[i] = Math.max(width[i], row[i].length());
      }
    }
    for (String[] row : cells) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(
            i == row.length - 1 ? row[i] : String.format("%-" + (width[i] + 2) + "s", row[i]));
      }
      out.println(line.toString().stripTrailing());
    }
    List<String> steps = new ArrayList<>();
    for (Row r : rows) {
      if (r.status == null) {
        continue;
      }
      for (StepState a : r.status.steps()) {
        if (!a.state().equals("IDLE") && !routineGuardState(a)) {
          steps.add(actionLine(r.status.node().nodeId(), a));
        }
      }
    }
    if (!steps.isEmpty()) {
      out.println();
      out.println("steps beside the role:");
      steps.forEach(l -> out.println("  " + l));
    }
    out.flush();
  }

  /**
   * A former-primary guard with nothing to report: its server is the writer, a standby, or this
   * node's own business. FENCED (read-only, not rejoined), UNREACHABLE, REJOIN_FAILED and the
   * rejoins it did are shown.
   */
  static boolean routineGuardState(StepState a) {
    return a.type().equals("postgres-guard")
        && List.of("STARTING", "NODE_ACTIVE", "NO_WRITER", "IS_WRITER", "STANDBY")
            .contains(a.state());
  }

  /**
   * One step that works beside the role, e.g. {@code n2 dns (dns): db.example.com. -> A 10.0.1.5
   * NOT YET MOVED, PENDING for 4.2 s since 2026-12-05T17:51:43Z (token 365, 3 attempts); last
   * error: ...}.
   */
  static String actionLine(String node, StepState a) {
    List<String> targets = new ArrayList<>();
    for (StatusReport.Target t : a.targets()) {
      targets.add(t.name() + " -> " + String.join(", ", t.pointsTo()));
    }
    String where =
        switch (a.state()) {
          case "PENDING" -> "NOT YET MOVED, PENDING";
          case "CONVERGED" -> "moved, CONVERGED";
          case "STOPPED" -> "not moved, STOPPED (a newer active owns it)";
          default -> a.state();
        };
    StringBuilder line =
        new StringBuilder()
            .append(node)
            .append(' ')
            .append(a.step())
            .append(" (")
            .append(a.type())
            .append("): ")
            .append(String.join("; ", targets))
            .append(' ')
            .append(where)
            .append(String.format(Locale.ROOT, " for %.1f s", a.lasted().toMillis() / 1000.0));
    a.since().ifPresent(since -> line.append(" since ").append(since));
    line.append(" (");
    if (a.token() != 0) {
      line.append("token ").append(a.token()).append(", ");
    }
    line.append(a.attempts()).append(a.attempts() == 1 ? " attempt)" : " attempts)");
    if (a.lastError().isPresent() && !a.done()) {
      line.append("; last error: ").append(a.lastError().get());
    }
    return line.toString();
  }
}
