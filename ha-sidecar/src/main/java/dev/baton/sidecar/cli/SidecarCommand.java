package dev.baton.sidecar.cli;

import dev.baton.core.PromotionPlan;
import dev.baton.sidecar.Logging;
import dev.baton.sidecar.Sidecar;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.SidecarConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.ratis.metrics.MetricRegistries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code baton sidecar --config node.yaml}: runs one node until SIGTERM or SIGINT. With {@code
 * --check}, validates the config (and with {@code --preflight} runs the steps' pre-flights) and
 * exits, like {@code nginx -t}.
 */
@Command(
    name = "sidecar",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one Baton node for a non-Java plane.",
      "The node runs the promotion plan from its config and serves the gRPC control API and the",
      "HTTP endpoints /active, /health, /status, /history, /metrics and /token (the token and",
      "the lease left, to callers on this machine's loopback only). Schema:",
      "docs/sidecar-config.md.",
      "SIGTERM or SIGINT demotes the node gracefully (demotion hooks run) and exits.",
      "If the node stops by itself (a log entry this release cannot read, its Raft server gone)",
      "the sidecar exits with status 3 and says why.",
      "--check validates the whole config and exits (0 good, 2 bad) without starting anything;",
      "with --preflight it also runs every step's pre-flight against the real servers (exit 1",
      "if one fails)."
    })
final class SidecarCommand implements Callable<Integer> {
  /** The exit status when the node stopped by itself (docs/operations/deployment.md). */
  static final int NODE_STOPPED = 3;

  @Option(
      names = {"-c", "--config"},
      required = true,
      paramLabel = "FILE",
      description = "The node's YAML config.")
  Path config;

  @Option(
      names = "--log-format",
      paramLabel = "text|json",
      description = "Overrides logging.format from the config.")
  String logFormat;

  @Option(
      names = "--check",
      description = "Validate the config and exit: 0 if good, 2 (with every problem) if not.")
  boolean check;

  @Option(
      names = "--preflight",
      description =
          "With --check: also run each promotion step's pre-flight (connect to PostgreSQL, query"
              + " the DNS zone, run an exec step's preflightCommand); one line per step.")
  boolean preflight;

  @Override
  public Integer call() throws InterruptedException {
    if (preflight && !check) {
      throw new BatonCommand.UsageError("--preflight needs --check");
    }
    if (logFormat != null && !logFormat.equals("text") && !logFormat.equals("json")) {
      throw new BatonCommand.UsageError(
          "--log-format '" + logFormat + "' is not allowed; use text or json");
    }
    Logging.cli();
    SidecarConfig c = ConfigLoader.load(config);
    if (check) {
      return check(c);
    }
    Logging.sidecar(
        logFormat != null ? logFormat : c.logging().format(),
        c.logging().level(),
        c.logging().ratisLevel());
    noRatisJmx();
    Sidecar sidecar = Sidecar.start(c);
    Runtime.getRuntime().addShutdownHook(new Thread(sidecar::close, "baton-shutdown"));
    sidecar.awaitClosed();
    if (sidecar.failure().isPresent()) {
      System.err.println(
          "baton sidecar: node "
              + c.nodeId()
              + " stopped by itself, exiting with status "
              + NODE_STOPPED
              + ": "
              + sidecar.failure().get());
      return NODE_STOPPED;
    }
    return 0;
  }

  /**
   * Keeps Ratis from publishing its metrics as JMX MBeans, which it does when its first metric
   * registry is created and no reporter has been registered: that starts the platform MBean server
   * and registers an MBean per Ratis metric, about 200 classes and their objects in every sidecar
   * (README, "Footprint"), for a JMX port the sidecar never opens. The sidecar's metrics are
   * Baton's own, on /metrics. A reporter that reports nothing, registered before the node starts,
   * is the one Ratis then uses. Ratis keeps its metrics; only their export is left out.
   */
  static void noRatisJmx() {
    MetricRegistries.global().addReporterRegistration(registry -> {}, registry -> {});
  }

  private int check(SidecarConfig c) {
    PrintStream out = System.out;
    List<PromotionPlan.Stage> steps = c.plan().stages();
    out.println(
        "config "
            + c.file()
            + ": ok (node "
            + c.nodeId()
            + " of cluster "
            + c.clusterId()
            + ", "
            + c.members().size()
            + " members, "
            + steps.size()
            + " promotion step"
            + (steps.size() == 1 ? "" : "s")
            + (steps.isEmpty()
                ? ""
                : ": " + String.join(", ", steps.stream().map(PromotionPlan.Stage::name).toList()))
            + ")");
    c.services().forEach(s -> out.println("  beside the role: " + s.describe()));
    for (PromotionPlan.Stage step : steps) {
      if (step instanceof PromotionPlan.ActionStage a
          && a.action() instanceof dev.baton.postgres.PostgresPromotionAction p
          && p.fenceTimeBound()
          && p.allowUnfencedOldPrimary()) {
        out.println(
            "warning: postgres step '"
                + step.name()
                + "': "
                + dev.baton.postgres.PostgresPromotionAction.BOTH_TIME_BOUND_AND_UNFENCED);
      }
    }
    if (!preflight) {
      return 0;
    }
    int failed = 0;
    for (PromotionPlan.Stage stage : steps) {
      if (!(stage instanceof PromotionPlan.ActionStage step)) {
        continue; // a fence: no pre-flight here, as before
      }
      long start = System.nanoTime();
      try {
        step.action().preflight();
        out.printf(
            "preflight %s: ok (%d ms)%n", step.name(), (System.nanoTime() - start) / 1_000_000);
      } catch (Exception e) {
        failed++;
        out.printf(
            "preflight %s: FAILED: %s%n",
            step.name(), e.getMessage() == null ? e.toString() : e.getMessage());
      }
    }
    return failed == 0 ? 0 : 1;
  }
}
