package dev.baton.postgres;

import dev.baton.core.BatonException;
import dev.baton.core.ChildEnvironment;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The commands a {@link PgRewindRejoin} runs on the server's machine ({@code pg_ctl}, {@code
 * pg_rewind}, {@code pg_basebackup}, {@code test}, {@code mv}, {@code rm}): behind the {@code
 * runAs} prefix, with an allow-listed environment, each bounded by the timeout. A failure names the
 * rejoin, the server and the step, with the command's last lines of output.
 */
final class PgCommands {
  private final List<String> runAs;
  private final Path binDirectory;
  private final Path dataDirectory;
  private final PostgresEndpoint local;
  private final @Nullable String password;
  private final Duration timeout;

  PgCommands(
      List<String> runAs,
      Path binDirectory,
      Path dataDirectory,
      PostgresEndpoint local,
      @Nullable String password,
      Duration timeout) {
    this.runAs = runAs;
    this.binDirectory = binDirectory;
    this.dataDirectory = dataDirectory;
    this.local = local;
    this.password = password;
    this.timeout = timeout;
  }

  boolean isRunning() {
    // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
    return exec(List.of(bin("pg_ctl"), "status", "-D", dataDirectory.toString()), false).exit()
        == 0;
  }

  String seconds() {
    return Long.toString(Math.max(1, timeout.toSeconds()));
  }

  String bin(String name) {
    return binDirectory.resolve(name).toString();
  }

  String run(String step, List<String> command, boolean withPassword) {
    Result r = exec(command, withPassword);
    if (r.exit() != 0) {
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": "
              + step
              + " failed (exit "
              + r.exit()
              + "): "
              + lastLines(r.output(), 5));
    }
    return r.output();
  }

  record Result(int exit, String output) {}

  /**
   * Runs {@code command} (behind {@code runAs}) with an allow-listed environment ({@link
   * ChildEnvironment}) and {@code PGPASSWORD} only when {@code withPassword}: for pg_rewind, which
   * connects to the new primary. Never for pg_ctl, whose postmaster would carry it for its life.
   */
  Result exec(List<String> command, boolean withPassword) {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(command);
    Path out = null;
    try {
      out = Files.createTempFile("baton-rejoin", ".out");
      ProcessBuilder pb =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Path parent = dataDirectory.toAbsolutePath().getParent();
      if (parent != null && Files.isDirectory(parent)) {
        pb.directory(parent.toFile());
      }
      Map<String, String> env = ChildEnvironment.restrict(pb);
      if (withPassword && password != null) {
        env.put("PGPASSWORD", password);
      }
      Process p = pb.start();
      if (!p.waitFor(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new BatonException(
            "rejoin of " + local.address() + ": " + command.get(0) + " timed out after " + timeout);
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new BatonException(
          "rejoin of " + local.address() + ": cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("interrupted", e);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a leftover temp file is harmless
        }
      }
    }
  }

  static String lastLine(String s) {
    return lastLines(s, 1);
  }

  private static String lastLines(String s, int n) {
    String[] lines = s.strip().split("\n");
    return String.join(" | ", List.of(lines).subList(Math.max(0, lines.length - n), lines.length));
  }
}
