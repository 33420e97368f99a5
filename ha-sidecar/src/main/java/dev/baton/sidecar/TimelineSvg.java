package dev.baton.sidecar;

import static dev.baton.sidecar.StatusPage.esc;

import dev.baton.core.Activation;
import dev.baton.core.NodeStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The status page's activation timeline: an inline SVG with one lane per member and one column per
 * activation, in token order (the newest {@value #SHOWN} of them). Each activation is a block in
 * its node's lane, labelled with its token, its reason (START, FAILOVER, SWITCH_ACTIVE, HEALTH,
 * FAILBACK), the proposer's wall-clock time and how long its promotion steps took; the block of the
 * activation that holds the role now is highlighted. Under a FAILOVER, how long the failover took
 * ({@link #failoverLabel}): from the previous active's lease end to the new active's turning
 * ACTIVE, as the new active measured it; nothing when the record has no figure, rather than a
 * guess.
 *
 * <p>A SWITCH, HEALTH or FAILBACK block shows no such gap. The old active gave the role up on its
 * own clock (it demotes before the transfer, docs/lease.md step 4) and the new one activated on
 * another; no node sees both moments on one clock, and a figure from what the new active saw (the
 * resignation's entry applying) would leave out the part before it, which is the wrong figure the
 * page must not print. The promotion's duration is shown for every block.
 *
 * <p>The columns are equal, not proportional to time: a history spans seconds between a failover
 * and its switch back, and weeks between incidents, and a time axis would hide the first. Order
 * comes from tokens; the times are each proposer's own clock and are labelled so.
 */
final class TimelineSvg {
  static final int SHOWN = 12;
  private static final int LANE = 34;
  private static final int COLUMN = 104;
  private static final int LEFT = 60;
  private static final int TOP = 22;
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

  private TimelineSvg() {}

  /**
   * The section for activations {@code all} (oldest first) as seen with status {@code s}: a
   * heading, the SVG, a note.
   */
  static void append(StringBuilder b, NodeStatus s, List<Activation> all) {
    b.append("<h2>Activation timeline</h2>\n");
    if (all.isEmpty()) {
      b.append("<p id=\"timeline\">No activation recorded yet.</p>\n");
      return;
    }
    List<Activation> shown = all.subList(Math.max(0, all.size() - SHOWN), all.size());
    List<String> lanes = lanes(s, shown);
    int width = LEFT + COLUMN * shown.size() + 8;
    int height = TOP + LANE * lanes.size() + 48;
    b.append("<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"")
        .append(width)
        .append("\" height=\"")
        .append(height)
        .append("\" role=\"img\" aria-label=\"activation timeline\">\n");
    for (int i = 0; i < lanes.size(); i++) {
      int y = TOP + LANE * i;
      b.append("<text class=\"lane\" x=\"4\" y=\"")
          .append(y + LANE / 2 + 4)
          .append("\">")
          .append(esc(lanes.get(i)))
          .append("</text><line x1=\"")
          .append(LEFT)
          .append("\" x2=\"")
          .append(width - 4)
          .append("\" y1=\"")
          .append(y + LANE)
          .append("\" y2=\"")
          .append(y + LANE)
          .append("\" class=\"grid\"/>\n");
    }
    for (int c = 0; c < shown.size(); c++) {
      Activation a = shown.get(c);
      boolean current =
          a.nodeId().equals(s.activeNodeId().orElse("")) && a.token() == s.activeToken();
      int x = LEFT + COLUMN * c;
      int y = TOP + LANE * lanes.indexOf(a.nodeId());
      b.append("<g class=\"act")
          .append(current ? " current" : "")
          .append(a.promoted() ? "" : " unpromoted")
          .append("\" data-node=\"")
          .append(esc(a.nodeId()))
          .append("\" data-token=\"")
          .append(a.token())
          .append("\" data-reason=\"")
          .append(esc(a.reason().name()))
          .append(failoverLabel(a).isEmpty() ? "" : "\" data-failover-ms=\"" + failoverMillis(a))
          .append("\"><title>")
          .append(esc(describe(a)))
          .append("</title><rect x=\"")
          .append(x + 2)
          .append("\" y=\"")
          .append(y + 4)
          .append("\" width=\"")
          .append(COLUMN - 4)
          .append("\" height=\"")
          .append(LANE - 8)
          .append("\" rx=\"3\"/><text x=\"")
          .append(x + 7)
          .append("\" y=\"")
          .append(y + LANE / 2 + 4)
          .append("\">")
          .append(esc(shortReason(a.reason())))
          .append(" · ")
          .append(a.token())
          .append("</text></g>\n");
      int below = TOP + LANE * lanes.size();
      b.append("<text class=\"when\" x=\"")
          .append(x + 4)
          .append("\" y=\"")
          .append(below + 14)
          .append("\">")
          .append(proposedAt(a).map(TIME::format).orElse("time unknown"))
          .append("</text><text class=\"when\" x=\"")
          .append(x + 4)
          .append("\" y=\"")
          .append(below + 28)
          .append("\">")
          .append(esc(promotionLabel(a)))
          .append("</text>\n");
      String failover = failoverLabel(a);
      if (!failover.isEmpty()) {
        b.append("<text class=\"when failover\" x=\"")
            .append(x + 4)
            .append("\" y=\"")
            .append(below + 42)
            .append("\">")
            .append(esc(failover))
            .append("</text>\n");
      }
    }
    b.append("</svg>\n<p class=\"seen\">In token order; times are UTC on each proposer's own clock")
        .append(" (for people: order comes from tokens). Showing ")
        .append(shown.size())
        .append(" of ")
        .append(all.size())
        .append(" activations; all of them at <a href=\"/history\">/history</a>.</p>\n");
  }

  /** The members in the status's order, then any node of the window that is no longer one. */
  private static List<String> lanes(NodeStatus s, List<Activation> shown) {
    Set<String> ids = new LinkedHashSet<>();
    s.members().forEach(m -> ids.add(m.member().id()));
    shown.forEach(a -> ids.add(a.nodeId()));
    return new ArrayList<>(ids);
  }

  private static String shortReason(Activation.Reason reason) {
    return reason == Activation.Reason.SWITCH_ACTIVE ? "SWITCH" : reason.name();
  }

  /** When it was proposed, to the millisecond (as the control API carries it), if known. */
  private static Optional<Instant> proposedAt(Activation a) {
    return a.proposedAt().map(t -> Instant.ofEpochMilli(t.toEpochMilli()));
  }

  /** The failover's duration as the record carries it, in milliseconds; -1 when it has none. */
  private static long failoverMillis(Activation a) {
    return a.failoverDuration().map(Duration::toMillis).orElse(-1L);
  }

  /** "promoted 370 ms", "not promoted", or "promoting" while it has steps without an outcome. */
  static String promotionLabel(Activation a) {
    long total = 0;
    boolean open = false;
    for (Activation.Step step : a.steps()) {
      long ms = step.duration().map(Duration::toMillis).orElse(-1L);
      if (ms < 0) {
        open = true;
      } else {
        total += ms;
      }
    }
    if (a.promoted()) {
      return "promoted " + total + " ms";
    }
    return open && a.resigned().isEmpty() ? "promoting" : "not promoted";
  }

  /**
   * "failover 1.1 s" (or "failover 850 ms" under a second) for a FAILOVER whose record carries the
   * time its new active measured; empty otherwise, also for an old server or record without it.
   */
  static String failoverLabel(Activation a) {
    long ms = failoverMillis(a);
    if (a.reason() != Activation.Reason.FAILOVER || ms < 0) {
      return "";
    }
    return ms < 1000
        ? "failover " + ms + " ms"
        : String.format(Locale.ROOT, "failover %.1f s", ms / 1000.0);
  }

  static String describe(Activation a) {
    StringBuilder d = new StringBuilder();
    d.append(a.nodeId()).append(", token ").append(a.token()).append(": ");
    d.append(a.reason().name());
    a.previousNodeId()
        .ifPresent(
            p ->
                d.append(" from ")
                    .append(p)
                    .append(" (token ")
                    .append(a.previousToken())
                    .append(')'));
    a.requester().ifPresent(r -> d.append(", requested through ").append(r));
    proposedAt(a)
        .ifPresent(
            at -> d.append(", at ").append(at).append(" (").append(a.nodeId()).append("'s clock)"));
    if (!failoverLabel(a).isEmpty()) {
      d.append("; the failover took ")
          .append(failoverMillis(a))
          .append(" ms from the previous active's lease end, on ")
          .append(a.nodeId())
          .append("'s clock");
    }
    d.append("; ").append(promotionLabel(a));
    d.append(" in ").append(a.steps().size()).append(" step attempt(s)");
    a.resigned().ifPresent(r -> d.append("; resigned ").append(r));
    return d.toString();
  }
}
