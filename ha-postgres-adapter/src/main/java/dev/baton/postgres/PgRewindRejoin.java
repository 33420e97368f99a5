package dev.baton.postgres;

import dev.baton.core.BatonException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a former primary into a streaming standby of the new primary, on the machine that holds its
 * data directory: stop it, {@code pg_rewind --write-recovery-conf} from the new primary, start it,
 * and wait until it replays from the new primary. Whatever the old primary wrote after the
 * standby's promotion (writes from a stale active that reached it before it was fenced) is
 * discarded by the rewind: the new primary's history wins.
 *
 * <p>Run it on the node whose server was the old primary, when that node is not active and the
 * published writer is another server (for example from a {@link WriterEndpoint} listener). It
 * refuses to rewind the server that is itself the writer. Requirements, as for {@code pg_rewind}:
 * {@code wal_log_hints = on} or data checksums on the old primary, {@code full_page_writes = on},
 * and a superuser (or a role with the functions pg_rewind needs) on the new primary. The rewind
 * copies the new primary's configuration files, so keep server-specific settings (port, listen
 * address) in a file outside the data directory that {@code postgresql.conf} includes.
 *
 * <p>The password, if any, reaches {@code pg_rewind} and {@code pg_basebackup} through the password
 * file {@code baton-rejoin.pgpass} beside the data directory ({@code PGPASSFILE}; written as the
 * {@code runAs} user, mode 0600), never their environment or command line. Their {@code -R} writes
 * {@code passfile=} that file into the standby's {@code primary_conninfo}, so the rejoined standby
 * authenticates from it; the password is not written into {@code postgresql.auto.conf}.
 */
public final class PgRewindRejoin {
  private static final Logger LOG = LoggerFactory.getLogger(PgRewindRejoin.class);

  private final Path dataDirectory;
  private final PostgresEndpoint local;
  private final String user;
  private final @Nullable Path logFile;
  private final Duration timeout;
  private final PgConnections connections;
  private final boolean recloneOnRewindFailure;
  private final PgCommands commands;

  private PgRewindRejoin(Builder b) {
    // build() refused a builder without these two.
    this.dataDirectory = Objects.requireNonNull(b.dataDirectory, "dataDirectory");
    this.local = Objects.requireNonNull(b.local, "local");
    this.user = b.user;
    this.logFile = b.logFile;
    this.timeout = b.timeout;
    this.recloneOnRewindFailure = b.recloneOnRewindFailure;
    this.commands =
        new PgCommands(
            List.copyOf(b.runAs), b.binDirectory, dataDirectory, local, b.password, b.timeout);
    this.connections =
        new PgConnections(b.user, b.password, Duration.ofSeconds(3), b.timeout, "baton-rejoin");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The data directory it rewinds. */
  public Path dataDirectory() {
    return dataDirectory;
  }

  /** The role it connects as, on the new primary. */
  public String user() {
    return user;
  }

  /** Builds a {@link PgRewindRejoin}. */
  public static final class Builder {
    private @Nullable Path dataDirectory;
    private Path binDirectory = Path.of("/usr/lib/postgresql/15/bin");
    private List<String> runAs = List.of();
    private @Nullable PostgresEndpoint local;
    private String user = "postgres";
    private @Nullable String password;
    private @Nullable Path logFile;
    private Duration timeout = Duration.ofSeconds(120);
    private boolean recloneOnRewindFailure;

    private Builder() {}

    /**
     * When {@code pg_rewind} fails, re-create the data directory from the new primary with {@code
     * pg_basebackup -R -X stream} (from the same bin directory, with the same role and password)
     * instead of failing (default false, as Patroni's {@code
     * remove_data_directory_on_rewind_failure}). A {@code pg_rewind} that stopped part-way leaves a
     * data directory that no later rewind can repair. The old directory is moved aside to {@code
     * <dataDirectory>.rewind-failed}, or, when that is taken by an earlier failure, deleted. Not
     * for servers with tablespaces outside the data directory.
     */
    public Builder recloneOnRewindFailure(boolean reclone) {
      this.recloneOnRewindFailure = reclone;
      return this;
    }

    /** The old primary's data directory. Required. */
    public Builder dataDirectory(Path dir) {
      this.dataDirectory = Objects.requireNonNull(dir);
      return this;
    }

    /** Where pg_ctl and pg_rewind are (default {@code /usr/lib/postgresql/15/bin}). */
    public Builder binDirectory(Path dir) {
      this.binDirectory = Objects.requireNonNull(dir);
      return this;
    }

    /**
     * A prefix that runs a command as the server's OS user, e.g. {@code runuser -u postgres --}
     * when this process is root (the server refuses to run as root). Default: none.
     */
    public Builder runAs(List<String> prefix) {
      this.runAs = List.copyOf(prefix);
      return this;
    }

    /** The old primary's own endpoint, to check it after the restart. Required. */
    public Builder local(PostgresEndpoint local) {
      this.local = Objects.requireNonNull(local);
      return this;
    }

    /** The role used on the new primary and to check the local server (default postgres). */
    public Builder user(String user) {
      this.user = Objects.requireNonNull(user);
      return this;
    }

    public Builder password(String password) {
      this.password = password;
      return this;
    }

    /** The server log for {@code pg_ctl start -l} (default: none, the server's own setting). */
    public Builder logFile(Path logFile) {
      this.logFile = logFile;
      return this;
    }

    /** Bound for each step (default 120 s). */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout);
      return this;
    }

