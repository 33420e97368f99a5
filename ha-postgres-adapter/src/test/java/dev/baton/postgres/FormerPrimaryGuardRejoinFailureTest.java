package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.postgres.testing.ClusterKv;
import dev.baton.postgres.testing.PostgresPair;
import dev.baton.postgres.testing.PostgresServer;
import dev.baton.postgres.testing.TestActionContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
   * {@code b} promoted past {@code a}, which took a write after that, and {@code b} runs with
   * {@code full_page_writes = off}: the source pg_rewind refuses once the guard has stopped a.
   */
  private static WriterEndpoint divergedWithASourcePgRewindRefuses(PostgresPair pair)
      throws Exception {
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
        .promote(TestActionContext.promote(7));
    a.execute("INSERT INTO t VALUES ('diverged')");
    b.execute("INSERT INTO t VALUES ('new')");
    b.execute("ALTER SYSTEM SET full_page_writes = off");
    b.queryString("SELECT pg_reload_conf()");
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> b.queryString("SHOW full_page_writes"), "off"::equals);
    return writer;
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
}
