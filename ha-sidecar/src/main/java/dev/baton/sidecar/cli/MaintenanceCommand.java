package dev.baton.sidecar.cli;

import dev.baton.core.Maintenance;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.proto.MaintenanceState;
import java.io.PrintWriter;
import java.time.Instant;
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
    return describe(
        m.on(),
        m.reason(),
        m.setBy().orElse(""),
        m.client().orElse(""),
        m.setAt().map(Instant::toEpochMilli).orElse(0L),
        m.index());
  }

  /** As {@link #describe(Maintenance)}, from a status message's field. */
  static String describe(MaintenanceState s) {
    return describe(
        s.getOn(),
        s.getReason(),
        s.getSetBy(),
        s.getClient(),
        s.getSetAtUnixMillis(),
        s.getIndex());
  }

  private static String describe(
      boolean on, String reason, String setBy, String client, long setAtMillis, long index) {
    if (index == 0) {
      return "maintenance OFF (never set)";
    }
    StringBuilder line =
        new StringBuilder("maintenance ").append(on ? "ON" : "OFF").append(", set by ");
    if (!client.isEmpty()) {
      line.append(client).append(" via ");
    }
    line.append(setBy.isEmpty() ? "an unnamed member" : setBy);
    if (setAtMillis != 0) {
      line.append(" at ")
          .append(Instant.ofEpochMilli(setAtMillis))
          .append(" (that member's clock)");
    }
    if (!reason.isEmpty()) {
      line.append(": ").append(reason);
    }
    return line.toString();
  }
}
