package dev.baton.sidecar.cli;

import dev.baton.core.Handover;
import dev.baton.core.control.BatonClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** What switch-active and step-down share: the client, the wait, and the line they print. */
abstract class HandoverCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(
      names = "--wait",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "How long to wait for the node taking the role to be active (default 30s).")
  Duration wait = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  /** The verb, for the printed line ("switch", "step-down"). */
  abstract String verb();

  /** Moves the role and returns who took it. */
  abstract Handover handOver(BatonClient c, Duration wait);

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    try (BatonClient c = client.client()) {
      Handover h = handOver(c, wait);
      out.printf(
          "%s is active with token %d (%s took %d ms)%n",
          h.nodeId(), h.token(), verb(), (System.nanoTime() - start) / 1_000_000);
      out.flush();
      return 0;
    }
  }
}
