package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.ActiveContext;
import dev.baton.core.StandbyReason;
import dev.baton.testing.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Fence protocol version 3 (issue 32, section 1): the time bound in {@code baton.fence_lease}, on a
 * real PostgreSQL server. A transaction after {@code valid_until} is refused by {@code check_fence}
 * (BT007); one that checked before the lapse cannot commit after it (BT008); a stale token's
 * renewal changes nothing; a renewal does not wait for a writer that holds the fence row; a fence
 * without a bound behaves as version 2; and the renewer stops renewing, so the database refuses,
 * once its node is not active.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class FenceLeaseTest {
  private static PostgresServer server;

  @BeforeAll
  static void start() {
    server = PostgresServer.startPrimary("fencelease");
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aCheckAfterValidUntilIsRefusedWithBt007NamingResourceTokenAndValidUntil() throws Exception {
    PGSimpleDataSource ds = database("lapse");
    PostgresFence fence = bounded(ds, "orders");
    fence.advance(7, Duration.ofSeconds(10));
    // The advance writes the lease already lapsed: nothing is accepted until the active renews.
    assertThat(sqlStateOfCheck(ds, "orders", 7)).isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED);

    Instant until = fence.renewLease(7, Duration.ofMillis(600)).orElseThrow();
    // 600 ms less 1% drift less the 100 ms allowance: about 494 ms from the database's clock.
    assertThat(Duration.between(dbNow(ds), until)).isLessThanOrEqualTo(Duration.ofMillis(500));
    assertThat(sqlStateOfCheck(ds, "orders", 7)).isNull();

    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> sqlStateOfCheck(ds, "orders", 7) != null);
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> check(c, "orders", 7))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("fence lease of resource \"orders\" for token 7 ended at")
          .hasMessageContaining("(database clock now: ")
          .satisfies(
              e -> {
                assertThat(((SQLException) e).getSQLState())
                    .isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED);
                assertThat(serverDetail(e)).startsWith("fenced_token=7 valid_until=");
              });
      c.rollback();
    }
    // The stale-token check still comes first: a lower token is BT001 as before.
    fence.advance(8, Duration.ofSeconds(10));
    assertThat(sqlStateOfCheck(ds, "orders", 7)).isEqualTo(FenceSchema.SQLSTATE_STALE_TOKEN);
  }

  @Test
  void aTransactionThatCheckedBeforeTheLapseCannotCommitAfterIt() throws Exception {
    PGSimpleDataSource ds = database("commit_after");
    execute(ds, "CREATE TABLE orders (id int PRIMARY KEY)");
    PostgresFence fence = bounded(ds, "orders");
    fence.advance(3, Duration.ofSeconds(10));
    Instant until = fence.renewLease(3, Duration.ofMillis(800)).orElseThrow();

    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      assertThat(check(c, "orders", 3)).isEqualTo(3);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("INSERT INTO orders VALUES (1)");
      }
      // Wait, by the database's own clock, until the bound has passed; the transaction stays open.
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> dbNow(ds).isAfter(until));
      assertThatThrownBy(c::commit)
          .isInstanceOf(SQLException.class)
          .hasMessageContaining(
              "commit refused: the fence lease of resource \"orders\" for token 3")
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED_AT_COMMIT);
    }
    assertThat(query(ds, "SELECT count(*) FROM orders")).isEqualTo("0");
    assertThat(query(ds, "SELECT count(*) FROM baton.fence_commit_check")).isEqualTo("0");

    // Before the lapse the same transaction commits.
    fence.renewLease(3, Duration.ofSeconds(30)).orElseThrow();
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      check(c, "orders", 3);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("INSERT INTO orders VALUES (2)");
      }
      c.commit();
    }
    assertThat(query(ds, "SELECT string_agg(id::text, ',') FROM orders")).isEqualTo("2");
  }

  @Test
  void aRenewalWithAStaleTokenChangesNothing() throws Exception {
    PGSimpleDataSource ds = database("stale_renew");
    PostgresFence fence = bounded(ds, "orders");
    fence.advance(7, Duration.ofSeconds(10));
    assertThat(fence.renewLease(7, Duration.ofSeconds(5))).isPresent();
    fence.advance(8, Duration.ofSeconds(10));
    Instant until8 = fence.renewLease(8, Duration.ofSeconds(5)).orElseThrow();
    String row =
        query(ds, "SELECT token || ' ' || valid_until || ' ' || renewed_at FROM baton.fence_lease");

    assertThat(fence.renewLease(7, Duration.ofSeconds(60))).isEmpty();
    assertThat(fence.renewLease(9, Duration.ofSeconds(60))).as("a token ahead").isEmpty();
    assertThat(
            query(
                ds,
                "SELECT token || ' ' || valid_until || ' ' || renewed_at FROM baton.fence_lease"))
        .isEqualTo(row);
    assertThat(fence.leaseValidUntil(8)).contains(until8);
    assertThat(fence.leaseValidUntil(7)).isEmpty();

    // An advance without the bound leaves token 10 unbounded; nobody can bound it by renewing.
    PostgresFence.builder(ds).resource("orders").build().advance(10, Duration.ofSeconds(10));
    assertThat(fence.renewLease(10, Duration.ofSeconds(60))).isEmpty();
    assertThat(fence.renewLease(8, Duration.ofSeconds(60))).isEmpty();
    assertThat(sqlStateOfCheck(ds, "orders", 10)).isNull();
  }

  @Test
  void aRenewalDoesNotWaitForAWriterThatHoldsTheFenceRow() throws Exception {
    PGSimpleDataSource ds = database("no_block");
    execute(ds, "CREATE TABLE orders (id int PRIMARY KEY)");
    PostgresFence fence = bounded(ds, "orders");
    fence.advance(4, Duration.ofSeconds(10));
    fence.renewLease(4, Duration.ofSeconds(30)).orElseThrow();
    try (Connection writer = ds.getConnection()) {
      writer.setAutoCommit(false);
      check(writer, "orders", 4); // holds baton.fence's row FOR SHARE until it ends
      try (Statement s = writer.createStatement()) {
        s.executeUpdate("INSERT INTO orders VALUES (1)");
      }
      // What a renewal of the fence row itself would do: it waits for the writer (here: times out).
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = 300");
        assertThatThrownBy(
                () ->
                    s.executeUpdate(
                        "UPDATE baton.fence SET updated_at = now() WHERE resource = 'orders'"))
            .extracting(e -> ((SQLException) e).getSQLState())
            .isEqualTo("55P03");
      }
      CompletableFuture<Optional<Instant>> renewal =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return fence.renewLease(4, Duration.ofSeconds(30));
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              });
      await()
          .atMost(Duration.ofSeconds(5))
          .pollInterval(Duration.ofMillis(10))
          .until(renewal::isDone);
      assertThat(renewal.get()).isPresent();
      // A second writer checks while the first is open and the lease was just renewed.
      assertThat(sqlStateOfCheck(ds, "orders", 4)).isNull();
      writer.commit();
    }
    assertThat(query(ds, "SELECT count(*) FROM orders")).isEqualTo("1");
  }

  @Test
  void aFenceWithoutABoundAcceptsAsVersion2Did() throws Exception {
    PGSimpleDataSource ds = database("unbounded");
    execute(ds, "CREATE TABLE orders (id int PRIMARY KEY)");
    PostgresFence fence = PostgresFence.builder(ds).resource("orders").build();
    fence.advance(5, Duration.ofSeconds(10));
    assertThat(query(ds, "SELECT count(*) FROM baton.fence_lease")).isEqualTo("0");
    assertThat(fence.renewLease(5, Duration.ofSeconds(1))).isEmpty();
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      check(c, "orders", 5);
      try (Statement s = c.createStatement()) {
        s.executeUpdate("INSERT INTO orders VALUES (1)");
      }
      c.commit();
    }
    // A lease row with a NULL valid_until is unbounded too.
    execute(
        ds,
        "INSERT INTO baton.fence_lease (resource, token, valid_until) VALUES ('orders', 5, NULL)");
    assertThat(sqlStateOfCheck(ds, "orders", 5)).isNull();
    assertThat(query(ds, "SELECT count(*) FROM orders")).isEqualTo("1");
  }

  @Test
  void aRenewalThatTakesLongerThanItsAllowanceIsRolledBack() throws Exception {
    PGSimpleDataSource ds = database("slow_renew");
    PostgresFence fence =
        PostgresFence.builder(ds)
            .resource("orders")
            .timeBound(true)
            .maxRenewalTime(Duration.ofNanos(1))
            .build();
    fence.advance(2, Duration.ofSeconds(10));
    Instant before = fence.leaseValidUntil(2).orElseThrow();
    assertThatThrownBy(() -> fence.renewLease(2, Duration.ofSeconds(60)))
        .isInstanceOf(SQLTransientException.class)
        .hasMessageContaining("resource 'orders' for token 2")
        .hasMessageContaining("rolled back");
    assertThat(fence.leaseValidUntil(2)).contains(before);
  }

  @Test
  void theRenewerKeepsTheFenceOpenWhileActiveAndTheDatabaseRefusesOnceItIsNot() throws Exception {
    PGSimpleDataSource ds = database("renewer");
    PostgresFence fence = bounded(ds, "orders");
    fence.advance(11, Duration.ofSeconds(10));
    AtomicReference<ActiveContext> active =
        new AtomicReference<>(lease(11, Duration.ofMillis(700)));
    try (FenceLeaseRenewer renewer =
        FenceLeaseRenewer.start(
            ds, List.of(fence), () -> Optional.ofNullable(active.get()), Duration.ofMillis(50))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () ->
                  sqlStateOfCheck(ds, "orders", 11) == null
                      && renewer.lastValidUntil().isPresent());
      // Renewed again and again: checks keep passing for longer than one lease. (The advance's
      // own 10 s bound lets the check pass before the renewer's first round, hence the wait for
      // that round above.)
      Instant first = renewer.lastValidUntil().orElseThrow();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> renewer.lastValidUntil().orElseThrow().isAfter(first.plusMillis(700)));
      assertThat(sqlStateOfCheck(ds, "orders", 11)).isNull();

      // The node stops being active (cut off, paused, demoted): within its lease the database
      // refuses, with nobody reaching it.
      active.set(null);
      Instant stopped = dbNow(ds);
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> FenceSchema.SQLSTATE_LEASE_ENDED.equals(sqlStateOfCheck(ds, "orders", 11)));
      // No renewal after it stopped: the bound is at most one lease past the moment it stopped.
      assertThat(fence.leaseValidUntil(11).orElseThrow()).isBefore(stopped.plusMillis(700));
    }
  }

  @Test
  void fencedDataSourceRaisesATypedExceptionWhenTheLeaseEndedAtTheCheckOrAtTheCommit()
      throws Exception {
    PGSimpleDataSource ds = database("typed_lease");
    execute(ds, "CREATE TABLE orders (id int PRIMARY KEY)");
    // A generous renewal allowance: this test is about the exceptions, not the renewal's speed.
    PostgresFence fence =
        PostgresFence.builder(ds)
            .resource("orders")
            .timeBound(true)
            .maxRenewalTime(Duration.ofSeconds(1))
            .build();
    fence.advance(4, Duration.ofSeconds(10));
    FencedDataSource fenced = FencedDataSource.builder(ds).resource("orders").build();

    // The advance wrote the lease already lapsed: the check refuses with BT007.
    try (Connection c = fenced.connection(4)) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> insertOrder(c, 1))
          .isInstanceOfSatisfying(
              FenceLeaseEndedSQLException.class,
              e -> {
                assertThat(e.getSQLState()).isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED);
                assertThat(e.atCommit()).isFalse();
                assertThat(e.resource()).isEqualTo("orders");
                assertThat(e.token()).isEqualTo(4);
                assertThat(e.getMessage()).contains("fence lease of resource \"orders\"");
              });
      c.rollback();
    }

    // Checked while the lease held, committed after it ended: the commit refuses with BT008.
    Instant until = fence.renewLease(4, Duration.ofSeconds(3)).orElseThrow();
    try (Connection c = fenced.connection(4)) {
      c.setAutoCommit(false);
      insertOrder(c, 2);
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> dbNow(ds).isAfter(until));
      assertThatThrownBy(c::commit)
          .isInstanceOfSatisfying(
              FenceLeaseEndedSQLException.class,
              e -> {
                assertThat(e.getSQLState()).isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED_AT_COMMIT);
                assertThat(e.atCommit()).isTrue();
                assertThat(e.token()).isEqualTo(4);
              });
    }
    assertThat(query(ds, "SELECT count(*) FROM orders")).isEqualTo("0");
  }

  private static void insertOrder(Connection c, int id) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO orders VALUES (" + id + ")");
    }
  }

  /**
   * Issue 32: the promotion action's renewer takes the drift bound and the renewal allowance it is
   * given (the sidecar gives the node's {@code timing.clockDrift} and {@code
   * fenceLease.maxRenewalTime}) instead of a fixed 1 % and 100 ms.
   */
  @Test
  void theActionsRenewerTakesTheDriftBoundAndMaxRenewalTimeItIsGiven() throws Exception {
    PGSimpleDataSource ds = server.dataSource(); // the database the action connects to
    FenceSchema.defaultSchema().install(ds);
    PostgresFence fence = bounded(ds, "drift");
    fence.advance(21, Duration.ofSeconds(10));
    PostgresPromotionAction action =
        PostgresPromotionAction.builder()
            .target(PostgresEndpoint.of(server.host(), server.port()))
            .connectTimeout(Duration.ofSeconds(2))
            .fenceResources("drift")
            .fenceTimeBound(true)
            .build();
    try (FenceLeaseRenewer renewer =
        action.startFenceLeaseRenewer(
            () -> Optional.of(lease(21, Duration.ofSeconds(4))),
            Duration.ofMillis(50),
            0.25,
            Duration.ofMillis(300))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> renewer.lastValidUntil().isPresent());
      Instant until = fence.leaseValidUntil(21).orElseThrow();
      // 4 s × (1 − 0.25) − 300 ms = 2.7 s past the database's clock at the renewal, at most; with
      // the fixed 1 % and 100 ms it would be 3.86 s.
      assertThat(Duration.between(dbNow(ds), until))
          .isLessThanOrEqualTo(Duration.ofMillis(2700))
          .isGreaterThan(Duration.ofMillis(1000));
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** An activation whose lease always has {@code remaining} left (a node renewing its lease). */
  private static ActiveContext lease(long token, Duration remaining) {
    return new ActiveContext() {
      @Override
      public long token() {
        return token;
      }

      @Override
      public String nodeId() {
        return "n1";
      }

      @Override
      public Optional<String> previousActive() {
        return Optional.empty();
      }

      @Override
      public long previousToken() {
        return 0;
      }

      @Override
      public boolean isLeaseValid() {
        return true;
      }

      @Override
      public Duration leaseRemaining() {
        return remaining;
      }

      @Override
      public void checkLease() {}

      @Override
      public CompletionStage<StandbyReason> ended() {
        return new CompletableFuture<>();
      }
    };
  }

  private static PostgresFence bounded(PGSimpleDataSource ds, String resource) {
    return PostgresFence.builder(ds).resource(resource).timeBound(true).build();
  }

  private static PGSimpleDataSource database(String name) throws SQLException {
    server.execute("CREATE DATABASE " + name);
    PGSimpleDataSource ds = server.dataSource();
    ds.setDatabaseName(name);
    FenceSchema.defaultSchema().install(ds);
    return ds;
  }

  private static long check(Connection c, String resource, long token) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT baton.check_fence(?, ?)")) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** The SQLSTATE with which a new transaction's check fails, or null when it passes. */
  private static String sqlStateOfCheck(PGSimpleDataSource ds, String resource, long token)
      throws SQLException {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try {
        check(c, resource, token);
        return null;
      } catch (SQLException e) {
        return e.getSQLState();
      } finally {
        c.rollback();
      }
    }
  }

  private static String serverDetail(Throwable e) {
    return e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
        ? p.getServerErrorMessage().getDetail()
        : "";
  }

  private static Instant dbNow(PGSimpleDataSource ds) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
      rs.next();
      return rs.getObject(1, java.time.OffsetDateTime.class).toInstant();
    }
  }

  private static void execute(PGSimpleDataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String query(PGSimpleDataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
