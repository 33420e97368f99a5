package dev.baton.sidecar.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.baton.core.Timing;
import dev.baton.sidecar.Json;
import java.io.PrintStream;
import java.util.List;
import java.util.TreeSet;

/** The demo's summary: the timeline of the active role, as text or as one JSON object. */
record DemoReport(
    Demo.Elected first,
    Demo.Failover failover,
    long rejoinMs,
    Demo.Switch switched,
    List<String> hookLines,
    int watchdogRestarts) {

  /** Every token the demo saw, from the nodes and from the hook file. */
  TreeSet<Long> tokens() {
    TreeSet<Long> tokens = new TreeSet<>();
    tokens.add(first.token());
    tokens.add(failover.nextToken());
    tokens.add(switched.token());
    hookLines.forEach(l -> DemoCluster.token(l).ifPresent(tokens::add));
    return tokens;
  }

  ObjectNode json(ArrayNode timeline) {
    ObjectNode summary = Json.mapper().createObjectNode();
    summary.put("ok", true);
    summary.put("failoverMillis", failover.millis());
    summary.put("hookFailoverMillis", failover.hookMs());
    summary.put("switchActiveMillis", switched.callMillis());
    summary.put("rejoinMillis", rejoinMs);
    summary.put("watchdogRestarts", watchdogRestarts);
    summary.set(
        "firstActive",
        Json.mapper().createObjectNode().put("node", first.node().id).put("token", first.token()));
    summary.set(
        "failover",
        Json.mapper()
            .createObjectNode()
            .put("killed", failover.killed().id)
            .put("killedToken", failover.killedToken())
            .put("newActive", failover.next().id)
            .put("newToken", failover.nextToken())
            .put("millis", failover.millis())
            .put("hookMillis", failover.hookMs())
            .put("pollIntervalMillis", DemoCluster.POLL.toMillis()));
    summary.set(
        "switchActive",
        Json.mapper()
            .createObjectNode()
            .put("from", switched.from().id)
            .put("to", switched.to().id)
            .put("token", switched.token())
            .put("callMillis", switched.callMillis())
            .put("activeHttpMillis", switched.httpMillis()));
    ArrayNode t = summary.putArray("tokens");
    tokens().forEach(t::add);
    ArrayNode h = summary.putArray("hookLines");
    hookLines.forEach(h::add);
    summary.set("timeline", timeline);
    Timing timing = Timing.DEFAULTS;
    summary.put(
        "timing",
        "defaults: electionTimeout "
            + timing.electionTimeoutMin().toMillis()
            + "-"
            + timing.electionTimeoutMax().toMillis()
            + " ms, lease "
            + timing.lease().toMillis()
            + " ms");
    return summary;
  }

  void print(PrintStream out) {
    out.println();
    out.println("Timeline of the active role");
    out.printf("  %-8s %-7s %s%n", "ACTIVE", "TOKEN", "HOW");
    out.printf("  %-8s %-7d %s%n", first.node().id, first.token(), "elected at start");
    out.printf(
        "  %-8s %-7d %s%n",
        failover.next().id,
        failover.nextToken(),
        "failover "
            + failover.millis()
            + " ms after SIGKILL of "
            + failover.killed().id
            + " (hook "
            + failover.hookMs()
            + " ms)");
    out.printf(
        "  %-8s %-7d %s%n",
        switched.to().id,
        switched.token(),
        "planned switch-active, " + switched.callMillis() + " ms, after rejoining as standby");
    out.println();
    out.println(
        "Tokens seen: " + String.join(" < ", tokens().stream().map(String::valueOf).toList()));
    out.println("hooks.log (written by the exec hooks, BATON_* variables):");
    hookLines.forEach(l -> out.println("  " + l));
    out.println();
    out.printf(
        "Failover: %d ms from SIGKILL to another node's /active = 200 (polled every %d ms);"
            + " the hook file showed the new token after %d ms.%n",
        failover.millis(), DemoCluster.POLL.toMillis(), failover.hookMs());
  }
}
