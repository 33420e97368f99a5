package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.postgres.PostgresPair;
import dev.baton.testing.postgres.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rejoin's PostgreSQL password reaches {@code pg_rewind} through a password file, never its
 * environment or its arguments, and the rejoined standby authenticates with it. The new primary
 * requires a SCRAM password of the rewind role over TCP: the fixture's loopback trust would
 * otherwise accept a password that never arrived.
 *
 * <p>{@code pg_rewind} is the real one, started through a wrapper in the rejoin's {@code
 * binDirectory} that first writes down its environment and arguments.
 */
class RejoinPasswordTest {
  private static final String PASSWORD = "rewind-secret-4f1c:with\\odd:chars";

  @TempDir Path tools;

  @Test
  void pgRewindReadsThePasswordFromAFileAndTheRejoinedStandbyStreamsWithIt() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      a.execute("INSERT INTO t VALUES ('common')");
      a.execute(
          "CREATE ROLE rewinder LOGIN SUPERUSER REPLICATION PASSWORD '"
              + PASSWORD.replace("'", "''")
              + "'");
      pair.awaitReplayCaughtUp();
      b.execute("SELECT pg_promote(true, 60)");
      a.execute("INSERT INTO t VALUES ('diverged')"); // a stale client reached the old primary
      requirePassword(b, "rewinder");

      Path record = tools.resolve("pg_rewind.seen");
      Path bin = binDirectoryRecording(record);
      PgRewindRejoin rejoin =
          PgRewindRejoin.builder()
              .dataDirectory(a.dataDir())
              .binDirectory(bin)
              .runAs(PostgresServer.asPostgresPrefix())
              .local(PostgresEndpoint.of(a.host(), a.port()))
              .user("rewinder")
              .password(PASSWORD)
              .logFile(a.baseDir().resolve("postgres.log"))
              .build();

      PgRewindRejoin.Outcome outcome = rejoin.rejoin(PostgresEndpoint.of(b.host(), b.port()));

      assertThat(outcome).isEqualTo(PgRewindRejoin.Outcome.REJOINED);
      String seen = Files.readString(record, StandardCharsets.UTF_8);
      Path passwordFile = a.dataDir().getParent().resolve("baton-rejoin.pgpass");
      assertThat(seen)
          .as("pg_rewind's environment and arguments")
          .doesNotContain("rewind-secret")
          .doesNotContain("PGPASSWORD")
          .contains("PGPASSFILE=" + passwordFile);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile)))
          .isEqualTo("rw-------");
      assertThat(Files.getOwner(passwordFile).getName())
          .isEqualTo(PostgresServer.asPostgresPrefix().isEmpty() ? whoAmI() : "postgres");
      assertThat(Files.readString(a.dataDir().resolve("postgresql.auto.conf")))
          .as("the standby's configuration names the file, not the password")
          .doesNotContain("rewind-secret")
          .contains(passwordFile.toString());

      b.execute("INSERT INTO t VALUES ('streamed')");
      await("the rejoined standby streams from the new primary with the password")
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(
              () ->
                  a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t")
                      .equals("common,streamed"));
      assertThat(b.queryString("SELECT string_agg(usename, ',') FROM pg_stat_replication"))
          .isEqualTo("rewinder");
    }
  }

  /** Makes {@code server} ask {@code role} for its SCRAM password on every TCP connection. */
  private static void requirePassword(PostgresServer server, String role) throws Exception {
    Path hba = server.dataDir().resolve("pg_hba.conf");
    String lines =
        "host all "
            + role
            + " 0.0.0.0/0 scram-sha-256\nhost replication "
            + role
            + " 0.0.0.0/0 scram-sha-256\n";
    Files.writeString(hba, lines + Files.readString(hba));
    server.execute("SELECT pg_reload_conf()");
  }

  /**
   * A bin directory whose {@code pg_rewind} writes its environment and arguments to {@code record}
   * and then runs the real one; {@code pg_ctl} and {@code pg_basebackup} are the real ones.
   */
  private Path binDirectoryRecording(Path record) throws Exception {
    Path bin = Files.createDirectories(tools.resolve("bin"));
    Files.setPosixFilePermissions(tools, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String real : List.of("pg_ctl", "pg_basebackup")) {
      Files.createSymbolicLink(bin.resolve(real), Path.of(PostgresServer.bin(real)));
    }
    Path wrapper = bin.resolve("pg_rewind");
    Files.writeString(
        wrapper,
        "#!/bin/sh\n"
            + "{ env; printf 'ARGS:'; printf ' %s' \"$@\"; echo; } > '"
            + record
            + "'\n"
            + "exec '"
            + PostgresServer.bin("pg_rewind")
            + "' \"$@\"\n");
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    return bin;
  }

  private static String whoAmI() {
    return System.getProperty("user.name");
  }
}
