package dev.baton.sidecar;

import dev.baton.sidecar.cli.BatonCommand;

/**
 * The {@code baton} binary ({@code bin/baton}): the sidecar, the CLI and the demo.
 *
 * <pre>
 * bin/baton sidecar --config node.yaml
 * bin/baton status [--json]            bin/baton switch-active --to NODE
 * bin/baton members list|add|remove    bin/baton kv get|put|cas|list|delete
 * bin/baton demo [--json]
 * </pre>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs one command line and returns its exit status (for tests and the demo). */
  public static int run(String... args) {
    return BatonCommand.commandLine().execute(args);
  }
}
