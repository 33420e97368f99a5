package dev.baton.sidecar.demo;

import static dev.baton.sidecar.demo.Narrator.ms;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.core.Timing;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.sidecar.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The local failover demo ({@code bin/baton demo}): three real sidecar processes on loopback.
 *
 * <p>What it measures, and how: the failover time is from just before the SIGKILL of the active's
 * process to the first moment another node's {@code GET /active} answers 200, polling both
 * survivors every 20 ms (so it is accurate to about 20 ms plus one HTTP round trip). The hook time
 * is when the promotion hook's line with the new token is first seen in the hook file (polled as
 * often); the hook runs while the node is PROMOTING, so it can precede the 200. Everything runs
 * with the default {@link Timing}.
 *
 * <p>The scenario is one method per step; {@link DemoCluster} runs the processes and {@link
 * DemoReport} prints the summary.
 */
public final class Demo {
  private final boolean json;
  private final boolean keep;
  private final PrintStream out;
  private final Narrator narrator;
  private DemoCluster cluster;

  /** The first active, once the cluster has settled. */
  record Elected(DemoNode node, long token) {}

  /** The unplanned failover: SIGKILL of the first active until another answers /active. */
  record Failover(
      DemoNode killed, long killedToken, DemoNode next, long nextToken, long millis, long hookMs) {}

  /** The planned switch back to the restarted node. */
  record Switch(DemoNode from, DemoNode to, long token, long callMillis, long httpMillis) {}

  public Demo(boolean json, boolean keep) {
    this.json = json;
    this.keep = keep;
    // With --json, stdout carries only the summary; the story goes to stderr.
    this.out = json ? System.err : System.out;
    this.narrator = new Narrator(out);
  }

  public int run() throws Exception {
    Thread cleanup =
        new Thread(
            () -> {
              if (cluster != null) {
                cluster.killAll();
              }
            },
            "baton-demo-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    boolean failed = false;
    try {
      cluster = new DemoCluster(narrator);
      return demo();
    } catch (DemoFailure e) {
      failed = true;
      out.println();
      out.println("DEMO FAILED: " + e.getMessage());
      for (DemoNode n : cluster.nodes()) {
        out.println("--- last lines of " + n.log + " ---");
        DemoCluster.tail(n.log, 15).forEach(l -> out.println("  " + l));
      }
      out.println("kept " + cluster.dir() + " for inspection");
      return 1;
    } finally {
      if (cluster != null) {
        cluster.stopAll();
        if (!keep && !failed) {
          cluster.deleteDir();
        }
      }
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already
      }
    }
  }

  private int demo() throws Exception {
    start();
    Elected first = firstActive();
    Failover failover = failover(first);
    long rejoinMs = rejoin(failover);
    Switch sw = switchBack(failover);
    List<String> hookLines = Files.readAllLines(cluster.dir().resolve("hooks.log"));
    cluster.stopAll();
    narrator.event("stopped the 3 sidecars (SIGTERM: each demotes gracefully)");
    DemoReport report =
        new DemoReport(first, failover, rejoinMs, sw, hookLines, cluster.watchdogRestarts());
    if (json) {
      System.out.println(Json.pretty(report.json(narrator.timeline())));
    } else {
      report.print(out);
    }
    return 0;
  }

  private void start() throws IOException {
    List<DemoNode> nodes = cluster.nodes();
    out.println(
        "Baton demo: 3 sidecar processes on loopback; configs, logs and hooks.log in "
            + cluster.dir());
    for (DemoNode n : nodes) {
      out.printf(
          "  %s  raft 127.0.0.1:%d  control 127.0.0.1:%d  http %s%n",
          n.id, n.raft, n.control, n.url("/active"));
    }
    out.println();
    for (DemoNode n : nodes) {
      cluster.launch(n);
    }
    narrator.event(
        "started 3 sidecar processes (pids "
            + String.join(", ", nodes.stream().map(n -> Long.toString(n.process.pid())).toList())
            + ")");
    cluster.waitFor(
        "the 3 nodes to start (each waits one election timeout before it may vote)",
        () ->
            nodes.stream().allMatch(n -> cluster.get(n.url("/health")).code() == 200)
                ? Optional.of(true)
                : Optional.empty());
    narrator.event("all 3 nodes up: /health answers 200");
  }

  /**
   * A stable active: the same node with the same token for a second, so that the kill that follows
   * hits a settled cluster rather than a first election that is still sorting itself out.
   */
  private Elected firstActive() {
    DemoNode first = cluster.waitFor("a stable active node", cluster::stableActive);
    long token = cluster.activeToken(first);
    narrator.event(
        first.id + " is active with token " + token + " (its /active answers 200, the others 503)");
    String hook =
        cluster.waitFor(
            "the promotion hook of " + first.id, () -> cluster.hookLine(token, "active"));
    narrator.event("hooks.log: " + hook);
    return new Elected(first, token);
  }