    public PgRewindRejoin build() {
      if (dataDirectory == null || local == null) {
        throw new IllegalStateException(
            "PgRewindRejoin needs a data directory and a local endpoint");
      }
      return new PgRewindRejoin(this);
    }
  }

  /** What {@link #rejoin} did. */
  public enum Outcome {
    /** The server was already a standby: nothing was changed. */
    ALREADY_STANDBY,
    /** The server was rewound (or needed no rewind), configured as a standby and restarted. */
    REJOINED,
    /**
     * The server was down with its {@code standby.signal} in place and was started as a standby.
     */
    RESTARTED,
    /**
     * {@code pg_rewind} failed and the data directory was re-created from the new primary with
     * {@code pg_basebackup} ({@link Builder#recloneOnRewindFailure}).
     */
    RECLONED
  }

  /**
   * Brings back, as a standby of {@code newPrimary}, a server that went down during or after a
   * rejoin (a STONITH or a crash that landed after {@code pg_rewind} or during {@code pg_ctl
   * start}): when its data directory holds {@code standby.signal} it is only started (it cannot
   * take writes); otherwise (stopped before or in the middle of {@code pg_rewind}) the whole {@link
   * #rejoin} runs again.
   */
  public Outcome restartAsStandby(PostgresEndpoint newPrimary) {
    try (Connection c = connections.connectOrThrow(local)) {
      if (ServerProbes.inRecovery(c)) {
        return Outcome.ALREADY_STANDBY;
      }
      return rejoin(newPrimary); // a primary: the rejoin makes it a standby
    } catch (SQLException e) {
      // down, as expected
    }
    String signal = dataDirectory.resolve("standby.signal").toString();
    if (commands.exec(List.of("test", "-f", signal), false).exit() != 0) {
      LOG.warn(
          "rejoin: {} is down and has no standby.signal (stopped before or during pg_rewind);"
              + " rewinding it again",
          local.address());
      return rejoin(newPrimary);
    }
    if (!commands.isRunning()) {
      List<String> start =
          new ArrayList<>(
              List.of(
                  commands.bin("pg_ctl"),
                  "start",
                  "-D",
                  dataDirectory.toString(),
                  "-w",
                  "-t",
                  commands.seconds()));
      if (logFile != null) {
        start.add("-l");
        start.add(logFile.toString());
      }
      commands.run("start", start, false);
    }
    awaitStandby();
    LOG.info(
        "rejoin: {} is running again as a standby of {}", local.address(), newPrimary.address());
    return Outcome.RESTARTED;
  }

  /**
   * Rejoins the local server as a standby of {@code newPrimary}. Idempotent: a server that is
   * already in recovery is left alone.
   *
   * @throws BatonException if {@code newPrimary} is this server, or a step fails (the message names
   *     the step and the server; the data directory is left for an operator to inspect)
   */
  public Outcome rejoin(PostgresEndpoint newPrimary) {
    if (newPrimary.host().equals(local.host()) && newPrimary.port() == local.port()) {
      throw new BatonException(
          "refusing to rejoin " + local.address() + " as a standby of itself: it is the writer");
    }
    try (Connection c = connections.connectOrThrow(local)) {
      if (ServerProbes.inRecovery(c)) {
        LOG.info("rejoin: {} is already a standby", local.address());
        return Outcome.ALREADY_STANDBY;
      }
    } catch (SQLException e) {
      LOG.info("rejoin: {} is not reachable ({}); rewinding it", local.address(), e.getMessage());
    }
    // pg_rewind compares timelines as recorded in each server's last checkpoint. A freshly
    // promoted primary's end-of-recovery checkpoint is spread out and may not be done yet: its
    // control file still shows the old timeline and pg_rewind would wrongly say "no rewind
    // required", leaving a diverged server that cannot follow the new timeline.
    try (Connection c = connections.connectOrThrow(newPrimary)) {
      ServerProbes.checkpoint(c);
    } catch (SQLException e) {
      throw new BatonException(
          "rejoin of "
              + local.address()
              + ": cannot checkpoint the new primary "
              + newPrimary.address()
              + ": "
              + e.getMessage(),
          e);
    }
    String dir = dataDirectory.toString();
    if (commands.isRunning()) {
      commands.run(
          "stop",
          List.of(
              commands.bin("pg_ctl"),
              "stop",
              "-D",
              dir,
              "-m",
              "fast",
              "-w",
              "-t",
              commands.seconds()),
          false);
    }
    String source =
        "host="
            + newPrimary.host()
            + " port="
            + newPrimary.port()
            + " user="
            + user
            + " dbname="
            + newPrimary.database();
    Outcome outcome = Outcome.REJOINED;
    try {
      String out =
          commands.run(
              "pg_rewind from " + newPrimary.address(),
              List.of(
                  commands.bin("pg_rewind"),
                  "--target-pgdata=" + dir,
                  "--source-server=" + source,
                  "--write-recovery-conf"),
              true);
      LOG.info("rejoin: pg_rewind of {}: {}", local.address(), PgCommands.lastLine(out));
    } catch (BatonException e) {
      if (!recloneOnRewindFailure || Thread.currentThread().isInterrupted()) {
        throw e;
      }
      reclone(newPrimary, e);
      outcome = Outcome.RECLONED;
    }
    List<String> start =
        new ArrayList<>(
            List.of(commands.bin("pg_ctl"), "start", "-D", dir, "-w", "-t", commands.seconds()));
    if (logFile != null) {
      start.add("-l");
      start.add(logFile.toString());
    }
    // pg_ctl start gets no password: the postmaster and every backend inherit its environment.
    commands.run("start", start, false);
    awaitStandby();
    LOG.info("rejoin: {} is a standby of {}", local.address(), newPrimary.address());
    return outcome;
  }

  /**
   * pg_rewind failed on the stopped server: its data directory is moved aside (or deleted, when an
   * earlier failure's copy is kept already) and re-created from {@code newPrimary} with {@code
   * pg_basebackup -R}, all as the server's OS user.
   */
  private void reclone(PostgresEndpoint newPrimary, BatonException rewindFailure) {
    String dir = dataDirectory.toString();
    String aside = dir + ".rewind-failed";
    LOG.warn(
        "rejoin: {}; re-creating the data directory {} from {} with pg_basebackup"
            + " (recloneOnRewindFailure)",
        rewindFailure.getMessage(),
        dir,
        newPrimary.address());
    if (commands.exec(List.of("test", "-e", dir), false).exit() == 0) {
      if (commands.exec(List.of("test", "-e", aside), false).exit() != 0) {
        commands.run("moving the data directory aside", List.of("mv", "--", dir, aside), false);
        LOG.warn(
            "rejoin: the data directory of {} before the re-clone is kept in {}; delete it when it"
                + " is no longer needed",
            local.address(),
            aside);
      } else {
        commands.run("removing the data directory", List.of("rm", "-rf", "--", dir), false);
        LOG.warn(
            "rejoin: the data directory {} was deleted for the re-clone ({} from an earlier failed"
                + " rewind is kept)",
            dir,
            aside);
      }
    }
    String out =
        commands.run(
            "pg_basebackup from " + newPrimary.address(),
            List.of(
                commands.bin("pg_basebackup"),
                "--host=" + newPrimary.host(),
                "--port=" + newPrimary.port(),
                "--username=" + user,
                "--pgdata=" + dir,
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--no-password"),
            true);
    LOG.info(
        "rejoin: {} re-created from {} with pg_basebackup{}",
        dir,
        newPrimary.address(),
        out.isBlank() ? "" : ": " + PgCommands.lastLine(out));
  }

  private void awaitStandby() {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "not checked";
    while (System.nanoTime() < deadline) {
      try (Connection c = connections.connectOrThrow(local)) {
        if (ServerProbes.inRecovery(c)) {
          return;
        }
        last = "not in recovery";
      } catch (SQLException e) {
        last = e.getMessage();
      }
      try {
        Thread.sleep(50); // bounded poll
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BatonException("interrupted", e);
      }
    }
    throw new BatonException(
        local.address() + " did not come back as a standby within " + timeout + ": " + last);
  }
}
