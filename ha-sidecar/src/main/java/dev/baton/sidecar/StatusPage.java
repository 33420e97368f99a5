package dev.baton.sidecar;

import dev.baton.core.control.proto.ActionState;
import dev.baton.core.control.proto.HealthCheckState;
import dev.baton.core.control.proto.HealthGating;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.Member;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.PromotionStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusResponse;
import java.time.Instant;

/**
 * The sidecar's status page ({@code GET /}): one HTML page, rendered on the server from the same
 * status the control API answers, with no external assets and no script. It reloads itself every
 * {@value #REFRESH_SECONDS} seconds ({@code <meta http-equiv="refresh">}), so it works in any
 * browser, behind any proxy, and with {@code curl}.
 *
 * <p>It shows this node's view: the cluster, the newest activation this node has applied (its node
 * highlighted in the members table), the members as this node's control-port probes see them (the
 * same REACHABLE / UNREACHABLE as {@code bin/baton status}; {@code baton_member_up} in the metrics
 * is the Raft view instead), the health checks, the promotion and the steps that keep working after
 * it (a DNS step in converge mode), and the activation timeline ({@link TimelineSvg}). A node cut
 * off from the others shows its own, stale, view: the page says which node is answering and who it
 * thinks leads.
 *
 * <p>Every value that comes from outside (member ids, addresses, errors, check reasons) is
 * HTML-escaped.
 */
final class StatusPage {
  static final int REFRESH_SECONDS = 2;

  private StatusPage() {}