  private Failover failover(Elected first) {
    DemoNode killed = first.node();
    List<DemoNode> survivors = cluster.nodes().stream().filter(n -> n != killed).toList();
    killed.killed = true;
    long killedAt = System.nanoTime();
    killed.process.destroyForcibly(); // SIGKILL on Linux and macOS
    narrator.event("SIGKILL " + killed.id + " (pid " + killed.process.pid() + ")");
    DemoNode next = null;
    long nextAt = 0;
    long hookAt = 0;
    long nextToken = 0;
    String nextHook = null;
    narrator.progressStart(
        "polling /active of "
            + survivors.get(0).id
            + " and "
            + survivors.get(1).id
            + " every 20 ms");
    long deadline = System.nanoTime() + DemoCluster.STEP_TIMEOUT.toNanos();
    while ((next == null || nextHook == null) && System.nanoTime() < deadline) {
      if (next == null) {
        for (DemoNode s : survivors) {
          DemoCluster.Reply r = cluster.get(s.url("/active"));
          if (r.code() == 200) {
            nextAt = System.nanoTime();
            next = s;
            nextToken = DemoCluster.token(r.body()).orElse(0L);
            break;
          }
        }
      }
      if (nextHook == null) {
        Optional<String> line = cluster.hookLineAbove(first.token());
        if (line.isPresent()) {
          hookAt = System.nanoTime();
          nextHook = line.get();
        }
      }
      cluster.supervise();
      narrator.progressTick();
      DemoCluster.pause(DemoCluster.POLL);
    }
    narrator.progressEnd();
    if (next == null || nextHook == null) {
      throw new DemoFailure(
          "no other node became active within "
              + DemoCluster.STEP_TIMEOUT.toSeconds()
              + " s of the SIGKILL");
    }
    Failover f =
        new Failover(
            killed, first.token(), next, nextToken, ms(nextAt - killedAt), ms(hookAt - killedAt));
    narrator.event(
        next.id
            + " answers /active 200 with token "
            + nextToken
            + ": failover took "
            + f.millis()
            + " ms after the SIGKILL");
    narrator.event(
        "hooks.log shows token "
            + DemoCluster.token(nextHook).orElse(0L)
            + " after "
            + f.hookMs()
            + " ms: "
            + nextHook);
    if (nextToken <= first.token()) {
      throw new DemoFailure(
          "token " + nextToken + " of " + next.id + " is not greater than " + first.token());
    }
    return f;
  }

  /** The killed node comes back as a standby; returns how long that took. */
  private long rejoin(Failover f) throws IOException {
    DemoNode back = f.killed();
    DemoNode active = f.next();
    long restartAt = System.nanoTime();
    back.killed = false;
    // As an operator would after the first start: without bootstrap, a node whose data directory
    // were lost would refuse to start instead of coming back with no memory.
    cluster.writeConfig(back, false);
    cluster.launch(back);
    narrator.event(
        "restarted " + back.id + " (pid " + back.process.pid() + ") on its data directory");
    JsonNode rejoined =
        cluster.waitFor(
            back.id + " to rejoin as standby",
            () -> {
              DemoCluster.Reply r = cluster.get(back.url("/status"));
              if (r.code() != 200) {
                return Optional.empty();
              }
              JsonNode s = Json.read(r.body());
              return s.path("role").asText().equals("STANDBY")
                      && s.path("activeNodeId").asText().equals(active.id)
                      && cluster.get(back.url("/active")).code() == 503
                  ? Optional.of(s)
                  : Optional.empty();
            });
    long rejoinMs = ms(System.nanoTime() - restartAt);
    narrator.event(
        back.id
            + " rejoined as standby after "
            + rejoinMs
            + " ms: role "
            + rejoined.path("role").asText()
            + ", knows "
            + active.id
            + " is active with token "
            + rejoined.path("activeToken").asLong()
            + ", term "
            + rejoined.path("term").asLong());
    return rejoinMs;
  }

  /** A planned switch-active, through the gRPC control API, back to the restarted node. */
  private Switch switchBack(Failover f) throws IOException {
    DemoNode target = f.killed();
    DemoNode active = f.next();
    long switchToken;
    long switchStart;
    try (BatonClient client =
        BatonClient.builder()
            .endpoints(cluster.nodes().stream().map(n -> "127.0.0.1:" + n.control).toList())
            // The control API asks for the cluster secret too: the demo holds it, like the CLI.
            .clusterSecret(
                ClusterSecretCredentials.read("baton-demo", cluster.clusterSecret()), "baton-demo")
            .build()) {
      // One call first, so the time below is the switch's, not this JVM's first gRPC call.
      client.statusReport();
      narrator.event("switch-active to " + target.id + " (through the gRPC control API)");
      switchStart = System.nanoTime();
      switchToken = client.switchActive(target.id, Duration.ofSeconds(30));
    }
    long callMs = ms(System.nanoTime() - switchStart);
    cluster.waitFor(
        target.id + "'s /active to answer 200",
        () ->
            cluster.get(target.url("/active")).code() == 200
                ? Optional.of(true)
                : Optional.empty());
    long httpMs = ms(System.nanoTime() - switchStart);
    if (cluster.get(active.url("/active")).code() == 200) {
      throw new DemoFailure(active.id + " still answers /active 200 after the switch");
    }
    long token = switchToken;
    String hook =
        cluster.waitFor(
            "the promotion hook of " + target.id, () -> cluster.hookLine(token, "active"));
    narrator.event(
        target.id
            + " is active with token "
            + switchToken
            + " (switch-active returned after "
            + callMs
            + " ms; "
            + target.id
            + "'s /active 200 after "
            + httpMs
            + " ms); "
            + active.id
            + " answers 503");
    narrator.event("hooks.log: " + hook);
    if (switchToken <= f.nextToken()) {
      throw new DemoFailure("token " + switchToken + " is not greater than " + f.nextToken());
    }
    return new Switch(active, target, switchToken, callMs, httpMs);
  }
}
