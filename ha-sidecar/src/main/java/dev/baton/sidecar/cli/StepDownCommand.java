package dev.baton.sidecar.cli;

import dev.baton.core.Handover;
import dev.baton.core.control.BatonClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton step-down}: hands the role from the active to the best peer, planned. */
@Command(
    name = "step-down",
    mixinStandardHelpOptions = true,
    description = {
      "Planned hand-over from the active to the best peer, without naming it.",
      "The cluster picks an eligible member other than the active whose health checks let",
      "it activate, highest priority first; then it is a switch-active to that member: the",
      "active demotes, the peer activates with a higher token and runs its promotion plan.",
      "Refused, naming each member passed over and why, when no peer may take the role.",
      "With TLS on, only authorised clients may do this."
    })
final class StepDownCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(
      names = "--wait",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "How long to wait for the peer to be active (default 30s).")
  Duration wait = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    try (BatonClient c = client.client()) {
      Handover h = c.stepDown(wait);
      out.printf(
          "%s is active with token %d (step-down took %d ms)%n",
          h.nodeId(), h.token(), (System.nanoTime() - start) / 1_000_000);
      out.flush();
      return 0;
    }
  }
}
