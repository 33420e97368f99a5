package dev.baton.sidecar.cli;

import dev.baton.core.Handover;
import dev.baton.core.control.BatonClient;
import java.time.Duration;
import picocli.CommandLine.Command;

/** {@code baton step-down}: hands the role from the active to the best peer, planned. */
@Command(
    name = "step-down",
    mixinStandardHelpOptions = true,
    description = {
      "Planned hand-over from the active to the best peer, without naming it.",
      "The cluster picks an eligible member other than the active whose health checks let",
      "it activate and that is up and caught up (as the leader sees it), highest priority",
      "first, then the most caught up; then it is a switch-active to that member: the",
      "active demotes, the peer activates with a higher token and runs its promotion plan.",
      "Refused, naming each member passed over and why, when no peer may take the role.",
      "With TLS on, only authorised clients may do this."
    })
final class StepDownCommand extends HandoverCommand {
  @Override
  String verb() {
    return "step-down";
  }

  @Override
  Handover handOver(BatonClient c, Duration wait) {
    return c.stepDown(wait);
  }
}
