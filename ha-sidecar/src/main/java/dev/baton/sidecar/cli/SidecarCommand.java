package dev.baton.sidecar.cli;

import dev.baton.sidecar.Logging;
import dev.baton.sidecar.Sidecar;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.SidecarConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code baton sidecar --config node.yaml}: runs one node until SIGTERM or SIGINT. */
@Command(
    name = "sidecar",
    mixinStandardHelpOptions = true,
    description = {
      "Runs one Baton node for a non-Java plane.",
      "The node runs the promotion plan from its config and serves the gRPC control API and the",
      "HTTP endpoints /active, /health, /status and /metrics. Schema: docs/sidecar-config.md.",
      "SIGTERM or SIGINT demotes the node gracefully (demotion hooks run) and exits."
    })
final class SidecarCommand implements Callable<Integer> {
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

  @Override
  public Integer call() throws InterruptedException {
    if (logFormat != null && !logFormat.equals("text") && !logFormat.equals("json")) {
      throw new BatonCommand.UsageError(
          "--log-format '" + logFormat + "' is not allowed; use text or json");
    }
    Logging.cli();
    SidecarConfig c = ConfigLoader.load(config);
    Logging.sidecar(logFormat != null ? logFormat : c.logging().format(), c.logging().level());
    Sidecar sidecar = Sidecar.start(c);
    Runtime.getRuntime().addShutdownHook(new Thread(sidecar::close, "baton-shutdown"));
    sidecar.awaitClosed();
    return 0;
  }
}
