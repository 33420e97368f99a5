package dev.baton.sidecar.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ControlException;
import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.ActionTarget;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

  private record Row(String id, String endpoint, StatusResponse status, String error) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try (BatonClient c = client.client()) {
      StatusResponse leader = null;
      String leaderError = null;
      try {
        leader = c.status();
      } catch (ControlException e) {
        leaderError = e.getMessage();
      }
      Map<String, String> nodes = new LinkedHashMap<>();
      if (leader != null) {
        for (MemberStatus m : leader.getMembersList()) {
          nodes.put(m.getMember().getId(), m.getMember().getControlAddress());
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
                    StatusResponse s = c.status(endpoint, Duration.ofSeconds(2));
                    return new Row(s.getNodeId(), endpoint, s, null);
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
  static String health(HealthGating h) {
    if (!h.getEnabled() || h.getEligible()) {
      return "up";
    }
    List<String> down = new ArrayList<>();
    for (HealthCheckState c : h.getChecksList()) {
      if (!c.getUp()) {
        down.add(c.getName());
      }
    }
    return "up, unhealthy: " + String.join(",", down);
  }

  private static String note(StatusResponse s) {
    List<String> notes = new ArrayList<>();
    HealthGating h = s.getHealthGating();
    if (!h.getNote().isEmpty()) {
      notes.add(h.getNote());
    }
    for (HealthCheckState c : h.getChecksList()) {
      if (!c.getUp()) {
        notes.add(c.getName() + ": " + c.getLastReason());
      }
    }
    if (!s.getPromotion().getLastError().isEmpty()) {
      notes.add("last error: " + s.getPromotion().getLastError());
    }
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
        .filter(r -> r.status != null && r.status.getRole() == Role.ACTIVE)
        .toList();
  }

  /**
   * The header's "active": the nodes that say they are active now (asked in parallel, so during a
   * hand-over two answers may straddle it), or "none" with the newest activation the answering node
   * knows of. That activation alone does not mean anyone is active: with no leader, or while its
   * node is unreachable, nobody may hold a lease.
   */
  private static String activeNow(StatusResponse any, List<Row> rows) {
    List<Row> active = activeRows(rows);
    if (!active.isEmpty()) {
      List<String> names = new ArrayList<>();
      for (Row r : active) {
        names.add(r.status.getNodeId() + " (token " + r.status.getToken() + ")");
      }
      return String.join(", ", names);
    }
    return any.getActiveNodeId().isEmpty()
        ? "none"
        : "none (last activation: "
            + any.getActiveNodeId()
            + ", token "
            + any.getActiveToken()
            + ")";
  }

  /**
   * The top line's tail while maintenance mode is on (as the answering node has applied it), e.g.
   * {@code ; MAINTENANCE ON, set by ops-admin via n1 at ... (that member's clock): db upgrade};
   * empty while it is off.
   */
  static String maintenanceNote(StatusResponse s) {
    if (!s.hasMaintenance() || !s.getMaintenance().getOn()) {
      return "";
    }
    return "; MAINTENANCE ON"
        + MaintenanceCommand.describe(s.getMaintenance()).substring("maintenance ON".length());
  }

  private static ObjectNode json(StatusResponse leader, List<Row> rows) {
    ObjectNode root = Json.mapper().createObjectNode();
    StatusResponse any =
        leader != null
            ? leader
            : rows.stream().filter(r -> r.status != null).map(Row::status).findFirst().orElse(null);
    if (any != null) {
      root.put("clusterId", any.getClusterId());
      root.put("leaderId", any.getLeaderId());
      root.put("activeNodeId", any.getActiveNodeId());
      root.put("activeToken", any.getActiveToken());
      root.put("highestToken", any.getHighestToken());
      root.put("term", any.getTerm());
      if (any.hasMaintenance()) {
        root.set("maintenance", Json.tree(any.getMaintenance()));
      }
    }
    ArrayNode activeNow = root.putArray("activeNow");
    for (Row r : activeRows(rows)) {
      activeNow.addObject().put("id", r.status.getNodeId()).put("token", r.status.getToken());
    }
    ArrayNode nodes = root.putArray("nodes");
    for (Row r : rows) {
      ObjectNode n = nodes.addObject();
      n.put("id", r.id.startsWith("?") ? null : r.id);
      n.put("endpoint", r.endpoint);
      n.put("reachable", r.status != null);
      if (r.status != null) {
        n.set("status", Json.tree(r.status));
      } else {
        n.put("error", r.error);
      }
    }
    return root;
  }

  private static void table(
      PrintWriter out, StatusResponse leader, String leaderError, List<Row> rows) {
    StatusResponse any =
        leader != null
            ? leader
            : rows.stream().filter(r -> r.status != null).map(Row::status).findFirst().orElse(null);
    if (any == null) {
      out.println("no node answered" + (leaderError == null ? "" : ": " + leaderError));
    } else {
      out.printf(
          "cluster %s: active %s, leader %s, term %d, highest token %d%s%n%n",
          any.getClusterId(),
          activeNow(any, rows),
          any.getLeaderId().isEmpty() ? "none" : any.getLeaderId(),
          any.getTerm(),
          any.getHighestToken(),
          maintenanceNote(any));
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
      StatusResponse s = r.status;
      String promotion = s.getPromotion().getState();
      if (!s.getPromotion().getStep().isEmpty() && !promotion.equals("IDLE")) {
        promotion += " " + s.getPromotion().getStep() + "#" + s.getPromotion().getAttempt();
      }

      cells.add(
          new String[] {
            s.getNodeId(),
            s.getRole().name(),
            s.getToken() == 0 ? "-" : Long.toString(s.getToken()),
            s.getLeaderId().equals(s.getNodeId()) ? "*" : "",
            health(s.getHealthGating()),
            r.endpoint,
            promotion,
            s.getLeaseRemainingMillis() > 0 ? s.getLeaseRemainingMillis() + "ms" : "",
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
      for (ActionState a : r.status.getActionsList()) {
        if (!a.getState().equals("IDLE") && !routineGuardState(a)) {
          steps.add(actionLine(r.status.getNodeId(), a));
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
  static boolean routineGuardState(ActionState a) {
    return a.getType().equals("postgres-guard")
        && List.of("STARTING", "NODE_ACTIVE", "NO_WRITER", "IS_WRITER", "STANDBY")
            .contains(a.getState());
  }

  /**
   * One step that works beside the role, e.g. {@code n2 dns (dns): db.example.com. -> A 10.0.1.5
   * NOT YET MOVED, PENDING for 4.2 s since 2026-12-05T17:51:43Z (token 365, 3 attempts); last
   * error: ...}.
   */
  static String actionLine(String node, ActionState a) {
    List<String> targets = new ArrayList<>();
    for (ActionTarget t : a.getTargetsList()) {
      targets.add(t.getName() + " -> " + String.join(", ", t.getPointsToList()));
    }
    String where =
        switch (a.getState()) {
          case "PENDING" -> "NOT YET MOVED, PENDING";
          case "CONVERGED" -> "moved, CONVERGED";
          case "STOPPED" -> "not moved, STOPPED (a newer active owns it)";
          default -> a.getState();
        };
    StringBuilder line =
        new StringBuilder()
            .append(node)
            .append(' ')
            .append(a.getStep())
            .append(" (")
            .append(a.getType())
            .append("): ")
            .append(String.join("; ", targets))
            .append(' ')
            .append(where)
            .append(String.format(Locale.ROOT, " for %.1f s", a.getForMillis() / 1000.0));
    if (a.getSinceUnixMillis() > 0) {
      line.append(" since ").append(Instant.ofEpochMilli(a.getSinceUnixMillis()));
    }
    line.append(" (");
    if (a.getToken() != 0) {
      line.append("token ").append(a.getToken()).append(", ");
    }
    line.append(a.getAttempts()).append(a.getAttempts() == 1 ? " attempt)" : " attempts)");
    if (!a.getLastError().isEmpty() && !a.getDone()) {
      line.append("; last error: ").append(a.getLastError());
    }
    return line.toString();
  }
}
