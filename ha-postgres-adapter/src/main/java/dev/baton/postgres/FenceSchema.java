package dev.baton.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;
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
 * <p>Installation runs in one transaction under a transaction-scoped advisory lock, so nodes that
 * install concurrently serialise; each migration runs once and records its version. A database
 * whose schema is newer than this library knows is refused rather than guessed at.
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

  /** The version this library installs. */
  public static final int CURRENT_VERSION = 1;

  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final long ADVISORY_LOCK_KEY = 0x6261746f6e_01L; // "baton" + 1

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

  /** {@code schema.check_fence}. */
  String checkFunction() {
    return schema + ".check_fence";
  }

  /** The transaction-local setting {@code check_fence} sets once a transaction has checked. */
  String guardSettingExpression(String resourceParam) {
    return "'baton.f' || md5('" + schema + ":' || " + resourceParam + ")";
  }

  /** Installs or migrates the schema through a connection from {@code dataSource}. */
  public int install(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return install(c);
    }
  }

  /**
   * Installs or migrates the schema on {@code connection} (which must be on a primary) and returns
   * the version now installed. Idempotent and safe to run from several nodes at once. Restores the
   * connection's auto-commit mode afterwards.
   */
  public int install(Connection connection) throws SQLException {
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement s = connection.createStatement()) {
      s.execute("SELECT pg_advisory_xact_lock(" + ADVISORY_LOCK_KEY + ")");
      s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + schema
              + ".schema_version (version integer PRIMARY KEY, description text NOT NULL,"
              + " applied_at timestamptz NOT NULL DEFAULT now())");
      int current;
      try (ResultSet rs =
          s.executeQuery("SELECT coalesce(max(version), 0) FROM " + schema + ".schema_version")) {
        rs.next();
        current = rs.getInt(1);
      }
      if (current > CURRENT_VERSION) {
        throw new SQLException(
            "the fence schema "
                + schema
                + " is at version "
                + current
                + ", newer than this library knows ("
                + CURRENT_VERSION
                + "): upgrade Baton on this node",
            "BT000");
      }
      List<Migration> migrations = migrations();
      for (Migration m : migrations) {
        if (m.version() > current) {
          for (String sql : m.statements()) {
            s.execute(sql);
          }
          try (PreparedStatement ins =
              connection.prepareStatement(
                  "INSERT INTO "
                      + schema
                      + ".schema_version (version, description) VALUES (?, ?)")) {
            ins.setInt(1, m.version());
            ins.setString(2, m.description());
            ins.executeUpdate();
          }
          LOG.info(
              "fence schema {}: applied migration {} ({})", schema, m.version(), m.description());
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
   * Installs a statement-level trigger on {@code table} that refuses any INSERT, UPDATE, DELETE or
   * TRUNCATE in a transaction that has not passed {@code check_fence} for {@code resource}: a
   * second line of defence for writes that do not go through a {@link FencedDataSource} (a raw
   * connection, psql, a forgotten code path). Idempotent. {@code table} may be schema-qualified; it
   * is quoted as an identifier per part.
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

  private record Migration(int version, String description, List<String> statements) {}

  private List<Migration> migrations() {
    String s = schema;
    String guardName = guardSettingExpression("p_resource");
    return List.of(
        new Migration(
            1,
            "fence table, check_fence, require_fence",
            List.of(
                "CREATE TABLE IF NOT EXISTS "
                    + s
                    + ".fence (resource text PRIMARY KEY, token bigint NOT NULL CHECK (token >= 0),"
                    + " updated_at timestamptz NOT NULL DEFAULT now())",
                // SECURITY DEFINER with a pinned search_path: an application role needs only
                // EXECUTE on this function (and USAGE on the schema), not UPDATE on the fence
                // table, so it can lock and check the row but never move it.
                "CREATE OR REPLACE FUNCTION "
                    + s
                    + ".check_fence(p_resource text, p_token bigint) RETURNS bigint"
                    + " LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$\n"
                    + "DECLARE fenced bigint;\n"
                    + "BEGIN\n"
                    // FOR SHARE (not FOR KEY SHARE): it conflicts with the UPDATE that advances
                    // the token, so an advance waits for this transaction to end and this
                    // transaction can never commit after an advance it did not see.
                    + "  SELECT f.token INTO fenced FROM "
                    + s
                    + ".fence f WHERE f.resource = p_resource FOR SHARE;\n"
                    + "  IF NOT FOUND THEN\n"
                    + "    RAISE EXCEPTION 'no fence row for resource \"%\" in "
                    + s
                    + ".fence: no active has advanced this fence yet', p_resource\n"
                    + "      USING ERRCODE = '"
                    + SQLSTATE_NO_FENCE
                    + "', HINT = 'the active advances the fence (PostgresFence.advance) before it writes';\n"
                    + "  END IF;\n"
                    + "  IF p_token < fenced THEN\n"
                    + "    RAISE EXCEPTION 'stale fencing token for resource \"%\": offered token %, the fence holds token % (a newer active has taken over)', p_resource, p_token, fenced\n"
                    + "      USING ERRCODE = '"
                    + SQLSTATE_STALE_TOKEN
                    + "', DETAIL = 'fenced_token=' || fenced;\n"
                    + "  END IF;\n"
                    + "  IF p_token > fenced THEN\n"
                    + "    RAISE EXCEPTION 'fencing token % for resource \"%\" is ahead of the fence, which holds token %: the active must advance the fence before it writes', p_token, p_resource, fenced\n"
                    + "      USING ERRCODE = '"
                    + SQLSTATE_TOKEN_AHEAD
                    + "', DETAIL = 'fenced_token=' || fenced;\n"
                    + "  END IF;\n"
                    // Transaction-local, so it ends with the transaction and is undone with a
                    // rolled-back savepoint, exactly like the row lock: guarded tables read it.
                    + "  PERFORM set_config("
                    + guardName
                    + ", p_token::text, true);\n"
                    + "  RETURN fenced;\n"
                    + "END\n"
                    + "$fn$",
                "CREATE OR REPLACE FUNCTION "
                    + s
                    + ".require_fence() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                    + "DECLARE p_resource text := TG_ARGV[0];\n"
                    + "BEGIN\n"
                    + "  IF coalesce(current_setting("
                    + guardName
                    + ", true), '') = '' THEN\n"
                    + "    RAISE EXCEPTION 'write to %.% refused: the transaction did not check the fence of resource \"%\" (write through FencedDataSource)', TG_TABLE_SCHEMA, TG_TABLE_NAME, p_resource\n"
                    + "      USING ERRCODE = '"
                    + SQLSTATE_UNFENCED_WRITE
                    + "';\n"
                    + "  END IF;\n"
                    + "  RETURN NULL;\n"
                    + "END\n"
                    + "$fn$")));
  }
}
