package dev.baton.sidecar.cli;

import dev.baton.core.control.BatonClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton switch-active --to NODE}: a planned switchover. */
@Command(
    name = "switch-active",
    mixinStandardHelpOptions = true,
    description = {
      "Planned switchover to another node.",
      "The active demotes (its demotion hooks run) and hands leadership over, then NODE",
      "activates with a higher token and runs its promotion plan. Returns when NODE is",
      "active (its plan completed); fails naming the step if NODE's plan failed.",
      "With TLS on, only authorised clients may do this."
    })
final class SwitchActiveCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(
      names = "--to",
      required = true,
      paramLabel = "NODE",
      description = "The node to make active.")
  String target;

  @Option(
      names = "--wait",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "How long to wait for NODE to be active (default 30s).")
  Duration wait = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long start = System.nanoTime();
    try (BatonClient c = client.client()) {
      long token = c.switchActive(target, wait);
      out.printf(
          "%s is active with token %d (switch took %d ms)%n",
          target, token, (System.nanoTime() - start) / 1_000_000);
      out.flush();
      return 0;
    }
  }
}
