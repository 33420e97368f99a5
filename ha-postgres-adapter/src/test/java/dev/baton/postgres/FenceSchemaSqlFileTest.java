package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testing.postgres.PostgresServer;
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
  /** The installer this library ships (the newest version). */
  private static final String SQL_FILE = "fence-schema-v3.sql";

  /**
   * Version 1's installer as it was released (a test resource now): what databases being upgraded
   * were installed with.
   */
  private static final String V1_FILE = "fence-schema-v1.sql";

  /** Version 2's installer as it was released (a test resource now). */
  private static final String V2_FILE = "fence-schema-v2.sql";

  private static final String VERSION_ROWS =
      "1 fence table, check_fence, require_fence,"
          + "2 require_fence passes the row on when declared FOR EACH ROW;"
          + " its refusal names check_fence,"
          + "3 fence_lease: a time bound (valid_until) that check_fence and the commit enforce";

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
  private static Path v1File;
  private static Path v2File;
  private static Path transactionFile;

  @BeforeAll
  static void start() throws IOException {
    server = PostgresServer.startPrimary("fencesql");
    schemaFile = tmp.resolve(SQL_FILE);
    try (InputStream in = FenceSchema.class.getResourceAsStream(SQL_FILE)) {
      assertThat(in).as("resource dev/baton/postgres/" + SQL_FILE).isNotNull();
      Files.copy(in, schemaFile);
    }
    v1File = tmp.resolve(V1_FILE);
    try (InputStream in = FenceSchemaSqlFileTest.class.getResourceAsStream(V1_FILE)) {
      assertThat(in).as("test resource dev/baton/postgres/" + V1_FILE).isNotNull();
      Files.copy(in, v1File);
    }
    v2File = tmp.resolve(V2_FILE);
    try (InputStream in = FenceSchemaSqlFileTest.class.getResourceAsStream(V2_FILE)) {
      assertThat(in).as("test resource dev/baton/postgres/" + V2_FILE).isNotNull();
      Files.copy(in, v2File);
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
    assertThat(versions(db)).isEqualTo(VERSION_ROWS);
    assertThat(FenceSchema.defaultSchema().install(dataSource(db))).isEqualTo(3);
    assertThat(versions(db)).isEqualTo(VERSION_ROWS);
    assertThat(
            query(
                db,
                "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc"
                    + " WHERE pronamespace = 'baton'::regnamespace"))
        .isEqualTo("check_fence,check_fence_at_commit,require_fence");
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

  /**
   * Issue 28 item 7: a guard declared {@code FOR EACH ROW}, as most trigger examples are written.
   * Under version 1 a checked transaction answered {@code INSERT 0 0} and {@code COMMIT}: the guard
   * returned NULL, which a BEFORE row trigger reads as "skip this row". Now every row of a checked
   * transaction is written, an unchecked or stale one fails loudly and writes nothing, and what
   * psql reports always matches what the table holds.
   */
  @Test
  void aGuardDeclaredPerRowWritesTheRowsOfACheckedTransactionAndRefusesTheRestLoudly()
      throws Exception {
    String db = newDatabase("per_row");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)");
    execute(db, "CREATE TABLE audit (id int PRIMARY KEY, item text NOT NULL)");
    execute(
        db,
        "CREATE TRIGGER orders_guard BEFORE INSERT OR UPDATE OR DELETE ON orders"
            + " FOR EACH ROW EXECUTE FUNCTION baton.require_fence('orders')");
    execute(
        db,
        "CREATE TRIGGER audit_guard AFTER INSERT OR UPDATE OR DELETE ON audit"
            + " FOR EACH ROW EXECUTE FUNCTION baton.require_fence('orders')");
    PostgresFence fence =
        PostgresFence.builder(dataSource(db))
            .resource("orders")
            .terminateBlockersAfter(null)
            .build();
    fence.advance(13, Duration.ofSeconds(10));

    Path checked =
        Files.writeString(
            tmp.resolve("per-row-checked.sql"),
            String.join(
                "\n",
                "BEGIN;",
                "SELECT baton.check_fence('orders', :token);",
                "INSERT INTO orders (id, item) VALUES (1, 'book'), (2, 'pen'), (3, 'cup');",
                "UPDATE orders SET item = 'ink' WHERE id = 2;",
                "DELETE FROM orders WHERE id = 3;",
                "INSERT INTO audit (id, item) VALUES (1, 'a'), (2, 'b');",
                "UPDATE audit SET item = 'c' WHERE id = 2;",
                "DELETE FROM audit WHERE id = 1;",
                "COMMIT;",
                ""));
    Psql ok = psqlFile(db, checked, "-v", "token=13");
    assertThat(ok.exit()).as(ok.output()).isZero();
    assertThat(ok.output())
        .as("what psql reported for the checked transaction")
        .containsSubsequence(
            "INSERT 0 3", "UPDATE 1", "DELETE 1", "INSERT 0 2", "UPDATE 1", "DELETE 1", "COMMIT");
    assertThat(rows(db, "orders"))
        .as("orders after the checked transaction")
        .isEqualTo("1:book,2:ink");
    assertThat(rows(db, "audit")).as("audit after the checked transaction").isEqualTo("2:c");

    // No check in the transaction: the first write fails, naming what to call, and nothing of it
    // is written; psql stops (ON_ERROR_STOP) with status 3.
    for (String write :
        List.of(
            "INSERT INTO orders (id, item) VALUES (4, 'hat');",
            "UPDATE orders SET item = 'hat' WHERE id = 1;",
            "DELETE FROM orders WHERE id = 1;",
            "INSERT INTO audit (id, item) VALUES (4, 'hat');",
            "DELETE FROM audit WHERE id = 2;")) {
      Path unchecked =
          Files.writeString(
              tmp.resolve("per-row-unchecked.sql"), "BEGIN;\n" + write + "\nCOMMIT;\n");
      Psql refused = psqlFile(db, unchecked);
      assertThat(refused.exit()).as("%s%n%s", write, refused.output()).isEqualTo(3);
      assertThat(refused.output())
          .as(write)
          .contains("ERROR:  BT004: write to public.")
          .contains("did not check the fence of resource \"orders\"")
          .contains("call baton.check_fence('orders', token) first in the transaction")
          .doesNotContain("FencedDataSource")
          .doesNotContainPattern("(?m)^INSERT 0")
          .doesNotContainPattern("(?m)^UPDATE \\d")
          .doesNotContainPattern("(?m)^DELETE \\d")
          .doesNotContainPattern("(?m)^COMMIT$");
    }
    // The same without a transaction block (psql's auto-commit): refused as well.
    Psql autoCommit = psqlCommand(db, "INSERT INTO orders (id, item) VALUES (5, 'cap')");
    assertThat(autoCommit.exit()).as(autoCommit.output()).isEqualTo(1);
    assertThat(autoCommit.output()).contains("BT004").doesNotContainPattern("(?m)^INSERT 0");

    // A stale token: the check itself fails (BT001) and no row is written.
    fence.advance(14, Duration.ofSeconds(10));
    Psql stale = psqlFile(db, checked, "-v", "token=13");
    assertThat(stale.exit()).as(stale.output()).isEqualTo(3);
    assertThat(stale.output())
        .contains("ERROR:  BT001: stale fencing token for resource \"orders\"")
        .contains("DETAIL:  fenced_token=14")
        .doesNotContainPattern("(?m)^INSERT 0")
        .doesNotContainPattern("(?m)^COMMIT$");
    assertThat(rows(db, "orders")).as("orders after the refusals").isEqualTo("1:book,2:ink");
    assertThat(rows(db, "audit")).as("audit after the refusals").isEqualTo("2:c");
  }

  /**
   * An INSTEAD OF trigger on a view cannot be a guard: the guard writes nothing, so passing the row
   * on would report a row that no one wrote, and returning NULL drops it silently. It refuses
   * loudly at the first write instead, checked or not; so does a guard declared without the
   * resource it guards.
   */
  @Test
  void aGuardDeclaredInsteadOfOnAViewOrWithoutItsResourceRefusesEveryWriteLoudly()
      throws Exception {
    String db = newDatabase("instead_of");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "INSERT INTO baton.fence (resource, token) VALUES ('orders', 13)");
    execute(db, "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)");
    execute(db, "CREATE VIEW orders_view AS SELECT id, item FROM orders");
    execute(
        db,
        "CREATE TRIGGER orders_view_guard INSTEAD OF INSERT OR UPDATE OR DELETE ON orders_view"
            + " FOR EACH ROW EXECUTE FUNCTION baton.require_fence('orders')");
    Path checked =
        Files.writeString(
            tmp.resolve("instead-of.sql"),
            String.join(
                "\n",
                "BEGIN;",
                "SELECT baton.check_fence('orders', 13);",
                "INSERT INTO orders_view (id, item) VALUES (1, 'book');",
                "COMMIT;",
                ""));
    Psql r = psqlFile(db, checked);
    assertThat(r.exit()).as(r.output()).isEqualTo(3);
    assertThat(r.output())
        .contains("ERROR:  39P01: baton.require_fence on public.orders_view is declared INSTEAD OF")
        .doesNotContainPattern("(?m)^INSERT 0")
        .doesNotContainPattern("(?m)^COMMIT$");
    assertThat(query(db, "SELECT count(*) FROM orders")).isEqualTo("0");

    // Declared without its resource argument: nothing could ever pass it, so it says so.
    execute(
        db,
        "CREATE TRIGGER orders_guard BEFORE INSERT ON orders"
            + " FOR EACH ROW EXECUTE FUNCTION baton.require_fence()");
    Psql noResource = psqlCommand(db, "INSERT INTO orders (id, item) VALUES (1, 'book')");
    assertThat(noResource.exit()).as(noResource.output()).isEqualTo(1);
    assertThat(noResource.output())
        .contains(
            "ERROR:  39P01: baton.require_fence on public.orders is declared without a resource")
        .doesNotContainPattern("(?m)^INSERT 0");
    assertThat(query(db, "SELECT count(*) FROM orders")).isEqualTo("0");
  }

  /**
   * A database installed with version 1's file, with a fence row, data and guard triggers of both
   * kinds, upgraded in place to version 2, by the file (psql) and by {@link FenceSchema#install}.
   * The fence row and the existing triggers are untouched and keep working; the per-row guard,
   * which dropped every row under version 1, now writes; the result is the same schema as a fresh
   * version 2 install; version 1's installer refuses the upgraded database.
   */
  @Test
  void version1UpgradesInPlaceAndItsPerRowGuardThenWrites() throws Exception {
    assertThat(lockLine(v1File))
        .as("every version's installer takes the same advisory lock")
        .isEqualTo(lockLine(schemaFile))
        .contains("pg_advisory_xact_lock(108170704809473)");
    String fresh = newDatabase("fresh_v2");
    assertThat(installFile(fresh).exit()).isZero();
    String expected = describe(fresh, "baton");

    for (String how : List.of("psql", "java")) {
      String db = newDatabase("upgrade_by_" + how);
      Psql v1 = psqlFile(db, v1File);
      assertThat(v1.exit()).as(v1.output()).isZero();
      assertThat(versions(db)).isEqualTo("1 fence table, check_fence, require_fence");
      execute(db, "INSERT INTO baton.fence (resource, token) VALUES ('orders', 13)");
      execute(db, "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)");
      execute(db, "CREATE TABLE ledger (id int PRIMARY KEY, item text NOT NULL)");
      execute(
          db,
          "CREATE TRIGGER orders_guard BEFORE INSERT OR UPDATE OR DELETE ON orders"
              + " FOR EACH ROW EXECUTE FUNCTION baton.require_fence('orders')");
      execute(
          db,
          "CREATE TRIGGER baton_fence_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE"
              + " ON ledger FOR EACH STATEMENT EXECUTE FUNCTION baton.require_fence('orders')");
      Path write = writeBoth(1, "book");
      Psql before = psqlFile(db, write);
      assertThat(before.exit()).as(before.output()).isZero();
      // Version 1's defect, as issue 28 reported it: the per-row guard drops the checked row.
      assertThat(before.output()).containsSubsequence("INSERT 0 0", "INSERT 0 1", "COMMIT");
      assertThat(rows(db, "orders")).isEmpty();
      assertThat(rows(db, "ledger")).isEqualTo("1:book");
      String fenceRow =
          query(db, "SELECT resource || ' ' || token || ' ' || updated_at FROM baton.fence");
      String triggers =
          query(
              db,
              "SELECT string_agg(tgrelid::regclass || ' ' || tgname || ' ' || tgfoid::regproc,"
                  + " ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal"
                  + " AND tgrelid::regclass::text NOT LIKE 'baton.%'");

      if (how.equals("psql")) {
        Psql up = installFile(db);
        assertThat(up.exit()).as(up.output()).isZero();
        assertThat(up.output()).doesNotContain("ERROR").doesNotContain("WARNING");
      } else {
        assertThat(FenceSchema.defaultSchema().install(dataSource(db))).isEqualTo(3);
      }

      assertThat(versions(db)).isEqualTo(VERSION_ROWS);
      assertThat(describe(db, "baton")).as("upgraded by " + how).isEqualTo(expected);
      assertThat(query(db, "SELECT resource || ' ' || token || ' ' || updated_at FROM baton.fence"))
          .isEqualTo(fenceRow);
      assertThat(
              query(
                  db,
                  "SELECT string_agg(tgrelid::regclass || ' ' || tgname || ' ' || tgfoid::regproc,"
                      + " ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal"
                      + " AND tgrelid::regclass::text NOT LIKE 'baton.%'"))
          .isEqualTo(triggers)
          .contains("orders_guard baton.require_fence")
          .contains("baton_fence_guard baton.require_fence");

      Psql after = psqlFile(db, writeBoth(2, "pen"));
      assertThat(after.exit()).as(after.output()).isZero();
      assertThat(after.output()).containsSubsequence("INSERT 0 1", "INSERT 0 1", "COMMIT");
      assertThat(rows(db, "orders")).isEqualTo("2:pen");
      assertThat(rows(db, "ledger")).isEqualTo("1:book,2:pen");
      for (String table : List.of("orders", "ledger")) {
        Psql unchecked = psqlCommand(db, "INSERT INTO " + table + " (id, item) VALUES (3, 'cup')");
        assertThat(unchecked.exit()).as(unchecked.output()).isEqualTo(1);
        assertThat(unchecked.output())
            .contains("ERROR:  BT004: write to public." + table + " refused")
            .contains("call baton.check_fence('orders', token) first in the transaction")
            .doesNotContainPattern("(?m)^INSERT 0");
      }
      assertThat(rows(db, "orders")).isEqualTo("2:pen");
      assertThat(rows(db, "ledger")).isEqualTo("1:book,2:pen");

      Psql downgrade = psqlFile(db, v1File);
      assertThat(downgrade.exit()).as(downgrade.output()).isEqualTo(3);
      assertThat(downgrade.output()).contains("BT000").contains("is at version 3");
      assertThat(describe(db, "baton")).isEqualTo(expected);
    }
  }

  /**
   * Issue 32: a database at version 2, with a fence row, a guard and a writer transaction open
   * across the upgrade, upgraded in place to version 3 by the file (psql) and by {@link
   * FenceSchema#install}. The token is kept, the open transaction and new writers with the old
   * token commit as before (no lease row: unbounded, version 2's behaviour), the result is the same
   * schema as a fresh install, and version 2's installer refuses the upgraded database.
   */
  @Test
  void version2UpgradesInPlaceKeepingItsTokenAndItsWritersStillCommitUnbounded() throws Exception {
    assertThat(lockLine(v2File)).isEqualTo(lockLine(schemaFile));
    String fresh = newDatabase("fresh_v3");
    assertThat(installFile(fresh).exit()).isZero();
    String expected = describe(fresh, "baton");
    for (String how : List.of("psql", "java")) {
      String db = newDatabase("v2_upgrade_by_" + how);
      Psql v2 = psqlFile(db, v2File);
      assertThat(v2.exit()).as(v2.output()).isZero();
      assertThat(versions(db)).isEqualTo(VERSION_ROWS.substring(0, VERSION_ROWS.indexOf(",3 ")));
      execute(db, "INSERT INTO baton.fence (resource, token) VALUES ('orders', 21)");
      execute(db, "CREATE TABLE orders_log (id bigserial PRIMARY KEY, token bigint NOT NULL)");
      execute(
          db,
          "CREATE TRIGGER baton_fence_guard BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE"
              + " ON orders_log FOR EACH STATEMENT EXECUTE FUNCTION baton.require_fence('orders')");
      Psql before = psqlFile(db, transactionFile, "-v", "token=21");
      assertThat(before.exit()).as(before.output()).isZero();
      String fenceRow =
          query(db, "SELECT resource || ' ' || token || ' ' || updated_at FROM baton.fence");

      try (Connection open = dataSource(db).getConnection()) {
        open.setAutoCommit(false);
        assertThat(checkFence(open, "orders", 21)).isEqualTo(21); // version 2's check_fence
        try (Statement s = open.createStatement()) {
          s.executeUpdate("INSERT INTO orders_log (token) VALUES (21)");
        }
        if (how.equals("psql")) {
          Psql up = installFile(db);
          assertThat(up.exit()).as(up.output()).isZero();
          assertThat(up.output()).doesNotContain("ERROR").doesNotContain("WARNING");
        } else {
          assertThat(FenceSchema.defaultSchema().install(dataSource(db))).isEqualTo(3);
        }
        open.commit(); // checked under version 2, commits under version 3
      }

      assertThat(versions(db)).isEqualTo(VERSION_ROWS);
      assertThat(describe(db, "baton")).as("upgraded by " + how).isEqualTo(expected);
      assertThat(query(db, "SELECT resource || ' ' || token || ' ' || updated_at FROM baton.fence"))
          .isEqualTo(fenceRow);
      assertThat(query(db, "SELECT count(*) FROM baton.fence_lease")).isEqualTo("0");
      assertThat(
              query(
                  db,
                  "SELECT tgname || ' ' || tgdeferrable || ' ' || tginitdeferred FROM pg_trigger"
                      + " WHERE tgrelid = 'baton.fence_commit_check'::regclass"))
          .isEqualTo("fence_lease_at_commit true true");
      Psql after = psqlFile(db, transactionFile, "-v", "token=21");
      assertThat(after.exit()).as(after.output()).isZero();
      assertThat(after.output()).contains("INSERT 0 1").contains("COMMIT");
      assertThat(query(db, "SELECT string_agg(token::text, ',' ORDER BY id) FROM orders_log"))
          .isEqualTo("21,21,21");
      Psql unchecked = psqlCommand(db, "INSERT INTO orders_log (token) VALUES (21)");
      assertThat(unchecked.output()).contains("BT004");

      Psql downgrade = psqlFile(db, v2File);
      assertThat(downgrade.exit()).as(downgrade.output()).isEqualTo(3);
      assertThat(downgrade.output()).contains("BT000").contains("is at version 3");
      assertThat(describe(db, "baton")).isEqualTo(expected);
    }
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
  void aSchemaNewerThanVersion3IsRefusedByTheFileAndByJava() throws Exception {
    String db = newDatabase("newer");
    assertThat(installFile(db).exit()).isZero();
    execute(db, "INSERT INTO baton.schema_version (version, description) VALUES (4, 'future')");
    String before = describe(db, "baton");
    Psql r = installFile(db);
    assertThat(r.exit()).as(r.output()).isEqualTo(3);
    assertThat(r.output()).contains("BT000").contains("is at version 4");
    assertThatThrownBy(() -> FenceSchema.defaultSchema().install(dataSource(db)))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("version 4")
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

  /** One SQL command through psql, stopping at the first error, with SQLSTATEs in the output. */
  private static Psql psqlCommand(String db, String sql) throws Exception {
    return psql(db, List.of("-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-c", sql));
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

  /** The rows of a table {@code (id, item)}, as {@code id:item} in id order. */
  private static String rows(String db, String table) throws SQLException {
    return query(
        db, "SELECT coalesce(string_agg(id || ':' || item, ',' ORDER BY id), '') FROM " + table);
  }

  private static String versions(String db) throws SQLException {
    return query(
        db,
        "SELECT string_agg(version || ' ' || description, ',' ORDER BY version)"
            + " FROM baton.schema_version");
  }

  private static String lockLine(Path file) throws IOException {
    return Files.readAllLines(file).stream()
        .filter(l -> l.contains("pg_advisory_xact_lock"))
        .reduce((a, b) -> a + "\n" + b)
        .orElse("");
  }

  /** A checked transaction (token 13) that writes one row to orders and one to ledger. */
  private static Path writeBoth(int id, String item) throws IOException {
    String values = " (id, item) VALUES (" + id + ", '" + item + "');";
    return Files.writeString(
        tmp.resolve("write-both-" + id + ".sql"),
        String.join(
            "\n",
            "BEGIN;",
            "SELECT baton.check_fence('orders', 13);",
            "INSERT INTO orders" + values,
            "INSERT INTO ledger" + values,
            "COMMIT;",
            ""));
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
