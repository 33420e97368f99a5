package dev.baton.sidecar;

import dev.baton.core.Activation;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.PromotionStatus;
import dev.baton.core.Role;
import dev.baton.core.control.StatusReport;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The sidecar's status page ({@code GET /}): one HTML page, rendered on the server from the same
 * status the control API answers (as Baton's records, {@link StatusReport}), with no external
 * assets and no script. It reloads itself every {@value #REFRESH_SECONDS} seconds ({@code <meta
 * http-equiv="refresh">}), so it works in any browser, behind any proxy, and with {@code curl}.
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

  /**
   * The page for status {@code r} and activation history {@code h} (oldest first), as rendered at
   * {@code now}.
   */
  static String render(StatusReport r, List<Activation> h, Instant now) {
    NodeStatus s = r.node();
    StringBuilder b = new StringBuilder(4096);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"refresh\" content=\"")
        .append(REFRESH_SECONDS)
        .append("\"><meta name=\"viewport\" content=\"width=device-width\">")
        .append("<title>Baton ")
        .append(esc(s.clusterId()))
        .append(" - ")
        .append(esc(s.nodeId()))
        .append("</title>\n<style>")
        .append(CSS)
        .append("</style></head>\n<body>\n");
    b.append("<h1>Baton <span class=\"cluster\">")
        .append(esc(s.clusterId()))
        .append("</span></h1>\n");
    b.append("<p class=\"seen\">Seen from <strong id=\"self\">")
        .append(esc(s.nodeId()))
        .append("</strong> (")
        .append(esc(s.role().name()))
        .append("), Raft term ")
        .append(s.term())
        .append(", leader ")
        .append(s.leaderId().map(StatusPage::esc).orElse("unknown"))
        .append(", at ")
        .append(now)
        .append(". Reloads every ")
        .append(REFRESH_SECONDS)
        .append(" s.</p>\n");
    activeLine(b, s);
    r.maintenance().ifPresent(m -> maintenance(b, m));
    members(b, r);
    TimelineSvg.append(b, s, h);
    health(b, s.health());
    promotion(b, s.promotion());
    steps(b, r.steps());
    b.append("<p class=\"foot\">JSON: <a href=\"/status\">/status</a> · metrics: ")
        .append("<a href=\"/metrics\">/metrics</a> · this node active? ")
        .append("<a href=\"/active\">/active</a></p>\n</body></html>\n");
    return b.toString();
  }

  private static void activeLine(StringBuilder b, NodeStatus s) {
    b.append("<p id=\"active\" class=\"banner ");
    if (s.activeNodeId().isEmpty()) {
      b.append("none\">No activation yet: no node has been active.</p>\n");
      return;
    }
    String active = s.activeNodeId().get();
    boolean selfActive = s.role() == Role.ACTIVE && s.nodeId().equals(active);
    b.append(s.leaderId().isEmpty() ? "stale" : "ok")
        .append("\">Active: <strong data-node=\"")
        .append(esc(active))
        .append("\">")
        .append(esc(active))
        .append("</strong> with token <strong>")
        .append(s.activeToken())
        .append("</strong>");
    if (selfActive) {
      b.append(", lease left ").append(s.leaseRemaining().toMillis()).append(" ms");
    }
    if (s.leaderId().isEmpty()) {
      b.append(
          " (this node knows no leader: the newest activation it applied, which may be stale)");
    }
    b.append(". Highest token issued: ").append(s.highestToken()).append(".</p>\n");
  }

  /** While maintenance mode is on: a banner saying so, who set it, when and why. */
  private static void maintenance(StringBuilder b, Maintenance m) {
    if (!m.on()) {
      return;
    }
    b.append(
            "<p id=\"maintenance\" class=\"banner stale\">Maintenance mode is <strong>on</strong>:")
        .append(" no role move for health reasons (a switch-active still works, a dead active is")
        .append(" still replaced). Set by ");
    m.client().ifPresent(c -> b.append(esc(c)).append(" via "));
    b.append(m.setBy().map(StatusPage::esc).orElse("an unnamed member"));
    m.setAt().ifPresent(at -> b.append(" at ").append(at).append(" (that member's clock)"));
    if (!m.reason().isEmpty()) {
      b.append(": ").append(esc(m.reason()));
    }
    b.append(".</p>\n");
  }

  private static void members(StringBuilder b, StatusReport r) {
    NodeStatus s = r.node();
    b.append("<h2>Members</h2>\n<table id=\"members\"><thead><tr><th>node</th><th>role</th>")
        .append("<th>token</th><th>reachable</th><th>last answer</th><th>Raft</th>")
        .append("<th>kind</th><th>priority</th></tr></thead><tbody>\n");
    for (NodeStatus.MemberStatus m : s.members()) {
      Member who = m.member();
      StatusReport.Peer p = r.peers().getOrDefault(who.id(), NOT_PROBED);
      String reachability = p.reachability().name();
      boolean active = s.activeNodeId().filter(who.id()::equals).isPresent();
      b.append("<tr data-node=\"")
          .append(esc(who.id()))
          .append("\"")
          .append(active ? " class=\"active\" data-active=\"true\"" : "")
          .append("><td>")
          .append(esc(who.id()))
          .append(m.leader() ? " <span class=\"tag\">leader</span>" : "")
          .append(who.id().equals(s.nodeId()) ? " <span class=\"tag\">this node</span>" : "")
          .append("</td><td>")
          .append(esc(p.reportedRole().map(Role::name).orElse("unknown")))
          .append("</td><td>")
          .append(p.reportedToken() == 0 ? "" : Long.toString(p.reportedToken()))
          .append("</td><td class=\"h-")
          .append(reachability.toLowerCase(Locale.ROOT))
          .append("\">")
          .append(esc(reachability))
          .append(p.probeError().isEmpty() ? "" : ": " + esc(p.probeError()))
          .append("</td><td>")
          .append(p.lastSeen().map(d -> d.toMillis() + " ms ago").orElse("never"))
          .append("</td><td>")
          .append(esc(who.address()))
          .append(m.inConfiguration() ? "" : " (not in configuration)")
          .append("</td><td>")
          .append(who.witness() ? "witness" : who.noActivate() ? "never active" : "eligible")
          .append("</td><td>")
          .append(who.priority())
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
  }

  /** A member the status has no probe result for: the message's default. */
  private static final StatusReport.Peer NOT_PROBED =
      new StatusReport.Peer(
          Optional.empty(),
          StatusReport.Reachability.UNKNOWN,
          Optional.empty(),
          0,
          Optional.empty(),
          "");

  private static void health(StringBuilder b, NodeStatus.Health h) {
    b.append("<h2>Health checks</h2>\n");
    if (!h.enabled()) {
      b.append("<p>This node runs no health checks.</p>\n");
      return;
    }
    List<String> unhealthy =
        h.members().entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList();
    b.append("<p>")
        .append(h.eligible() ? "Every check is up: this node may become active." : "")
        .append(h.eligible() ? "" : "A check is down: this node may not become active.")
        .append(h.note().isEmpty() ? "" : " " + esc(h.note()))
        .append(
            unhealthy.isEmpty() ? "" : " Unhealthy members: " + esc(String.join(", ", unhealthy)))
        .append("</p>\n<table id=\"checks\"><thead><tr><th>check</th><th>state</th>")
        .append("<th>on failure</th><th>last reason</th></tr></thead><tbody>\n");
    for (NodeStatus.Check c : h.checks()) {
      b.append("<tr><td>")
          .append(esc(c.name()))
          .append("</td><td class=\"")
          .append(c.up() ? "h-reachable\">up" : "h-unreachable\">down")
          .append(c.probed() ? "" : " (not probed yet)")
          .append("</td><td>")
          .append(c.demotes() ? "hands the role over" : "not eligible")
          .append("</td><td>")
          .append(esc(c.lastReason()))
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
  }

  private static void promotion(StringBuilder b, PromotionStatus p) {
    b.append("<h2>Promotion on this node</h2>\n<p id=\"promotion\">").append(esc(p.state().name()));
    if (p.token() != 0) {
      b.append(", token ").append(p.token());
    }
    p.step()
        .ifPresent(
            step ->
                b.append(", step ")
                    .append(esc(step))
                    .append(" (attempt ")
                    .append(p.attempt())
                    .append(')'));
    p.lastError()
        .ifPresent(
            e -> b.append(". Last error: <span class=\"err\">").append(esc(e)).append("</span>"));
    b.append("</p>\n");
  }

  private static void steps(StringBuilder b, List<StatusReport.StepState> steps) {
    if (steps.isEmpty()) {
      return;
    }
    b.append("<h2>Steps that keep working</h2>\n<table id=\"actions\"><thead><tr><th>step</th>")
        .append("<th>state</th><th>for</th><th>attempts</th><th>targets</th><th>last error</th>")
        .append("</tr></thead><tbody>\n");
    for (StatusReport.StepState a : steps) {
      StringBuilder targets = new StringBuilder();
      a.targets()
          .forEach(
              t ->
                  targets
                      .append(targets.length() == 0 ? "" : "; ")
                      .append(t.name())
                      .append(" → ")
                      .append(String.join(", ", t.pointsTo())));
      b.append("<tr><td>")
          .append(esc(a.step() + " (" + a.type() + ")"))
          .append("</td><td>")
          .append(esc(a.state()))
          .append("</td><td>")
          .append(a.token() == 0 ? "" : a.lasted().toMillis() + " ms")
          .append("</td><td>")
          .append(a.attempts())
          .append("</td><td>")
          .append(esc(targets.toString()))
          .append("</td><td>")
          .append(esc(a.lastError().orElse("")))
          .append("</td></tr>\n");
    }
    b.append("</tbody></table>\n");
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
