package dev.baton.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** What the deployment checks share: the repository's paths, running a tool, a missing tool. */
final class Prerequisites {
  /** The {@code deploy/} folder (the module's base directory, where surefire runs). */
  static final Path DEPLOY = Path.of("").toAbsolutePath();

  private Prerequisites() {}

  /**
   * A tool the check needs is missing or unreachable: under {@code CI=true} the test fails with
   * {@code why}; elsewhere it is reported as skipped, and the reason is printed.
   */
  static void missing(String test, String why) {
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(why + " (CI=true: a missing tool fails the build)");
    }
    System.err.println(test + " skipped: " + why);
    Assumptions.abort(why);
  }

  record Run(int exit, String output) {}

  /** Runs {@code command}, stdout and stderr together, within {@code seconds}. */
  static Run run(List<String> command, Path dir, int seconds)
      throws IOException, InterruptedException {
    return run(command, dir, seconds, Map.of());
  }

  /** As {@link #run(List, Path, int)}, with {@code env} added to this process's environment. */
  static Run run(List<String> command, Path dir, int seconds, Map<String, String> env)
      throws IOException, InterruptedException {
    ProcessBuilder b =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    b.environment().putAll(env);
    Process p = b.start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " did not finish within " + seconds + " s");
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** True when {@code program} is on the PATH. */
  static boolean onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Path.of(dir, program).toFile().canExecute()) {
        return true;
      }
    }
    return false;
  }

  /** A fresh random cluster secret, as {@code openssl rand -base64 32} writes it. */
  static String randomSecret() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return Base64.getEncoder().encodeToString(b) + "\n";
  }

  /** A BIND key file with a fresh random secret, as {@code tsig-keygen} writes it. */
  static String randomTsigKey() {
    return "key \"baton-key\" {\n\talgorithm hmac-sha256;\n\tsecret \""
        + randomSecret().trim()
        + "\";\n};\n";
  }
}
