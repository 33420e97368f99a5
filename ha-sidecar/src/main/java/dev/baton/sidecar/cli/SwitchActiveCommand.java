package dev.baton.sidecar.cli;

import dev.baton.core.Handover;
import dev.baton.core.control.BatonClient;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
final class SwitchActiveCommand extends HandoverCommand {
  @Option(
      names = "--to",
      required = true,
      paramLabel = "NODE",
      description = "The node to make active.")
  String target;

  @Override
  String verb() {
    return "switch";
  }

  @Override
  Handover handOver(BatonClient c, Duration wait) {
    return new Handover(target, c.switchActive(target, wait));
  }
}
