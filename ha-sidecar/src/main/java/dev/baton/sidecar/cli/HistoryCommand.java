package dev.baton.sidecar.cli;

import dev.baton.core.Activation;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ControlMessages;
import dev.baton.sidecar.Json;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton history [--json]}: every activation the cluster remembers, oldest first. */
@Command(
    name = "history",
    mixinStandardHelpOptions = true,
    description = {
      "Lists the activations the cluster remembers, oldest first: the node and its token, the",
      "reason (START, FAILOVER, SWITCH_ACTIVE with the member asked, HEALTH, FAILBACK), the",
      "previous active, whether its promotion completed and why it gave the role up, and each",
      "promotion step with its outcome and duration.",
      "The order is the tokens' order. The time shown is the wall clock of the node that",
      "proposed the activation, for reading only: nodes' clocks may disagree.",
      "Kept in the replicated state (every member holds the same records), through snapshots",
      "and restarts; the newest historyLimit records (sidecar key 'historyLimit', default 100)."
    })
final class HistoryCommand implements Callable<Integer> {
  @Mixin ClientOptions client;

  @Option(names = "--json", description = "Print JSON (the same document as GET /history).")
  boolean json;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    List<Activation> history;
    try (BatonClient c = client.client()) {
      history = c.activations();
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(json(history));
    } else {
      print(out, history);
    }
    out.flush();
    return 0;
  }

  /** The {@code --json} document: the control API's {@code HistoryResponse} in its JSON form. */
  static String json(List<Activation> history) {
    return Json.pretty(Json.tree(ControlMessages.history(history)));
  }

  static void print(PrintWriter out, List<Activation> history) {
    if (history.isEmpty()) {
      out.println("no activation yet");
      return;
    }
    out.println("oldest first, in token order; times are each proposer's own wall clock");
    out.printf(
        "%-8s %-12s %-14s %-26s %-16s %s%n",
        "TOKEN", "NODE", "REASON", "PROPOSED AT", "AFTER", "OUTCOME");
    for (Activation a : history) {
      out.printf(
          "%-8d %-12s %-14s %-26s %-16s %s%n",
          a.token(),
          a.nodeId(),
          a.reason(),
          a.proposedAt().map(Object::toString).orElse("-"),
          a.previousNodeId().map(p -> p + " (" + a.previousToken() + ")").orElse("-"),
          (a.promoted() ? "became active" : "never became active")
              + a.failoverDuration().map(d -> ", failover " + d.toMillis() + " ms").orElse("")
              + a.resigned().map(r -> ", resigned: " + r).orElse(""));
      a.requester().ifPresent(r -> out.printf("%8s requested through %s%n", "", r));
      for (Activation.Step s : a.steps()) {
        out.printf(
            "%8s step %s #%d %s%s%s%n",
            "",
            s.name(),
            s.attempt(),
            s.outcome(),
            s.duration().map(d -> " in " + d.toMillis() + " ms").orElse(""),
            s.error().map(e -> ": " + e).orElse(""));
      }
    }
  }
}
