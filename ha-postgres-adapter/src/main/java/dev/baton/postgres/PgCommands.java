package dev.baton.postgres;

import dev.baton.core.BatonException;
import dev.baton.core.ChildEnvironment;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

  /** The password file's name, beside the data directory (pg_rewind would remove it inside). */
  static final String PASSWORD_FILE = "baton-rejoin.pgpass";

  /**
   * Runs {@code command} (behind {@code runAs}) with an allow-listed environment ({@link
   * ChildEnvironment}). With {@code withPassword} (pg_rewind and pg_basebackup, which connect to
   * the new primary) and a password, the command reads it from the password file {@link
   * #passwordFile()} ({@link #withPasswordFile}), never from its environment or its arguments.
   */
  Result exec(List<String> command, boolean withPassword) {
    if (withPassword && password != null) {
      return withPasswordFile(password, command);
    }
    return execOnce(command, null);
  }

  /** {@value #PASSWORD_FILE} in the data directory's parent. */
  Path passwordFile() {
    return passwordDirectory().resolve(PASSWORD_FILE);
  }

  private Path passwordDirectory() {
    Path parent = dataDirectory.toAbsolutePath().getParent();
    if (parent == null) {
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": the data directory "
              + dataDirectory
              + " has no parent directory for the password file");
    }
    return parent;
  }

  /**
   * Runs {@code command} with {@code PGPASSFILE} naming {@link #passwordFile()}, which holds only
   * {@code secret}. The file is written behind {@code runAs}, so it belongs to the user the server
   * runs as: {@code mktemp} makes a new file beside it (mode 0600 before anything is in it), {@code
   * tee} fills it from its standard input, {@code mv} puts it in place. The command is started as
   * {@code env PGPASSFILE=PATH command...}: a path, not a secret. So neither the password nor a
   * variable that holds it is ever in a child's environment or arguments ({@code PGPASSWORD} was,
   * readable in {@code /proc/PID/environ} for the run).
   *
   * <p>The file stays: {@code --write-recovery-conf} writes {@code passfile=PATH} into the rejoined
   * standby's {@code primary_conninfo} (libpq keeps a password read from a file out of the
   * connection string it reports), and the standby's WAL receiver authenticates from it. Before,
   * the password itself went into {@code postgresql.auto.conf}.
   */
  private Result withPasswordFile(String secret, List<String> command) {
    if (secret.indexOf('\n') >= 0 || secret.indexOf('\r') >= 0) {
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": the PostgreSQL password contains a line break, which a password file cannot"
              + " hold");
    }
    Path file = passwordFile();
    Result made =
        execOnce(
            List.of(
                "mktemp",
                "-p",
                passwordDirectory().toString(),
                "." + PASSWORD_FILE + ".XXXXXXXXXX"),
            null);
    String temporary = made.output().strip();
    if (made.exit() != 0 || temporary.isEmpty() || temporary.contains("\n")) {
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": cannot create the password file "
              + file
              + " (mktemp exit "
              + made.exit()
              + "): "
              + lastLines(made.output(), 3));
    }
    // host:port:database:user:password, every field a wildcard; '\\' and ':' escaped.
    String line = "*:*:*:*:" + secret.replace("\\", "\\\\").replace(":", "\\:") + "\n";
    Result filled = execOnce(List.of("tee", "--", temporary), line);
    Result moved =
        filled.exit() == 0
            ? execOnce(List.of("mv", "-f", "--", temporary, file.toString()), null)
            : filled;
    if (moved.exit() != 0) {
      execOnce(List.of("rm", "-f", "--", temporary), null);
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": cannot write the password file "
              + file
              + " (exit "
              + moved.exit()
              + "): "
              + lastLines(moved.output(), 3));
    }
    List<String> withFile = new ArrayList<>();
    withFile.add("env");
    withFile.add("PGPASSFILE=" + file);
    withFile.addAll(command);
    return execOnce(withFile, null);
  }

  /**
   * Runs {@code command} once behind {@code runAs}. With {@code input}, it is written to the
   * command's standard input and the command's output is discarded (it may echo the input);
   * otherwise the output is captured and returned.
   */
  private Result execOnce(List<String> command, @Nullable String input) {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(command);
    Path out = null;
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      if (input == null) {
        out = Files.createTempFile("baton-rejoin", ".out");
        pb.redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      } else {
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      }
      Path parent = dataDirectory.toAbsolutePath().getParent();
      if (parent != null && Files.isDirectory(parent)) {
        pb.directory(parent.toFile());
      }
      ChildEnvironment.restrict(pb);
      Process p = pb.start();
      if (input != null) {
        try (OutputStream in = p.getOutputStream()) {
          in.write(input.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new BatonException(
            "rejoin of " + local.address() + ": " + command.get(0) + " timed out after " + timeout);
      }
      String output = out == null ? "" : Files.readString(out, StandardCharsets.UTF_8);
      return new Result(p.exitValue(), output);
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
