package dev.baton.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fence table and its helpers, in a schema of their own (default {@code baton}), installed and
 * migrated idempotently.
 *
 * <pre>
 * baton.schema_version(version int primary key, description text, applied_at timestamptz)
 * baton.fence(resource text primary key, token bigint not null, updated_at timestamptz not null)
 * baton.fence_lease(resource text primary key, token bigint not null, valid_until timestamptz,
 *                   renewed_at timestamptz not null)
 * baton.fence_commit_check(resource text, token bigint), unlogged, never holds a committed row
 * baton.check_fence(resource text, token bigint) returns bigint
 * baton.require_fence() trigger function, installed on a table by {@link #guardTable}
 * </pre>
 *
 * <p>One row per fenced resource holds the highest token that resource has accepted. {@code
 * check_fence} takes a {@code FOR SHARE} lock on that row and raises (aborting the transaction
 * server-side) unless the offered token equals the row's token; {@link PostgresFence} advances the
 * row with an {@code UPDATE}, which needs the row's exclusive lock and so waits for every
 * transaction that checked the old token to end.
 *
 * <p>This is the public SQL fence protocol, version {@value #CURRENT_VERSION}
 * (docs/fence-protocol.md): clients in any language call {@code check_fence} first in each write
 * transaction. Its single source is the SQL file {@value #SQL_RESOURCE} (a resource next to this
 * class), which {@link #install} runs and which {@code psql} installs as it is.
 *
 * <p>Installation runs in one transaction under a transaction-scoped advisory lock, so nodes that
 * install concurrently serialise; each migration runs once and records its version. A database
 * whose schema is newer than this library knows is refused (SQLSTATE {@code BT000}) rather than
 * guessed at.
 */
public final class FenceSchema {
  private static final Logger LOG = LoggerFactory.getLogger(FenceSchema.class);

  /** The default schema name. */
  public static final String DEFAULT_SCHEMA = "baton";

  /** SQLSTATE of a stale token: the fence holds a higher token than the one offered. */
  public static final String SQLSTATE_STALE_TOKEN = "BT001";

  /** SQLSTATE of a missing fence row: no active has advanced this resource's fence yet. */
  public static final String SQLSTATE_NO_FENCE = "BT002";

  /** SQLSTATE of a token ahead of the fence: the active has not advanced the fence yet. */
  public static final String SQLSTATE_TOKEN_AHEAD = "BT003";

  /** SQLSTATE raised by a guarded table written in a transaction that did not check the fence. */
  public static final String SQLSTATE_UNFENCED_WRITE = "BT004";

  /**
   * SQLSTATE raised client-side (never by the server) when a writer has no token to offer: the node
   * is not active, or no token source is bound.
   */
  public static final String SQLSTATE_NO_TOKEN = "BT005";

  /**
   * SQLSTATE raised client-side by {@link FencedConnection#checkFence()} misused: in auto-commit
   * mode or in a read-only transaction. Not a server code.
   */
  public static final String SQLSTATE_CHECK_MISUSED = "BT006";

  /** SQLSTATE of an install refused because the schema is newer than this installer knows. */
  public static final String SQLSTATE_SCHEMA_TOO_NEW = "BT000";

  /**
   * SQLSTATE of a check after the fence's lease ended: the fenced token's {@code valid_until} (in
   * {@code baton.fence_lease}) has passed by the database's clock, because the active node stopped
   * renewing it (version 3).
   */
  public static final String SQLSTATE_LEASE_ENDED = "BT007";

  /**
   * SQLSTATE of a {@code COMMIT} refused because the lease that the transaction checked against
   * ended before the commit (version 3): nothing of the transaction is committed.
   */
  public static final String SQLSTATE_LEASE_ENDED_AT_COMMIT = "BT008";

  /**
   * The version this library installs. Version 2 (issue 28): {@code require_fence} declared {@code
   * FOR EACH ROW} passes the row on instead of dropping it, and its refusal tells any client to
   * call {@code check_fence} first. Version 3 (issue 32): a time bound, {@code
   * baton.fence_lease.valid_until}, that {@code check_fence} and the commit enforce.
   */
  public static final int CURRENT_VERSION = 3;

  /**
   * The installer of {@link #CURRENT_VERSION} for schema {@code baton}, a classpath resource next
   * to this class: runnable with {@code psql -v ON_ERROR_STOP=1 -f} (docs/fence-protocol.md). It is
   * cumulative: it installs from nothing and upgrades every earlier version in place.
   */
  public static final String SQL_RESOURCE = "fence-schema-v" + CURRENT_VERSION + ".sql";

  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final Pattern SCHEMA_WORD = Pattern.compile("\\bbaton\\b(?!\\.f')");

  private final String schema;

  private FenceSchema(String schema) {
    this.schema = schema;
  }

  /** The schema {@code baton}. */
  public static FenceSchema defaultSchema() {
    return new FenceSchema(DEFAULT_SCHEMA);
  }

  /**
   * A schema with another name: lower-case letters, digits and underscores, not starting with a
   * digit (it is written into SQL, so anything else is refused rather than quoted).
   */
  public static FenceSchema named(String schema) {
    Objects.requireNonNull(schema, "schema");
    if (!IDENTIFIER.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "invalid fence schema name '"
              + schema
              + "': use 1 to 63 lower-case letters, digits or underscores, not starting with a digit");
    }
    return new FenceSchema(schema);
  }

  public String schema() {
    return schema;
  }

  /** {@code schema.fence}. */
  public String fenceTable() {
    return schema + ".fence";
  }

  /** {@code schema.fence_lease}: the time bound of each resource's fence (version 3). */
  public String leaseTable() {
    return schema + ".fence_lease";
  }

  /** {@code schema.check_fence}. */
  String checkFunction() {
    return schema + ".check_fence";
  }

  /** Installs or migrates the schema through a connection from {@code dataSource}. */
  public int install(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return install(c);
    }
  }

  /**
   * Installs or migrates the schema on {@code connection} (which must be on a primary) and returns
   * the version now installed, {@link #CURRENT_VERSION}: a database at an earlier version is
   * upgraded in place, keeping its fence rows and the guard triggers that call {@code
   * require_fence}. Idempotent and safe to run from several nodes at once. Restores the
   * connection's auto-commit mode afterwards.
   *
   * <p>It runs the statements of {@value #SQL_RESOURCE} (between its {@code BEGIN} and {@code
   * COMMIT}) in one transaction, with this schema's name in place of {@code baton}: the Java and
   * the file that non-Java deployments install with {@code psql} cannot drift apart.
   *
   * @throws SQLException with SQLSTATE {@code BT000} if the schema is newer than this library
   */
  public int install(Connection connection) throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement s = connection.createStatement()) {
      s.execute(installSql());
      // applied_at defaults to now(), the start of this transaction: rows this install added.
      try (ResultSet rs =
          s.executeQuery(
              "SELECT version, description FROM "
                  + schema
                  + ".schema_version WHERE applied_at = now() ORDER BY version")) {
        while (rs.next()) {
          LOG.info(
              "fence schema {}: applied migration {} ({})", schema, rs.getInt(1), rs.getString(2));
        }
      }
      connection.commit();
      return CURRENT_VERSION;
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }

  /**
   * The installer's statements for this schema: the transaction body of {@value #SQL_RESOURCE},
   * with every {@code baton} that names the schema replaced by this schema's name. The prefix of
   * the transaction-local setting that {@code check_fence} sets ({@code 'baton.f'}) is not a schema
   * name and stays. The name is a validated identifier, so it is substituted as it is.
   */
  String installSql() {
    return SCHEMA_WORD.matcher(InstallScript.BODY).replaceAll(Matcher.quoteReplacement(schema));
  }

  /**
   * Installs a statement-level trigger on {@code table} that refuses any INSERT, UPDATE, DELETE or
   * TRUNCATE in a transaction that has not passed {@code check_fence} for {@code resource}: a
   * second line of defence for writes that do not go through a {@link FencedDataSource} (a raw
   * connection, psql, a forgotten code path). Idempotent. {@code table} may be schema-qualified; it
   * is quoted as an identifier per part. (A trigger declared {@code FOR EACH ROW} by hand works too
   * from version 2 on, checking each row; per statement checks once and also covers {@code
   * TRUNCATE}.)
   */
  public void guardTable(Connection connection, String table, String resource) throws SQLException {
    Objects.requireNonNull(resource, "resource");
    String qualified = quoteQualified(connection, table);
    String trigger = "baton_fence_guard";
    try (Statement s = connection.createStatement()) {
      s.execute("DROP TRIGGER IF EXISTS " + trigger + " ON " + qualified);
      s.execute(
          "CREATE TRIGGER "
              + trigger
              + " BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
              + qualified
              + " FOR EACH STATEMENT EXECUTE FUNCTION "
              + schema
              + ".require_fence("
              + quoteLiteral(resource)
              + ")");
    }
  }

  private static String quoteQualified(Connection c, String table) throws SQLException {
    Objects.requireNonNull(table, "table");
    String[] parts = table.split("\\.", -1);
    if (parts.length > 2 || table.isBlank()) {
      throw new IllegalArgumentException("invalid table name '" + table + "'");
    }
    StringBuilder b = new StringBuilder();
    for (String p : parts) {
      if (p.isEmpty()) {
        throw new IllegalArgumentException("invalid table name '" + table + "'");
      }
      if (b.length() > 0) {
        b.append('.');
      }
      b.append(c.unwrap(org.postgresql.core.BaseConnection.class).escapeIdentifier(p));
    }
    return b.toString();
  }

  static String quoteLiteral(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  /** The SQL file, read once, on first use. */
  private static final class InstallScript {
    static final String BODY = load();

    private static String load() {
      String text;
      try (InputStream in = FenceSchema.class.getResourceAsStream(SQL_RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException("resource " + SQL_RESOURCE + " is missing");
        }
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read resource " + SQL_RESOURCE, e);
      }
      List<String> lines = text.lines().toList();
      int begin = lines.indexOf("BEGIN;");
      int end = lines.lastIndexOf("COMMIT;");
      if (begin < 0 || end < begin || lines.lastIndexOf("BEGIN;") != begin) {
        throw new IllegalStateException(
            SQL_RESOURCE + " must hold one transaction, from a line BEGIN; to a line COMMIT;");
      }
      return String.join("\n", lines.subList(begin + 1, end));
    }
  }
}
