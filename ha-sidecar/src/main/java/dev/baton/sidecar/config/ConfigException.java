package dev.baton.sidecar.config;

import java.util.List;

/**
 * A configuration file is wrong. The message lists every problem found, one per line, each naming
 * the file, the line, the key path and what is allowed.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem, as {@code file:line: key.path: what is wrong; what is allowed}. */
  public List<String> problems() {
    return problems;
  }
}
