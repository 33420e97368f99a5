package dev.baton.sidecar.config;

import dev.baton.core.ExecAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code type: exec}: runs a command on promotion (and optionally on demotion) with BATON_TOKEN,
 * BATON_NODE, BATON_ROLE, ... in its environment (see {@link ExecAction}). A command given as one
 * string runs through {@code /bin/sh -c}; a list runs the program directly. An optional {@code
 * preflightCommand} runs at start and with {@code --check --preflight}.
 */
final class ExecStep implements StepType {
  static final ExecStep TYPE = new ExecStep();

  private ExecStep() {}

  @Override
  public String name() {
    return "exec";
  }

  @Override
  public List<String> keys() {
    return List.of(
        "command",
        "demoteCommand",
        "preflightCommand",
        "preflightTimeout",
        "env",
        "passEnv",
        "workingDirectory");
  }

  @Override
  public Built build(String stepName, Yaml.Section step, Scope scope) {
    int before = problemCount(step);
    ExecAction.Builder b = ExecAction.builder(stepName);
    Optional<List<String>> command = step.words("command");
    if (command.isEmpty() && !step.has("command")) {
      step.required("command", "the program to run on promotion, a string or a list");
    }
    boolean shell = step.valueNode("command") instanceof org.yaml.snakeyaml.nodes.ScalarNode;
    command.ifPresent(b::command);
    Optional<List<String>> demote = step.words("demoteCommand");
    demote.ifPresent(b::demoteCommand);
    if (demote.isPresent()
        && shell
            != step.valueNode("demoteCommand") instanceof org.yaml.snakeyaml.nodes.ScalarNode) {
      step.yaml()
          .problem(
              step.valueNode("demoteCommand"),
              Yaml.join(step.path(), "demoteCommand"),
              "give command and demoteCommand in the same form: both strings (run by /bin/sh)"
                  + " or both lists (run directly)");
    }
    Optional<List<String>> preflight = step.words("preflightCommand");
    if (preflight.isPresent()
        && shell
            != step.valueNode("preflightCommand") instanceof org.yaml.snakeyaml.nodes.ScalarNode) {
      step.report(
          "preflightCommand",
          "give command and preflightCommand in the same form: both strings (run by /bin/sh)"
              + " or both lists (run directly)");
    }
    Duration preflightTimeout = step.duration("preflightTimeout").orElse(Duration.ofSeconds(10));
    preflight.ifPresent(p -> b.preflightCommand(p, preflightTimeout));
    b.shell(shell);
    for (Map.Entry<String, String> e : step.stringMap("env").entrySet()) {
      b.env(e.getKey(), e.getValue());
    }
    b.passEnv(step.passEnv("passEnv"));
    step.string("workingDirectory")
        .ifPresent(
            d -> {
              Path dir = step.yaml().file().toAbsolutePath().getParent().resolve(d);
              // Only where the command may run: a witness never runs it.
              if (scope.eligible() && !Files.isDirectory(dir)) {
                step.yaml()
                    .problem(
                        step.valueNode("workingDirectory"),
                        Yaml.join(step.path(), "workingDirectory"),
                        "'" + d + "' is not a directory (" + dir + ")");
              }
              b.workingDirectory(dir);
            });
    if (problemCount(step) > before || command.isEmpty()) {
      return null;
    }
    return new Built(b.build());
  }

  private static int problemCount(Yaml.Section s) {
    return s.yaml().problems().size();
  }
}
