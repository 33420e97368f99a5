package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.postgres.testing.ClusterKv;
import dev.baton.testing.postgres.PostgresPair;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 32: a rejoin whose {@code pg_rewind} fails (in the region-cut test an interrupted rewind
 * left the old primary's data directory damaged, and every later rewind failed on it) is retried
 * with a doubling backoff, not on every check for ever, and the guard says once, at ERROR, what
 * happened and what the operator must do; once a rejoin succeeds the streak is over.
 *
 * <p>The failure is made deterministic with real PostgreSQL: the new primary runs with {@code
 * full_page_writes = off}, which pg_rewind refuses in its source after the guard has fenced and
 * stopped the old primary. pg_rewind is the real binary behind a one-line wrapper that notes the
 * time of each run.
 */
class FormerPrimaryGuardRejoinFailureTest {
  private static final String PASSWORD = "rejoin-password-never-in-a-log";
  private static final Path PG_BIN = Path.of("/usr/lib/postgresql/15/bin");

  private static PostgresEndpoint endpoint(PostgresServer s) {
    return PostgresEndpoint.of(s.host(), s.port());
  }

  /** pg_ctl and pg_rewind in {@code dir}: the real ones, pg_rewind noting each run in a file. */
  private static Path wrappedBinaries(Path dir, Path runs) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(runs, "");
    Files.setPosixFilePermissions(runs, PosixFilePermissions.fromString("rw-rw-rw-"));
    Files.writeString(
        dir.resolve("pg_ctl"), "#!/bin/sh\nexec " + PG_BIN.resolve("pg_ctl") + " \"$@\"\n");
    Files.writeString(
        dir.resolve("pg_rewind"),
        "#!/bin/sh\ndate +%s%N >> " + runs + "\nexec " + PG_BIN.resolve("pg_rewind") + " \"$@\"\n");
    for (String b : List.of("pg_ctl", "pg_rewind")) {
      Files.setPosixFilePermissions(dir.resolve(b), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** The wall-clock nanos at which pg_rewind was run, in order. */
  private static List<Long> runs(Path file) throws IOException {
    List<Long> r = new ArrayList<>();
    for (String l : Files.readAllLines(file)) {
      if (!l.isBlank()) {
        r.add(Long.parseLong(l.strip()));
      }
    }
    return r;
  }

  private static void stopIfRunning(PostgresServer s) {
    try {
      PostgresServer.runPostgresBinary(
          "pg_ctl", "stop", "-D", s.dataDir().toString(), "-m", "immediate", "-w");
    } catch (RuntimeException e) {
      // not running
    }
  }

  /**
   * The pair's standby {@code b} promoted past its primary {@code a} (token 7), then one write on
   * each: their histories have diverged, as after a failover the old primary did not see.
   */
  private static WriterEndpoint diverged(PostgresPair pair) throws Exception {
    PostgresServer a = pair.primary();
    PostgresServer b = pair.standby();
    a.execute("CREATE TABLE t (v text)");
    pair.awaitReplayCaughtUp();
    WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
    PostgresPromotionAction.builder()
        .target(endpoint(b))
        .writerEndpoint(writer)
        .fenceResources("orders")
        .build()
        .promote(TestStepContext.promote(7));
    a.execute("INSERT INTO t VALUES ('diverged')");
    b.execute("INSERT INTO t VALUES ('new')");
    return writer;
  }

  /**
   * {@code b} promoted past {@code a}, which took a write after that, and {@code b} runs with
   * {@code full_page_writes = off}: the source pg_rewind refuses once the guard has stopped a.
   */
  private static WriterEndpoint divergedWithASourcePgRewindRefuses(PostgresPair pair)
      throws Exception {
    WriterEndpoint writer = diverged(pair);
    PostgresServer b = pair.standby();
    b.execute("ALTER SYSTEM SET full_page_writes = off");
    b.queryString("SELECT pg_reload_conf()");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> b.queryString("SHOW full_page_writes"), "off"::equals);
    return writer;
  }

  /**
   * pg_ctl, pg_basebackup and pg_rewind in {@code dir}: the real ones, but the first pg_rewind run
   * is killed (SIGKILL) part-way: the wrapper reads its {@code --debug} output through a pipe and
   * kills it at the first chunk of a file it receives from the source, that is once it has begun to
   * overwrite the target's files. What the killed run printed, and its exit status, go to {@code
   * killed}. Later runs are the real pg_rewind, each noted in {@code runs}.
   */
  private static Path binariesKillingTheFirstRewind(Path dir, Path runs, Path killed)
      throws IOException {
    wrappedBinaries(dir, runs);
    Files.writeString(killed, "");
    Files.setPosixFilePermissions(killed, PosixFilePermissions.fromString("rw-rw-rw-"));
    String real = PG_BIN.resolve("pg_rewind").toString();
    Files.writeString(
        dir.resolve("pg_rewind"),
        String.join(
            "\n",
            "#!/bin/sh",
            "date +%s%N >> " + runs,
            "if [ \"$(grep -c . " + runs + ")\" -ne 1 ]; then exec " + real + " \"$@\"; fi",
            "fifo=$(mktemp -u /tmp/baton-rewind-XXXXXX)",
            "mkfifo \"$fifo\" || exit 99",
            real + " \"$@\" --debug > \"$fifo\" 2>&1 &",
            "pid=$!",
            "sent=no",
            "while IFS= read -r line; do",
            "  echo \"$line\" >> " + killed,
            "  case \"$line\" in",
            "    *'received chunk for file'*)",
            "      if [ $sent = no ]; then kill -9 $pid; sent=yes; fi ;;",
            "  esac",
            "done < \"$fifo\"",
            "wait $pid",
            "status=$?",
            "rm -f \"$fifo\"",
            "echo \"kill sent: $sent; exit status $status\" >> " + killed,
            "exit $status",
            ""));
    Files.writeString(
        dir.resolve("pg_basebackup"),
        "#!/bin/sh\nexec " + PG_BIN.resolve("pg_basebackup") + " \"$@\"\n");
    for (String b : List.of("pg_rewind", "pg_basebackup")) {
      Files.setPosixFilePermissions(dir.resolve(b), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    return dir;
  }

  /**
   * {@code b} promoted past {@code a}, which took a write after that; then {@code b} takes about 60
   * MB of new rows, so that pg_rewind has a new relation file to copy and a kill at its first chunk
   * lands well before it is done.
   */
  private static WriterEndpoint divergedWithMuchToCopy(PostgresPair pair) throws Exception {
    WriterEndpoint writer = diverged(pair);
    PostgresServer b = pair.standby();
    // 960-byte rows, under the TOAST threshold: stored as written, not compressed.
    b.execute(
        "CREATE TABLE big AS SELECT g AS id, repeat(md5(random()::text), 30) AS filler"
            + " FROM generate_series(1, 60000) g");
    b.execute("CHECKPOINT");
    return writer;
  }

  /**
   * Whether {@code s} answers as a primary (true), as a standby (false), or not at all (null), with
   * a short connect timeout.
   */
  private static Boolean answersAsPrimary(PostgresServer s) {
    org.postgresql.ds.PGSimpleDataSource ds = s.dataSource();
    ds.setConnectTimeout(2);
    ds.setSocketTimeout(5);
    try (java.sql.Connection c = ds.getConnection();
        java.sql.Statement st = c.createStatement();
        java.sql.ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
      rs.next();
      return !rs.getBoolean(1);
    } catch (java.sql.SQLException e) {
      return null;
    }
  }

  /**
   * The rejoin of the old primary {@code a} with the binaries in {@code bin}, as both tests set it.
   */
  private static PgRewindRejoin.Builder rejoinOf(PostgresServer a, Path bin) {
    return PgRewindRejoin.builder()
        .dataDirectory(a.dataDir())
        .binDirectory(bin)
        .runAs(PostgresServer.asPostgresPrefix())
        .local(endpoint(a))
        .logFile(a.baseDir().resolve("postgres.log"))
        .password(PASSWORD);
  }

  /** A guard of the old primary {@code a}, never active, that rejoins it with {@code rejoin}. */
  private static FormerPrimaryGuard.Builder guardOf(
      PostgresServer a, WriterEndpoint writer, PgRewindRejoin rejoin) {
    return FormerPrimaryGuard.builder()
        .local(endpoint(a))
        .writerEndpoint(writer)
        .isActive(() -> false)
        .rejoin(rejoin);
  }

  @Test
  void aFailingRewindIsRetriedWithABackoffAndReportedOnceUntilARejoinSucceeds() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger("dev.baton.postgres");
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    logger.addAppender(log);
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      WriterEndpoint writer = divergedWithASourcePgRewindRefuses(pair);

      Path runsFile = a.baseDir().resolve("pg_rewind.runs");
      Path bin = wrappedBinaries(a.baseDir().resolve("bin"), runsFile);
      FormerPrimaryGuard guard =
          guardOf(a, writer, rejoinOf(a, bin).build())
              .checkInterval(Duration.ofMillis(100))
              .rejoinRetryBackoff(Duration.ofMillis(500), Duration.ofSeconds(2))
              .build();
      try (guard) {
        guard.start();
        await("the first pg_rewind ran")
            .atMost(Duration.ofSeconds(60))
            .until(() -> runs(runsFile).size() >= 1);
        int first = runs(runsFile).size();
        // Backoff 0.5, 1, 2, 2 s: at most 4 more runs in 6 s (a retry on every 100 ms check made
        // 10 and more), and the guard does keep trying.
        await("pg_rewind is not run on every check")
            .during(Duration.ofSeconds(6))
            .atMost(Duration.ofSeconds(8))
            .until(() -> runs(runsFile).size() - first <= 4);
        List<Long> at = runs(runsFile);
        assertThat(at.size()).as("pg_rewind runs").isGreaterThanOrEqualTo(first + 2);
        long[] backoffMillis = {500, 1000, 2000, 2000, 2000, 2000};
        for (int i = 1; i < at.size() && i <= backoffMillis.length; i++) {
          assertThat((at.get(i) - at.get(i - 1)) / 1_000_000)
              .as("ms between pg_rewind runs %d and %d", i, i + 1)
              .isGreaterThanOrEqualTo(backoffMillis[i - 1]);
        }

        List<ILoggingEvent> errors;
        synchronized (log) {
          errors = log.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
          assertThat(log.list).noneMatch(e -> e.getFormattedMessage().contains(PASSWORD));
        }
        assertThat(errors).as("ERROR lines in a streak of %d failures", at.size()).hasSize(1);
        assertThat(errors.get(0).getFormattedMessage())
            .contains(a.host() + ":" + a.port())
            .contains(b.host() + ":" + b.port())
            .contains("full_page_writes")
            .contains("pg_basebackup -h " + b.host() + " -p " + b.port())
            .contains(a.dataDir().toString());
        assertThat(guard.lastOutcome()).isEqualTo(FormerPrimaryGuard.Outcome.REJOIN_FAILED);
        assertThat(guard.rejoinFailure())
            .hasValueSatisfying(f -> assertThat(f.attempts()).isGreaterThanOrEqualTo(first + 1));
        assertThat(guard.rejoinFailure().orElseThrow().lastError()).contains("full_page_writes");

        // The source is fixed: the next attempt rejoins a, and the streak is over.
        b.execute("ALTER SYSTEM RESET full_page_writes");
        b.queryString("SELECT pg_reload_conf()");
        await("the old primary rejoined as a standby")
            .atMost(Duration.ofSeconds(60))
            .until(() -> guard.lastOutcome() == FormerPrimaryGuard.Outcome.STANDBY);
        assertThat(a.isInRecovery()).isTrue();
        assertThat(guard.rejoinFailure()).isEmpty();
      } finally {
        stopIfRunning(a);
      }
    } finally {
      logger.detachAppender(log);
    }
  }

  /**
   * With {@code recloneOnRewindFailure}, a failed pg_rewind is followed by a pg_basebackup from the
   * new primary: the old primary comes back as a streaming standby on the first attempt, without
   * the new history's diverged write, and its old data directory is kept aside.
   */
  @Test
  void withRecloneOnRewindFailureAFailedRewindIsFollowedByABaseBackup() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger("dev.baton.postgres");
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    logger.addAppender(log);
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      WriterEndpoint writer = divergedWithASourcePgRewindRefuses(pair);
      Path runsFile = a.baseDir().resolve("pg_rewind.runs");
      Path bin = wrappedBinaries(a.baseDir().resolve("bin"), runsFile);
      Files.writeString(
          bin.resolve("pg_basebackup"),
          "#!/bin/sh\nexec " + PG_BIN.resolve("pg_basebackup") + " \"$@\"\n");
      Files.setPosixFilePermissions(
          bin.resolve("pg_basebackup"), PosixFilePermissions.fromString("rwxr-xr-x"));
      FormerPrimaryGuard guard =
          guardOf(a, writer, rejoinOf(a, bin).recloneOnRewindFailure(true).build())
              .checkInterval(Duration.ofHours(1)) // the test checks by hand
              .build();
      try (guard) {
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.REJOINED);
        assertThat(runs(runsFile)).as("pg_rewind runs").hasSize(1);
        assertThat(a.isInRecovery()).isTrue();
        assertThat(guard.rejoinFailure()).isEmpty();
        Path aside = Path.of(a.dataDir() + ".rewind-failed");
        assertThat(aside.resolve("PG_VERSION")).as("the old data directory, kept").exists();
        b.execute("INSERT INTO t VALUES ('streamed')");
        await("the re-cloned server replays from the writer")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () -> a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t"),
                "new,streamed"::equals);
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.STANDBY);
        synchronized (log) {
          assertThat(log.list).noneMatch(e -> e.getLevel() == Level.ERROR);
          assertThat(log.list).noneMatch(e -> e.getFormattedMessage().contains(PASSWORD));
        }
      } finally {
        stopIfRunning(a);
      }
    } finally {
      logger.detachAppender(log);
    }
  }

  /**
   * Issue 32: pg_rewind (the real one, PostgreSQL 15) is killed part-way through, once it has begun
   * copying the new primary's files over the stopped old primary's. What happens:
   *
   * <ul>
   *   <li>the guard never starts the old primary as a writer: from the kill on it never answers as
   *       a primary (it stays down: no {@code standby.signal}, and the guard starts a server only
   *       after a rewind or re-clone completed or with that file in place);
   *   <li>without {@code recloneOnRewindFailure} no later attempt can bring it back: by its first
   *       chunk pg_rewind has already truncated the target files it replaces, the old primary's WAL
   *       segment among them, so every later run fails reading that WAL (PostgreSQL documents it:
   *       "the data folder of the target is likely not in a state that can be recovered"). The
   *       guard says so once at ERROR and retries with its backoff, each retry failing the same
   *       way;
   *   <li>the operator does what that ERROR says (a base backup into a new directory, moved into
   *       place) and the guard starts it as a standby of the writer: the streak is over.
   * </ul>
   *
   * With {@code recloneOnRewindFailure} the guard re-clones by itself (the next test).
   */
  @Test
  void aPgRewindKilledPartWayLeavesTheOldPrimaryDownUntilItIsRecloned() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger("dev.baton.postgres");
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    logger.addAppender(log);
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      WriterEndpoint writer = divergedWithMuchToCopy(pair);
      Path runsFile = a.baseDir().resolve("pg_rewind.runs");
      Path killedFile = a.baseDir().resolve("pg_rewind.killed");
      Path bin = binariesKillingTheFirstRewind(a.baseDir().resolve("bin"), runsFile, killedFile);
      FormerPrimaryGuard guard =
          guardOf(a, writer, rejoinOf(a, bin).build())
              .checkInterval(Duration.ofMillis(100))
              .rejoinRetryBackoff(Duration.ofMillis(500), Duration.ofSeconds(2))
              .build();
      List<String> seenAsPrimary = new CopyOnWriteArrayList<>();
      try (guard) {
        guard.start();
        await("the first pg_rewind was killed")
            .atMost(Duration.ofSeconds(90))
            .until(() -> Files.readString(killedFile).contains("kill sent"));
        assertThat(Files.readString(killedFile))
            .as("the first pg_rewind's output")
            .contains("received chunk for file")
            .contains("kill sent: yes; exit status 137")
            .doesNotContain("Done!");

        // The guard tries again (with its backoff); each retry fails on the damaged WAL, and the
        // old primary never answers as a primary.
        await("two more pg_rewind runs failed")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  if (Boolean.TRUE.equals(answersAsPrimary(a))) {
                    seenAsPrimary.add("after pg_rewind run " + runs(runsFile).size());
                  }
                  return runs(runsFile).size() >= 3
                      && guard.rejoinFailure().map(f -> f.attempts() >= 3).orElse(false);
                });
        assertThat(guard.lastOutcome()).isEqualTo(FormerPrimaryGuard.Outcome.REJOIN_FAILED);
        assertThat(guard.rejoinFailure().orElseThrow().lastError())
            .as("a retry's error")
            .contains("pg_rewind")
            .contains("could not read")
            .contains("pg_wal/");
        assertThat(a.dataDir().resolve("standby.signal")).doesNotExist();
        String dir = a.dataDir().toString();
        List<ILoggingEvent> errors;
        synchronized (log) {
          errors = log.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
        }
        assertThat(errors).as("ERROR lines").hasSize(1);
        assertThat(errors.get(0).getFormattedMessage())
            .contains("exit 137")
            .contains("pg_basebackup -h " + b.host() + " -p " + b.port())
            .contains("-D " + dir + ".new -R -X stream")
            .contains("the guard then starts it as a standby");

        // The operator does what the ERROR says, as the server's OS user, while the guard runs.
        PostgresServer.runPostgresBinary(
            "pg_basebackup",
            "-h",
            b.host(),
            "-p",
            Integer.toString(b.port()),
            "-U",
            "postgres",
            "-D",
            dir + ".new",
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast");
        asPostgres("mv", "--", dir, dir + ".damaged");
        asPostgres("mv", "--", dir + ".new", dir);
        await("the guard starts the re-cloned server as a standby")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(20))
            .until(
                () -> {
                  Boolean primary = answersAsPrimary(a);
                  if (Boolean.TRUE.equals(primary)) {
                    seenAsPrimary.add("after the re-clone");
                  }
                  return Boolean.FALSE.equals(primary) && guard.rejoinFailure().isEmpty();
                });
        assertThat(seenAsPrimary).as("the old primary answered as a primary").isEmpty();
        b.execute("INSERT INTO t VALUES ('streamed')");
        await("the re-cloned server replays from the writer")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () -> a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t"),
                "new,streamed"::equals);
        synchronized (log) {
          assertThat(log.list).noneMatch(e -> e.getFormattedMessage().contains(PASSWORD));
        }
      } finally {
        stopIfRunning(a);
      }
    } finally {
      logger.detachAppender(log);
    }
  }

  /**
   * Runs {@code command} as the postgres user (as an operator would), failing on a non-zero exit.
   */
  private static void asPostgres(String... command) throws Exception {
    List<String> cmd = new ArrayList<>(PostgresServer.asPostgresPrefix());
    cmd.addAll(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("%s: %s", cmd, out).isZero();
  }

  /**
   * As above, with {@code recloneOnRewindFailure}: the killed pg_rewind is followed at once by a
   * pg_basebackup from the new primary, and the old primary is a standby after the first attempt.
   */
  @Test
  void withRecloneAPgRewindKilledPartWayIsFollowedByABaseBackup() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      WriterEndpoint writer = divergedWithMuchToCopy(pair);
      Path runsFile = a.baseDir().resolve("pg_rewind.runs");
      Path killedFile = a.baseDir().resolve("pg_rewind.killed");
      Path bin = binariesKillingTheFirstRewind(a.baseDir().resolve("bin"), runsFile, killedFile);
      FormerPrimaryGuard guard =
          guardOf(a, writer, rejoinOf(a, bin).recloneOnRewindFailure(true).build())
              .checkInterval(Duration.ofHours(1)) // the test checks by hand
              .build();
      try (guard) {
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.REJOINED);
        assertThat(Files.readString(killedFile))
            .contains("received chunk for file")
            .contains("kill sent: yes; exit status 137")
            .doesNotContain("Done!");
        assertThat(runs(runsFile)).as("pg_rewind runs").hasSize(1);
        assertThat(a.isInRecovery()).isTrue();
        assertThat(Path.of(a.dataDir() + ".rewind-failed").resolve("PG_VERSION"))
            .as("the half-rewound data directory, kept")
            .exists();
        b.execute("INSERT INTO t VALUES ('streamed')");
        await("the re-cloned server replays from the writer")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () -> a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t"),
                "new,streamed"::equals);
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.STANDBY);
      } finally {
        stopIfRunning(a);
      }
    }
  }
}