  /** The page for status {@code s} and activation history {@code h}, as rendered at {@code now}. */
  static String render(StatusResponse s, HistoryResponse h, Instant now) {
    StringBuilder b = new StringBuilder(4096);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"refresh\" content=\"")
        .append(REFRESH_SECONDS)
        .append("\"><meta name=\"viewport\" content=\"width=device-width\">")
        .append("<title>Baton ")
        .append(esc(s.getClusterId()))
        .append(" - ")
        .append(esc(s.getNodeId()))
        .append("</title>\n<style>")
        .append(CSS)
        .append("</style></head>\n<body>\n");
    b.append("<h1>Baton <span class=\"cluster\">")
        .append(esc(s.getClusterId()))
        .append("</span></h1>\n");
    b.append("<p class=\"seen\">Seen from <strong id=\"self\">")
        .append(esc(s.getNodeId()))
        .append("</strong> (")
        .append(esc(roleName(s.getRole())))
        .append("), Raft term ")
        .append(s.getTerm())
        .append(", leader ")
        .append(s.getLeaderId().isEmpty() ? "unknown" : esc(s.getLeaderId()))
        .append(", at ")
        .append(now)
        .append(". Reloads every ")
        .append(REFRESH_SECONDS)
        .append(" s.</p>\n");
    activeLine(b, s);
    maintenance(b, s);
    members(b, s);
    TimelineSvg.append(b, s, h);
    health(b, s.getHealthGating());
    promotion(b, s.getPromotion());
    actions(b, s);
    b.append("<p class=\"foot\">JSON: <a href=\"/status\">/status</a> · metrics: ")
        .append("<a href=\"/metrics\">/metrics</a> · this node active? ")
        .append("<a href=\"/active\">/active</a></p>\n</body></html>\n");
    return b.toString();
  }

  private static void activeLine(StringBuilder b, StatusResponse s) {
    b.append("<p id=\"active\" class=\"banner ");
    if (s.getActiveNodeId().isEmpty()) {
      b.append("none\">No activation yet: no node has been active.</p>\n");
      return;
    }
    boolean selfActive = s.getRole() == Role.ACTIVE && s.getNodeId().equals(s.getActiveNodeId());
    b.append(s.getLeaderId().isEmpty() ? "stale" : "ok")
        .append("\">Active: <strong data-node=\"")
        .append(esc(s.getActiveNodeId()))
        .append("\">")
        .append(esc(s.getActiveNodeId()))
        .append("</strong> with token <strong>")
        .append(s.getActiveToken())
        .append("</strong>");
    if (selfActive) {
      b.append(", lease left ").append(s.getLeaseRemainingMillis()).append(" ms");
    }
    if (s.getLeaderId().isEmpty()) {
      b.append(
          " (this node knows no leader: the newest activation it applied, which may be stale)");
    }
    b.append(". Highest token issued: ").append(s.getHighestToken()).append(".</p>\n");
  }

  /** While maintenance mode is on: a banner saying so, who set it, when and why. */
  private static void maintenance(StringBuilder b, StatusResponse s) {
    var m = s.getMaintenance();
    if (!m.getOn()) {
      return;
    }
    b.append(
            "<p id=\"maintenance\" class=\"banner stale\">Maintenance mode is <strong>on</strong>:")
        .append(" no role move for health reasons (a switch-active still works, a dead active is")
        .append(" still replaced). Set by ");
    if (!m.getClient().isEmpty()) {
      b.append(esc(m.getClient())).append(" via ");
    }
    b.append(m.getSetBy().isEmpty() ? "an unnamed member" : esc(m.getSetBy()));
    if (m.getSetAtUnixMillis() != 0) {
      b.append(" at ")
          .append(Instant.ofEpochMilli(m.getSetAtUnixMillis()))
          .append(" (that member's clock)");
    }
    if (!m.getReason().isEmpty()) {
      b.append(": ").append(esc(m.getReason()));
    }
    b.append(".</p>\n");
  }

  private static void members(StringBuilder b, StatusResponse s) {
    b.append("<h2>Members</h2>\n<table id=\"members\"><thead><tr><th>node</th><th>role</th>")
        .append("<th>token</th><th>reachable</th><th>last answer</th><th>Raft</th>")
        .append("<th>kind</th><th>priority</th></tr></thead><tbody>\n");
    for (MemberStatus m : s.getMembersList()) {
      Member who = m.getMember();
      boolean active = who.getId().equals(s.getActiveNodeId());
      b.append("<tr data-node=\"")
          .append(esc(who.getId()))
          .append("\"")
          .append(active ? " class=\"active\" data-active=\"true\"" : "")
          .append("><td>")
          .append(esc(who.getId()))
          .append(m.getLeader() ? " <span class=\"tag\">leader</span>" : "")
          .append(who.getId().equals(s.getNodeId()) ? " <span class=\"tag\">this node</span>" : "")
          .append("</td><td>")
          .append(esc(roleName(m.getReportedRole())))
          .append("</td><td>")
          .append(m.getReportedToken() == 0 ? "" : Long.toString(m.getReportedToken()))
          .append("</td><td class=\"h-")
          .append(m.getHealth().name().toLowerCase(java.util.Locale.ROOT))
          .append("\">")
          .append(esc(m.getHealth().name()))
          .append(m.getProbeError().isEmpty() ? "" : ": " + esc(m.getProbeError()))
          .append("</td><td>")
          .append(m.getLastSeenMillisAgo() < 0 ? "never" : m.getLastSeenMillisAgo() + " ms ago")
          .append("</td><td>")
          .append(esc(who.getRaftAddress()))
          .append(m.getInConfiguration() ? "" : " (not in configuration)")
          .append("</td><td>")
          .append(who.getWitness() ? "witness" : who.getNoActivate() ? "never active" : "eligible")
          .append("</td><td>")
          .append(who.getPriority())
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
  }

  private static void health(StringBuilder b, HealthGating h) {
    b.append("<h2>Health checks</h2>\n");
    if (!h.getEnabled()) {
      b.append("<p>This node runs no health checks.</p>\n");
      return;
    }
    b.append("<p>")
        .append(h.getEligible() ? "Every check is up: this node may become active." : "")
        .append(h.getEligible() ? "" : "A check is down: this node may not become active.")
        .append(h.getNote().isEmpty() ? "" : " " + esc(h.getNote()))
        .append(
            h.getUnhealthyMembersList().isEmpty()
                ? ""
                : " Unhealthy members: " + esc(String.join(", ", h.getUnhealthyMembersList())))
        .append("</p>\n<table id=\"checks\"><thead><tr><th>check</th><th>state</th>")
        .append("<th>on failure</th><th>last reason</th></tr></thead><tbody>\n");
    for (HealthCheckState c : h.getChecksList()) {
      b.append("<tr><td>")
          .append(esc(c.getName()))
          .append("</td><td class=\"")
          .append(c.getUp() ? "h-reachable\">up" : "h-unreachable\">down")
          .append(c.getProbed() ? "" : " (not probed yet)")
          .append("</td><td>")
          .append(c.getDemotes() ? "hands the role over" : "not eligible")
          .append("</td><td>")
          .append(esc(c.getLastReason()))
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
  }

  private static void promotion(StringBuilder b, PromotionStatus p) {
    b.append("<h2>Promotion on this node</h2>\n<p id=\"promotion\">")
        .append(esc(p.getState().isEmpty() ? "IDLE" : p.getState()));
    if (p.getToken() != 0) {
      b.append(", token ").append(p.getToken());
    }
    if (!p.getStep().isEmpty()) {
      b.append(", step ").append(esc(p.getStep())).append(" (attempt ").append(p.getAttempt());
      b.append(')');
    }
    if (!p.getLastError().isEmpty()) {
      b.append(". Last error: <span class=\"err\">")
          .append(esc(p.getLastError()))
          .append("</span>");
    }
    b.append("</p>\n");
  }

  private static void actions(StringBuilder b, StatusResponse s) {
    if (s.getActionsCount() == 0) {
      return;
    }
    b.append("<h2>Steps that keep working</h2>\n<table id=\"actions\"><thead><tr><th>step</th>")
        .append("<th>state</th><th>for</th><th>attempts</th><th>targets</th><th>last error</th>")
        .append("</tr></thead><tbody>\n");
    for (ActionState a : s.getActionsList()) {
      StringBuilder targets = new StringBuilder();
      a.getTargetsList()
          .forEach(
              t ->
                  targets
                      .append(targets.length() == 0 ? "" : "; ")
                      .append(t.getName())
                      .append(" → ")
                      .append(String.join(", ", t.getPointsToList())));
      b.append("<tr><td>")
          .append(esc(a.getStep() + " (" + a.getType() + ")"))
          .append("</td><td>")
          .append(esc(a.getState()))
          .append("</td><td>")
          .append(a.getToken() == 0 ? "" : a.getForMillis() + " ms")
          .append("</td><td>")
          .append(a.getAttempts())
          .append("</td><td>")
          .append(esc(targets.toString()))
          .append("</td><td>")
          .append(esc(a.getLastError()))
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
  }

  private static String roleName(Role r) {
    return r == Role.ROLE_UNSPECIFIED || r == Role.UNRECOGNIZED ? "unknown" : r.name();
  }

  /** Escapes text for an HTML element body or a double-quoted attribute. */
  static String esc(String text) {
    StringBuilder out = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> out.append("&amp;");
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  private static final String CSS =
      "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
          + "h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}"
          + ".cluster{color:#555}.seen,.foot{color:#555}"
          + ".banner{padding:.6em .8em;border-radius:4px;font-size:1.1em}"
          + ".banner.ok{background:#e6f4ea}.banner.stale,.banner.none{background:#fdecea}"
          + "table{border-collapse:collapse}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;"
          + "text-align:left}tr.active{background:#e6f4ea;font-weight:600}"
          + ".tag{font-size:.8em;background:#eee;border-radius:3px;padding:0 .3em}"
          + ".h-unreachable,.err{color:#b00020}.h-reachable,.h-self{color:#1e7b34}"
          + "svg text{font:12px system-ui,sans-serif;fill:#222}svg .when{fill:#555;font-size:11px}"
          + "svg .grid{stroke:#ddd}.act rect{fill:#dde3ea;stroke:#8a99a8}"
          + ".act.unpromoted rect{fill:#fdecea;stroke:#b00020;stroke-dasharray:3 2}"
          + ".act.current rect{fill:#b7e1c1;stroke:#1e7b34;stroke-width:2}";
}
