package dev.baton.sidecar.cli;

import dev.baton.core.BatonException;
import dev.baton.core.BatonRecovery;
import dev.baton.core.Member;
import dev.baton.core.RecoveryRequest;
import dev.baton.core.RecoveryResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code baton recover}: a new cluster from a lost majority's survivor (disaster-recovery.md). */
@Command(
    name = "recover",
    mixinStandardHelpOptions = true,
    description = {
      "Recovery from a majority lost for good: a new cluster from a survivor's data directory.",
      "Writes the data directory of one member of a NEW cluster (new cluster id) from a copy of a surviving member's data directory. The new",
      "directory keeps the KV, the journal and the last activation, and holds a token floor:",
      "  floor = max(last log index of the copy, --fence-token) + --margin",
      "so the new cluster's first token is above it. Run it once per new member, each time",
      "from the same copy, then start every new member on its directory (no bootstrap).",
      "Refuses, writing nothing, while any old member answers on its Raft address, when the",
      "copy is of a newer format, when the target is not empty, or when the cluster id is",
      "the old one. Prints what it did. See docs/operations/disaster-recovery.md."
    })
final class RecoverCommand implements Callable<Integer> {
  @Option(
      names = "--from",
      required = true,
      paramLabel = "DIR",
      description = "A copy of a surviving member's data directory (read only).")
  Path from;

  @Option(
      names = "--to",
      required = true,
      paramLabel = "DIR",
      description = "The new member's data directory: missing or empty.")
  Path to;

  @Option(
      names = "--cluster",
      required = true,
      paramLabel = "ID",
      description = "The new cluster's id (must differ from the old one).")
  String cluster;

  @Option(
      names = "--node",
      required = true,
      paramLabel = "ID",
      description = "The id of the new member this directory is for.")
  String node;

  @Option(
      names = "--members",
      required = true,
      split = ",",
      paramLabel = "ID=HOST:PORT",
      description = "Every member of the new cluster, comma separated (as in its configs).")
  List<String> members;

  @Option(
      names = "--fence-token",
      required = true,
      paramLabel = "TOKEN",
      description = {
        "The highest token any fence holds, read after every old node is stopped (the",
        "baton.fence rows, the _baton-fence TXT record); 0 if there are no fences."
      })
  long fenceToken;

  @Option(
      names = "--margin",
      defaultValue = "1000000",
      paramLabel = "N",
      description = "Added to the floor (default ${DEFAULT-VALUE}).")
  long margin;

  @Option(
      names = "--probe-timeout",
      defaultValue = "2s",
      converter = DurationConverter.class,
      paramLabel = "DURATION",
      description = "How long to try each old member's Raft address (default ${DEFAULT-VALUE}).")
  Duration probeTimeout;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    List<Member> parsed = new ArrayList<>();
    for (String m : members) {
      int eq = m.indexOf('=');
      if (eq <= 0 || eq == m.length() - 1 || m.lastIndexOf(':') < eq) {
        throw new BatonCommand.UsageError(
            "--members: '" + m + "' is not ID=HOST:PORT (e.g. east-1=10.0.0.1:7001)");
      }
      parsed.add(Member.voter(m.substring(0, eq).trim(), m.substring(eq + 1).trim()));
    }
    RecoveryResult result;
    try {
      result =
          BatonRecovery.recover(
              new RecoveryRequest(
                  from, to, cluster, node, parsed, fenceToken, margin, probeTimeout));
    } catch (BatonException e) {
      spec.commandLine().getErr().println("refused: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return 1;
    }
    spec.commandLine().getOut().print(result.report());
    spec.commandLine().getOut().flush();
    return 0;
  }
}
