package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.postgres.testing.PostgresServer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The public SQL fence protocol (docs/fence-protocol.md) as a non-Java client sees it: the schema
 * file installed with real {@code psql}, transactions that call {@code baton.check_fence} by hand,
 * and the same objects whether the file or {@link FenceSchema#install} installed them.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FenceSchemaSqlFileTest {
  private static final String SQL_FILE = "fence-schema-v1.sql";

  /** A fenced write as an application in any language sends it (the docs' example). */
  private static final String FENCED_TRANSACTION =
      String.join(
          "\n",
          "BEGIN;",
          "SELECT baton.check_fence('orders', :token);",
          "INSERT INTO orders_log (token) VALUES (:token);",
          "COMMIT;",
          "");

  @TempDir static Path tmp;
  private static PostgresServer server;
  private static Path schemaFile;
  private static Path transactionFile;

  @BeforeAll
  static void start() throws IOException {
    server = PostgresServer.startPrimary("fencesql");
    schemaFile = tmp.resolve(SQL_FILE);
    try (InputStream in = FenceSchema.class.getResourceAsStream(SQL_FILE)) {
      assertThat(in).as("resource dev/baton/postgres/" + SQL_FILE).isNotNull();
      Files.copy(in, schemaFile);
    }
    transactionFile = Files.writeString(tmp.resolve("fenced-write.sql"), FENCED_TRANSACTION);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void theFileInstallsTwiceCleanlyWithPsqlAndJavaSeesItInstalled() throws Exception {
    String db = newDatabase("twice");
    for (int run = 1; run <= 2; run++) {
      Psql r = installFile(db);
      assertThat(r.exit()).as("psql run %d:\n%s", run, r.output()).isZero();
      assertThat(r.output()).doesNotContain("ERROR").doesNotContain("WARNING").contains("COMMIT");
    }
    assertThat(
            query(
                db,
                "SELECT string_agg(version || ' ' || description, ',')"
                    + " FROM baton.schema_version"))
        .isEqualTo("1 fence table, check_fence, require_fence");
    assertThat(FenceSchema.defaultSchema().install(dataSource(db))).isEqualTo(1);
    assertThat(query(db, "SELECT count(*) FROM baton.schema_version")).isEqualTo("1");
    assertThat(
            query(
                db,
                "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc"
                    + " WHERE pronamespace = 'baton'::regnamespace"))
        .isEqualTo("check_fence,require_fence");
  }

  @Test
  void aTransactionWithAStaleTokenFailsWithBt001AndWritesNothing() throws Exception {
    String db = newDatabase("stale");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "CREATE TABLE orders_log (id bigserial PRIMARY KEY, token bigint NOT NULL)");
    PostgresFence fence =
        PostgresFence.builder(dataSource(db))
            .resource("orders")
            .terminateBlockersAfter(null)
            .build();
    fence.advance(7, Duration.ofSeconds(10));

    Psql ok = psqlFile(db, transactionFile, "-v", "token=7");
    assertThat(ok.exit()).as(ok.output()).isZero();
    assertThat(query(db, "SELECT string_agg(token::text, ',') FROM orders_log")).isEqualTo("7");

    fence.advance(8, Duration.ofSeconds(10)); // what a promotion does: UPDATE the row to 8
    Psql stale = psqlFile(db, transactionFile, "-v", "token=7");
    assertThat(stale.exit()).as(stale.output()).isEqualTo(3); // psql: ON_ERROR_STOP hit
    assertThat(stale.output())
        .contains(
            "ERROR:  BT001: stale fencing token for resource \"orders\": offered token 7,"
                + " the fence holds token 8")
        .contains("DETAIL:  fenced_token=8")
        .doesNotContain("INSERT 0 1");
    try (Connection c = dataSource(db).getConnection()) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> checkFence(c, "orders", 7))
          .isInstanceOf(SQLException.class)
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo(FenceSchema.SQLSTATE_STALE_TOKEN);
      c.rollback();
    }
    assertThat(query(db, "SELECT string_agg(token::text, ',') FROM orders_log")).isEqualTo("7");

    Psql current = psqlFile(db, transactionFile, "-v", "token=8");
    assertThat(current.exit()).as(current.output()).isZero();
    assertThat(query(db, "SELECT string_agg(token::text, ',' ORDER BY id) FROM orders_log"))
        .isEqualTo("7,8");
  }

  @Test
  void theOtherRefusalsHaveTheirSqlstatesAndAGuardInstalledWithSqlHolds() throws Exception {
    String db = newDatabase("states");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "INSERT INTO baton.fence (resource, token) VALUES ('orders', 5)");
    execute(db, "CREATE TABLE guarded (id int)");
    // The guard as docs/fence-protocol.md installs it, in plain SQL.
    execute(
        db,
        "CREATE TRIGGER baton_fence_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE"
            + " ON guarded FOR EACH STATEMENT EXECUTE FUNCTION baton.require_fence('orders')");
    try (Connection c = dataSource(db).getConnection()) {
      c.setAutoCommit(false);
      assertThat(sqlStateOf(() -> checkFence(c, "no-such-resource", 5), c))
          .isEqualTo(FenceSchema.SQLSTATE_NO_FENCE);
      assertThat(sqlStateOf(() -> checkFence(c, "orders", 6), c))
          .isEqualTo(FenceSchema.SQLSTATE_TOKEN_AHEAD);
      assertThat(sqlStateOf(() -> insertGuarded(c), c))
          .isEqualTo(FenceSchema.SQLSTATE_UNFENCED_WRITE);
      execute(db, "INSERT INTO baton.fence (resource, token) VALUES ('other', 1)");
      checkFence(c, "other", 1); // the fence of another resource does not open this table
      assertThat(sqlStateOf(() -> insertGuarded(c), c))
          .isEqualTo(FenceSchema.SQLSTATE_UNFENCED_WRITE);
      assertThat(checkFence(c, "orders", 5)).isEqualTo(5);
      insertGuarded(c);
      c.commit();
      // The mark ends with the transaction: the next one must check again.
      assertThat(sqlStateOf(() -> insertGuarded(c), c))
          .isEqualTo(FenceSchema.SQLSTATE_UNFENCED_WRITE);
    }
    assertThat(query(db, "SELECT count(*) FROM guarded")).isEqualTo("1");
  }

  @Test
  void javaAndTheFileInstallTheSameObjects() throws Exception {
    String fromFile = newDatabase("from_file");
    String fromJava = newDatabase("from_java");
    assertThat(installFile(fromFile).exit()).isZero();
    FenceSchema.defaultSchema().install(dataSource(fromJava));
    FenceSchema.named("app_fence").install(dataSource(fromJava));

    String expected = describe(fromFile, "baton");
    assertThat(expected)
        .contains("SECURITY DEFINER")
        .contains("SET search_path TO 'pg_catalog', 'pg_temp'")
        .contains("FOR SHARE")
        .contains("function baton.require_fence()")
        .contains("relation fence r")
        .contains("constraint fence_token_check CHECK ((token >= 0))");
    assertThat(describe(fromJava, "baton")).isEqualTo(expected);
    // Another schema differs only in its name (the guard's setting name keeps its 'baton.f').
    String other = describe(fromJava, "app_fence");
    assertThat(other)
        .contains("'baton.f' || md5('app_fence:' || p_resource)")
        .doesNotContain("baton:");
    assertThat(other.replace("app_fence", "baton")).isEqualTo(expected);
  }

  @Test
  void aSchemaNewerThanVersion1IsRefusedByTheFileAndByJava() throws Exception {
    String db = newDatabase("newer");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "INSERT INTO baton.schema_version (version, description) VALUES (2, 'future')");
    String before = describe(db, "baton");
    Psql r = installFile(db);
    assertThat(r.exit()).as(r.output()).isEqualTo(3);
    assertThat(r.output()).contains("BT000").contains("is at version 2");
    assertThatThrownBy(() -> FenceSchema.defaultSchema().install(dataSource(db)))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("version 2")
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("BT000");
    assertThat(describe(db, "baton")).isEqualTo(before);
  }

  // ---------------------------------------------------------------------------------------------

  private record Psql(int exit, String output) {}

  private static Psql installFile(String db) throws Exception {
    return psqlFile(db, schemaFile);
  }

  private static Psql psqlFile(String db, Path file, String... extra) throws Exception {
    List<String> args =
        new ArrayList<>(List.of("-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"));
    args.addAll(List.of(extra));
    args.addAll(List.of("-f", file.toString()));
    return psql(db, args);
  }

  private static Psql psql(String db, List<String> args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                PostgresServer.bin("psql"),
                "-X",
                "-h",
                server.host(),
                "-p",
                Integer.toString(server.port()),
                "-U",
                PostgresServer.SUPERUSER,
                "-d",
                db));
    cmd.addAll(args);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    // Nothing from the environment (PGOPTIONS, PGSERVICE, ...) may change what psql does.
    pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("psql did not exit: " + output);
    }
    return new Psql(p.exitValue(), output);
  }

  private static String newDatabase(String name) {
    server.execute("CREATE DATABASE " + name);
    return name;
  }

  private static PGSimpleDataSource dataSource(String db) {
    PGSimpleDataSource ds = server.dataSource();
    ds.setDatabaseName(db);
    return ds;
  }

  private static void execute(String db, String sql) throws SQLException {
    try (Connection c = dataSource(db).getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String query(String db, String sql) throws SQLException {
    try (Connection c = dataSource(db).getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static long checkFence(Connection c, String resource, long token) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT baton.check_fence(?, ?)")) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static void insertGuarded(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO guarded VALUES (1)");
    }
  }

  private interface SqlCall {
    void run() throws SQLException;
  }

  /** Runs {@code call}, which must fail, rolls the transaction back and returns the SQLSTATE. */
  private static String sqlStateOf(SqlCall call, Connection c) throws SQLException {
    try {
      call.run();
    } catch (SQLException e) {
      c.rollback();
      return e.getSQLState();
    }
    c.rollback();
    throw new AssertionError("the call succeeded");
  }

  /** Every object of {@code schema}, with its definition, one per line in a stable order. */
  private static String describe(String db, String schema) throws SQLException {
    String sql =
        "SELECT string_agg(d, E'\\n' ORDER BY d) FROM ("
            + " SELECT 'function ' || p.oid::regprocedure || E'\\n' || pg_get_functiondef(p.oid) AS d"
            + "   FROM pg_proc p WHERE p.pronamespace = ?::regnamespace"
            + " UNION ALL SELECT 'relation ' || c.relname || ' ' || c.relkind::text"
            + "   FROM pg_class c WHERE c.relnamespace = ?::regnamespace"
            + " UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type"
            + "   || ' ' || is_nullable || ' ' || coalesce(column_default, '')"
            + "   FROM information_schema.columns WHERE table_schema = ?"
            + " UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid)"
            + "   FROM pg_constraint WHERE connamespace = ?::regnamespace"
            + ") objects";
    try (Connection c = dataSource(db).getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 1; i <= 4; i++) {
        ps.setString(i, schema);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }
}
