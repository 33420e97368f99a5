package dev.baton.sidecar.cli;

import dev.baton.sidecar.demo.Demo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code baton demo}: the local failover demo. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "The local failover demo: three sidecars, SIGKILL the active, measure the failover.",
      "Starts three sidecar processes on loopback with temporary data directories and exec hooks",
      "that write to a file, waits for an active, kills it with SIGKILL, measures the failover",
      "(SIGKILL to another node's /active answering 200, polled every 20 ms), restarts the killed",
      "node and shows it rejoin as standby, does a planned switch-active, cleans up and exits 0."
    })
final class DemoCommand implements Callable<Integer> {
  @Option(
      names = "--json",
      description = "Print a machine-readable summary on stdout (progress goes to stderr).")
  boolean json;

  @Option(
      names = "--keep",
      description = "Keep the temporary directory (configs, logs, hooks.log).")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    return new Demo(json, keep).run();
  }
}
