package dev.baton.sidecar.cli;

import dev.baton.core.Maintenance;
import dev.baton.core.control.BatonClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code baton maintenance on|off [--reason TEXT]}: the cluster's maintenance mode. */
@Command(
    name = "maintenance",
    mixinStandardHelpOptions = true,
    description = {
      "Turns the cluster's maintenance mode on or off.",
      "While it is on, no role move starts for health reasons: an active whose demoting health",
      "check fails stays active (its status note says that maintenance holds it). A planned",
      "switch-active or step-down still works, and the death of the active still frees the role:",
      "a crashed, partitioned or stopped active is replaced as always (unlike Patroni's pause).",
      "When it is turned off, health gating moves the role at once if the active is still",
      "unhealthy.",
      "The flag is replicated through Raft and survives a full restart. 'baton status' shows it",
      "in its top line, /status as 'maintenance', /metrics as baton_maintenance.",
      "With TLS on, only authorised clients may do this (as switch-active), and the change",
      "records the client's certificate name."
    })
final class MaintenanceCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Parameters(index = "0", paramLabel = "on|off", description = "Turn maintenance mode on or off.")
  String state;

  @Option(
      names = "--reason",
      paramLabel = "TEXT",
      description =
          "Why, shown in status and logs: one line, at most "
              + Maintenance.MAX_REASON_LENGTH
              + " characters (default: none).")
  String reason = "";

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    boolean on =
        switch (state) {
          case "on" -> true;
          case "off" -> false;
          default ->
              throw new BatonCommand.UsageError(
                  "maintenance: '" + state + "' is neither on nor off; give 'on' or 'off'");
        };
    Maintenance made;
    try (BatonClient c = client.client()) {
      made = c.maintenance(on, reason);
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(describe(made));
    out.flush();
    return 0;
  }

  /**
   * One line for people: {@code maintenance ON, set by ops-admin via n1 at 2026-12-06T12:00:00Z
   * (that member's clock): database upgrade}.
   */
  static String describe(Maintenance m) {
    if (m.index() == 0) {
      return "maintenance OFF (never set)";
    }
    StringBuilder line =
        new StringBuilder("maintenance ").append(m.on() ? "ON" : "OFF").append(", set by ");
    m.client().ifPresent(c -> line.append(c).append(" via "));
    line.append(m.setBy().orElse("an unnamed member"));
    m.setAt().ifPresent(t -> line.append(" at ").append(t).append(" (that member's clock)"));
    if (!m.reason().isEmpty()) {
      line.append(": ").append(m.reason());
    }
    return line.toString();
  }
}
