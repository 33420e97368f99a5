package dev.baton.sidecar.config;

import java.util.Optional;

/**
 * A secret a config names (a TSIG key, a PostgreSQL password): read from a file or an environment
 * variable, never written in the config itself, and never echoed in a problem. A variable that
 * holds one is recorded, so that no child process is given it ({@link Yaml#checkPassedOn}).
 */
final class ConfigSecrets {
  private ConfigSecrets() {}

  /**
   * A secret, read from the file named by {@code fileKey} (relative to the config's directory; one
   * trailing newline is dropped) or from the environment variable named by {@code envKey}. A secret
   * written in the config itself, under {@code inlineKey}, is refused without echoing it; so is
   * giving both sources. Empty when neither is given (or on a problem).
   */
  static Optional<String> read(
      Yaml.Section s, String fileKey, String envKey, String inlineKey, String what) {
    return read(s, fileKey, envKey, inlineKey, what, true);
  }

  /**
   * {@link #read(Yaml.Section, String, String, String, String)}, or with {@code read} false only
   * its form: an inline secret, both sources, a bad variable name are still refused, and a variable
   * is still recorded as holding a secret, but neither the file nor the variable is read (always
   * empty). For a node that never uses the secret: a witness holds no copy of it.
   */
  static Optional<String> read(
      Yaml.Section s, String fileKey, String envKey, String inlineKey, String what, boolean read) {
    if (s.keys().contains(inlineKey)) {
      s.yaml()
          .problem(
              s.keyNode(inlineKey),
              Yaml.join(s.path(), inlineKey),
              "a secret is never written in the config file: put "
                  + what
                  + " in a file that only the sidecar can read and set "
                  + fileKey
                  + ", or set "
                  + envKey
                  + " to the name of an environment variable that holds it");
      return Optional.empty();
    }
    if (s.has(fileKey) && s.has(envKey)) {
      s.report(envKey, "give " + fileKey + " or " + envKey + ", not both");
      return Optional.empty();
    }
    if (s.has(fileKey)) {
      Optional<String> f = s.string(fileKey);
      if (f.isEmpty() || !read) {
        return Optional.empty();
      }
      java.nio.file.Path file = s.yaml().file().toAbsolutePath().getParent().resolve(f.get());
      try {
        String text = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
        if (text.endsWith("\n")) {
          text = text.substring(0, text.length() - 1);
        }
        if (text.endsWith("\r")) {
          text = text.substring(0, text.length() - 1);
        }
        if (text.isEmpty()) {
          s.report(fileKey, "file " + file + " is empty (it must hold " + what + ")");
          return Optional.empty();
        }
        return Optional.of(text);
      } catch (java.io.IOException | RuntimeException e) {
        // The path and the reason only: never the content.
        s.report(
            fileKey, "file " + file + " is not readable (" + e.getClass().getSimpleName() + ")");
        return Optional.empty();
      }
    }
    if (s.has(envKey)) {
      Optional<String> var = s.string(envKey);
      if (var.isEmpty()) {
        return Optional.empty();
      }
      if (!var.get().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        s.report(envKey, "'" + var.get() + "' is not an environment variable name");
        return Optional.empty();
      }
      s.yaml().secretVariable(var.get());
      if (!read) {
        return Optional.empty();
      }
      String value = System.getenv(var.get());
      if (value == null || value.isEmpty()) {
        s.report(
            envKey,
            "environment variable " + var.get() + " is not set (it must hold " + what + ")");
        return Optional.empty();
      }
      return Optional.of(value);
    }
    return Optional.empty();
  }
}
