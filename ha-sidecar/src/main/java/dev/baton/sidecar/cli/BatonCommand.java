package dev.baton.sidecar.cli;

import dev.baton.core.control.ControlException;
import dev.baton.sidecar.Logging;
import dev.baton.sidecar.config.ConfigException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command: {@code baton <subcommand>}. */
@Command(
    name = "baton",
    mixinStandardHelpOptions = true,
    versionProvider = BatonCommand.Version.class,
    description = "Baton: one fenced active across a Raft cluster. Sidecar, CLI and demo.",
    subcommands = {
      SidecarCommand.class,
      StatusCommand.class,
      SwitchActiveCommand.class,
      StepDownCommand.class,
      MaintenanceCommand.class,
      MembersCommand.class,
      HistoryCommand.class,
      KvCommand.class,
      WatchCommand.class,
      RecoverCommand.class,
      PgGuardCommand.class,
      DemoCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {
      "0:done",
      "1:the operation failed (refused, unavailable, timed out)",
      "2:bad command line or configuration"
    })
public final class BatonCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The command line with Baton's error handling: messages for humans, exit statuses above. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new BatonCommand());
    HelpText.install(cl);
    CommandLine.IParameterExceptionHandler parseErrors = cl.getParameterExceptionHandler();
    cl.setParameterExceptionHandler(
        (e, args) -> {
          Integer unknown =
              e instanceof CommandLine.UnmatchedArgumentException u
                  ? unknownVerb(u.getCommandLine(), u.getUnmatched())
                  : null;
          return unknown != null ? unknown : parseErrors.handleParseException(e, args);
        });
    cl.setExecutionStrategy(
        parseResult -> {
          CommandLine.ParseResult sub = parseResult;
          while (sub.hasSubcommand()) {
            sub = sub.subcommand();
          }
          // With --help, picocli keeps an unknown verb as unmatched and would print the usage
          // and exit 0: a script could not tell a missing command from a present one.
          Integer unknown = unknownVerb(sub.commandSpec().commandLine(), sub.unmatched());
          if (unknown != null) {
            return unknown;
          }
          // The sidecar sets its own logging from its config; everything else logs warnings to
          // stderr only, so stdout carries just the answer (the demo's --json summary included).
          if (!(sub.commandSpec().userObject() instanceof SidecarCommand)) {
            Logging.cli();
          }
          return new CommandLine.RunLast().execute(parseResult);
        });
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          PrintWriter err = commandLine.getErr();
          if (e instanceof ConfigException c) {
            err.println("configuration error" + (c.problems().size() > 1 ? "s" : "") + ":");
            c.problems().forEach(p -> err.println("  " + p));
            err.println("nothing was started.");
            return 2;
          }
          if (e instanceof IllegalArgumentException) {
            err.println("refused: " + e.getMessage());
            return 1;
          }
          if (e instanceof ControlException c) {
            err.println(c.getMessage());
            if (c.code() == io.grpc.Status.Code.UNAVAILABLE) {
              err.println(
                  (c.knownNotApplied() && c.getMessage().contains("it speaks TLS")
                          ? "hint: the node was reached but wants credentials."
                          : "hint: no node could be reached.")
                      + " A node's control API asks for the same"
                      + " credentials as its Raft port: with a cluster secret, give --config"
                      + " NODE.yaml, or --cluster-secret-file FILE --cluster ID; with"
                      + " certificates, --tls-cert, --tls-key and --tls-ca.");
            }
            return 1;
          }
          if (e instanceof UsageError) {
            err.println(e.getMessage());
            return 2;
          }
          err.println("failed: " + e);
          return 1;
        });
    return cl;
  }

  /**
   * When the first unmatched argument of a command that has verbs is not an option, it is an
   * unknown verb: says so with the list of verbs and returns 2; otherwise null.
   */
  private static Integer unknownVerb(CommandLine command, java.util.List<String> unmatched) {
    if (command.getSubcommands().isEmpty()
        || unmatched.isEmpty()
        || unmatched.get(0).startsWith("-")) {
      return null;
    }
    String name = command.getCommandSpec().qualifiedName();
    PrintWriter err = command.getErr();
    err.println(
        "unknown command '"
            + unmatched.get(0)
            + "'"
            + (command.getParent() == null ? "" : " for '" + name + "'"));
    err.println("commands: " + String.join(", ", command.getSubcommands().keySet()));
    err.println("run '" + name + " --help' for usage.");
    err.flush();
    return 2;
  }

  /** A usage problem found after parsing (exit status 2). */
  static final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      dev.baton.core.BuildInfo b = dev.baton.core.BuildInfo.current();
      return new String[] {
        "baton " + b.version() + " (commit " + b.commit() + ")",
        "Java "
            + System.getProperty("java.version")
            + " ("
            + System.getProperty("java.vm.name")
            + ")"
      };
    }
  }
}
