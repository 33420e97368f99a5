package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.baton.core.StaleTokenException;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

class FencedDataSourceTest {
  private static PostgresServer server;
  private static DataSource raw;

  private String resource;
  private String table;
  private FencedDataSource fenced;

  @BeforeAll
  static void startServer() {
    server = PostgresServer.startPrimary("fenced");
    raw = server.dataSource();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void newResource(TestInfo info) {
    String m = info.getTestMethod().orElseThrow().getName().toLowerCase();
    resource = "res-" + m;
    table = "t_" + m.substring(0, Math.min(40, m.length()));
    server.execute(
        "CREATE TABLE "
            + table
            + " (id bigserial PRIMARY KEY, writer text NOT NULL, token bigint NOT NULL)");
    fenced = FencedDataSource.builder(raw).resource(resource).build();
  }

  private PostgresFence fence() {
    return PostgresFence.builder(raw).resource(resource).terminateBlockersAfter(null).build();
  }

  private static void insert(Connection c, String table, String writer, long token)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT INTO " + table + " (writer, token) VALUES (?, ?)")) {
      ps.setString(1, writer);
      ps.setLong(2, token);
      ps.executeUpdate();
    }
  }

  private List<String> rows() {
    List<String> out = new ArrayList<>();
    try (Connection c = raw.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT writer, token FROM " + table + " ORDER BY id")) {
      while (rs.next()) {
        out.add(rs.getString(1) + "@" + rs.getLong(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  @Test
  void staleTokenIsRejectedAfterAnAdvanceAndCommitsNothing() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    try (Connection c = fenced.connection(5)) {
      c.setAutoCommit(false);
      insert(c, table, "a", 5);
      c.commit();
    }
    fence().advance(7, TestStepContext.promote(7));

    try (Connection c = fenced.connection(5)) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> insert(c, table, "a", 5))
          .isInstanceOf(StaleTokenSQLException.class)
          .hasMessageContaining("offered token 5")
          .hasMessageContaining("holds token 7")
          .hasMessageContaining(resource)
          .satisfies(
              e -> {
                StaleTokenSQLException s = (StaleTokenSQLException) e;
                assertThat(s.offeredToken()).isEqualTo(5);
                assertThat(s.fencedToken()).isEqualTo(7);
                assertThat(s.getSQLState()).isEqualTo(FenceSchema.SQLSTATE_STALE_TOKEN);
                assertThat(StaleTokenSQLException.find(e)).isInstanceOf(StaleTokenException.class);
              });
      // Swallowing the exception and carrying on cannot turn the transaction into a commit.
      assertThatThrownBy(() -> insert(c, table, "a", 5)).isInstanceOf(SQLException.class);
      assertThatThrownBy(c::commit).isInstanceOf(StaleTokenSQLException.class);
    }
    // Auto-commit mode: the statement is refused too.
    try (Connection c = fenced.connection(5)) {
      assertThatThrownBy(() -> insert(c, table, "a", 5)).isInstanceOf(StaleTokenSQLException.class);
      assertThat(c.getAutoCommit()).isTrue();
    }
    try (Connection c = fenced.connection(7)) {
      insert(c, table, "b", 7);
    }
    assertThat(rows()).containsExactly("a@5", "b@7");
    assertThat(fence().currentToken()).isEqualTo(7);
  }

  @Test
  void advanceWaitsForATransactionThatCheckedTheOldTokenAndItCommitsBeforeTheAdvance()
      throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    Connection old = fenced.connection(5);
    old.setAutoCommit(false);
    insert(old, table, "old", 5); // checked: holds the fence row FOR SHARE
    int oldPid = pid(old);

    CompletableFuture<Void> advance =
        CompletableFuture.runAsync(
            () -> {
              try {
                fence().advance(7, Duration.ofSeconds(30));
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
            });
    awaitSomeoneBlockedBy(oldPid);
    assertThat(advance).isNotDone();

    insert(old, table, "old", 5);
    old.commit(); // commits before the advance, which is still waiting
    advance.get(30, TimeUnit.SECONDS);

    // The same connection's next transaction carries the old token and is refused.
    assertThatThrownBy(() -> insert(old, table, "old", 5))
        .isInstanceOf(StaleTokenSQLException.class);
    old.rollback();
    old.close();
    assertThat(rows()).containsExactly("old@5", "old@5");
  }

  @Test
  void advanceTerminatesAStalledOldTransactionWhichThenCommitsNothing() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    Connection old = fenced.connection(5);
    old.setAutoCommit(false);
    insert(old, table, "old", 5);
    // The old active pauses here, mid-transaction; the new active advances and, after its grace
    // period, terminates the session that blocks it.
    PostgresFence.builder(raw)
        .resource(resource)
        .terminateBlockersAfter(Duration.ofMillis(200))
        .build()
        .advance(7, TestStepContext.promote(7));

    assertThatThrownBy(old::commit).isInstanceOf(SQLException.class);
    old.close();
    try (Connection c = fenced.connection(7)) {
      insert(c, table, "new", 7);
    }
    assertThat(rows()).containsExactly("new@7");
  }

  @Test
  void aTransactionBegunBeforeTheAdvanceButNotYetCheckedIsRefusedAtItsFirstStatement()
      throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    try (Connection old = fenced.connection(5)) {
      old.setAutoCommit(false); // begun, no statement yet: nothing checked, no lock held
      fence().advance(7, TestStepContext.promote(7));
      assertThatThrownBy(() -> insert(old, table, "old", 5))
          .isInstanceOf(StaleTokenSQLException.class)
          .hasMessageContaining("offered token 5")
          .hasMessageContaining("holds token 7");
      old.rollback();
    }
    assertThat(rows()).isEmpty();
  }

  @Test
  void serializableTransactionsAreFencedToo() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    try (Connection c = fenced.connection(5)) {
      c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
      c.setAutoCommit(false);
      insert(c, table, "s", 5);
      c.commit();
      fence().advance(6, TestStepContext.promote(6));
      assertThatThrownBy(() -> insert(c, table, "s", 5)).isInstanceOf(StaleTokenSQLException.class);
      c.rollback();
    }
    try (Connection c = fenced.connection(6)) {
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      c.setAutoCommit(false);
      insert(c, table, "s", 6);
      c.commit();
    }
    assertThat(rows()).containsExactly("s@5", "s@6");
  }

  @Test
  void savepointRollbackDoesNotReleaseTheFenceLock() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    try (Connection c = fenced.connection(5)) {
      c.setAutoCommit(false);
      Savepoint sp = c.setSavepoint(); // the check runs first, at the top level
      insert(c, table, "a", 5);
      c.rollback(sp);
      int pid = pid(c);
      CompletableFuture<Void> advance =
          CompletableFuture.runAsync(
              () -> {
                try {
                  fence().advance(7, Duration.ofSeconds(30));
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              });
      awaitSomeoneBlockedBy(pid);
      assertThat(advance).isNotDone();
      insert(c, table, "a", 5);
      c.commit();
      advance.get(30, TimeUnit.SECONDS);
    }
    assertThat(rows()).containsExactly("a@5");
  }

  @Test
  void twoWritersOnlyTheHigherTokenCommitsAfterTheAdvanceWithNoInterleaving() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger aCommits = new AtomicInteger();
    AtomicInteger aStale = new AtomicInteger();
    AtomicInteger aTerminated = new AtomicInteger();
    AtomicInteger bCommits = new AtomicInteger();
    AtomicInteger bAhead = new AtomicInteger();
    CountDownLatch aRunning = new CountDownLatch(20);
    CountDownLatch bRunning = new CountDownLatch(20);
    List<Throwable> unexpected = new java.util.concurrent.CopyOnWriteArrayList<>();

    Thread a =
        writer(
            "a",
            5,
            stop,
            aRunning,
            e -> {
              if (e instanceof StaleTokenSQLException) {
                aStale.incrementAndGet();
              } else if ("57P01".equals(e.getSQLState())
                  || (e.getSQLState() != null && e.getSQLState().startsWith("08"))) {
                aTerminated.incrementAndGet(); // the advance terminated a blocking transaction
              } else {
                unexpected.add(e);
              }
            },
            aCommits);
    Thread b =
        writer(
            "b",
            7,
            stop,
            bRunning,
            e -> {
              if (FenceSchema.SQLSTATE_TOKEN_AHEAD.equals(e.getSQLState())) {
                bAhead.incrementAndGet();
              } else {
                unexpected.add(e);
              }
            },
            bCommits);
    a.start();
    b.start();
    assertThat(aRunning.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(bRunning.await(30, TimeUnit.SECONDS)).isTrue();

    PostgresFence.builder(raw)
        .resource(resource)
        .terminateBlockersAfter(Duration.ofMillis(500))
        .build()
        .advance(7, TestStepContext.promote(7));
    int bAtAdvance = bCommits.get();
    await("b commits after the advance")
        .atMost(Duration.ofSeconds(30))
        .until(() -> bCommits.get() >= bAtAdvance + 20 && aStale.get() >= 5);
    stop.set(true);
    a.join(30_000);
    b.join(30_000);

    assertThat(unexpected).isEmpty();
    assertThat(bAhead.get()).as("b was refused before the advance").isPositive();
    assertThat(aCommits.get()).as("a committed before the advance").isPositive();
    List<String> rows = rows();
    // Rows are ordered by id, taken from a sequence inside each transaction after its check:
    // every committed row of token 5 precedes every row of token 7, and each transaction's two
    // rows are all there or not at all.
    int firstB = rows.indexOf("b@7");
    assertThat(firstB).isGreaterThan(0);
    assertThat(rows.subList(0, firstB)).allMatch(r -> r.equals("a@5"));
    assertThat(rows.subList(firstB, rows.size())).allMatch(r -> r.equals("b@7"));
    assertThat(firstB % 2).isZero();
    assertThat((rows.size() - firstB) % 2).isZero();
    // Bookkeeping: a commit whose reply was cut by the termination may have landed.
    assertThat(firstB / 2).isBetween(aCommits.get(), aCommits.get() + aTerminated.get());
  }

  @Test
  void manyWritersAndRepeatedAdvancesNeverCommitAnOlderTokenAfterANewerOne() throws Exception {
    int generations = 8;
    fence().advance(1, TestStepContext.promote(1));
    PostgresFence advancer =
        PostgresFence.builder(raw)
            .resource(resource)
            .terminateBlockersAfter(Duration.ofMillis(100))
            .build();
    AtomicBoolean stop = new AtomicBoolean();
    List<AtomicInteger> commits = new ArrayList<>();
    List<Throwable> unexpected = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int g = 1; g <= generations; g++) {
      long token = g;
      AtomicInteger committed = new AtomicInteger();
      commits.add(committed);
      boolean autoCommit = g % 2 == 0; // alternate the two modes
      Thread t =
          new Thread(
              () -> {
                Connection c = null;
                while (!stop.get()) {
                  try {
                    if (c == null || c.isClosed()) {
                      c = fenced.connection(token);
                      c.setAutoCommit(autoCommit);
                    }
                    if (autoCommit) {
                      insert(c, table, "g", token);
                    } else {
                      insert(c, table, "g", token);
                      try (Statement s = c.createStatement()) {
                        s.execute("SELECT pg_sleep(0.001)");
                      }
                      insert(c, table, "g", token);
                      c.commit();
                    }
                    committed.incrementAndGet();
                  } catch (SQLException e) {
                    String state = e.getSQLState() == null ? "" : e.getSQLState();
                    boolean expected =
                        state.equals(FenceSchema.SQLSTATE_STALE_TOKEN)
                            || state.equals(FenceSchema.SQLSTATE_TOKEN_AHEAD)
                            || state.equals("57P01") // terminated by an advance
                            || state.startsWith("08");
                    if (!expected) {
                      unexpected.add(e);
                    }
                    try {
                      if (c != null && !c.isClosed() && !autoCommit) {
                        c.rollback();
                      }
                    } catch (SQLException gone) {
                      c = null; // the session was terminated: open a new one
                    }
                  }
                }
                try {
                  if (c != null) {
                    c.close();
                  }
                } catch (SQLException ignored) {
                  // closing at the end of the test
                }
              },
              "gen-" + g);
      threads.add(t);
      t.start();
    }
    for (int g = 1; g <= generations; g++) {
      AtomicInteger current = commits.get(g - 1);
      await("generation " + g + " commits")
          .atMost(Duration.ofSeconds(60))
          .until(() -> current.get() >= 10);
      if (g < generations) {
        advancer.advance(g + 1, TestStepContext.promote(g + 1));
      }
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
    }

    assertThat(unexpected).isEmpty();
    // Every row takes its id from a sequence after its transaction's check, so ids follow the
    // fence: a token never appears after a higher one.
    List<Long> tokens = new ArrayList<>();
    try (Connection c = raw.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT token FROM " + table + " ORDER BY id")) {
      while (rs.next()) {
        tokens.add(rs.getLong(1));
      }
    }
    assertThat(tokens).isSorted();
    assertThat(tokens)
        .containsAll(java.util.stream.LongStream.rangeClosed(1, generations).boxed().toList());
  }

  private Thread writer(
      String name,
      long token,
      AtomicBoolean stop,
      CountDownLatch running,
      java.util.function.Consumer<SQLException> onError,
      AtomicInteger commits) {
    return new Thread(
        () -> {
          while (!stop.get()) {
            try (Connection c = fenced.connection(token)) {
              c.setAutoCommit(false);
              try {
                insert(c, table, name, token);
                try (Statement s = c.createStatement()) {
                  s.execute("SELECT pg_sleep(0.002)");
                }
                insert(c, table, name, token);
                c.commit();
                commits.incrementAndGet();
              } catch (SQLException e) {
                onError.accept(e);
                try {
                  c.rollback();
                } catch (SQLException ignored) {
                  // a terminated session cannot roll back; nothing was committed either way
                }
              }
            } catch (SQLException e) {
              onError.accept(e);
            }
            running.countDown();
          }
        },
        "writer-" + name);
  }

  @Test
  void autoCommitStatementsAreCheckedOneByOne() throws Exception {
    fence().advance(3, TestStepContext.promote(3));
    try (Connection c = fenced.connection(3)) {
      assertThat(c.getAutoCommit()).isTrue();
      insert(c, table, "a", 3);
      try (Statement s = c.createStatement()) {
        s.setFetchSize(1);
        try (ResultSet rs = s.executeQuery("SELECT writer FROM " + table)) {
          // The statement's transaction has committed; the result is read whole before that.
          assertThat(rs.next()).isTrue();
          assertThat(rs.getString(1)).isEqualTo("a");
        }
        assertThat(s.getFetchSize()).isEqualTo(1);
      }
      assertThat(c.getAutoCommit()).isTrue();
      // Each statement committed on its own: another session sees it.
      assertThat(rows()).containsExactly("a@3");
      // A failing statement commits nothing and leaves the connection usable.
      assertThatThrownBy(
              () -> {
                try (Statement s = c.createStatement()) {
                  s.execute("INSERT INTO " + table + " (writer, token) VALUES (NULL, 3)");
                }
              })
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("null value");
      fence().advance(4, TestStepContext.promote(4));
      assertThatThrownBy(() -> insert(c, table, "a", 3)).isInstanceOf(StaleTokenSQLException.class);
      assertThat(c.getAutoCommit()).isTrue();
    }
    assertThat(rows()).containsExactly("a@3");
  }

  @Test
  void theTokenSourceIsAskedForEachTransaction() throws Exception {
    AtomicLong current = new AtomicLong(10);
    DataSource app = fenced.withTokenSource(current::get);
    fence().advance(10, TestStepContext.promote(10));
    try (Connection c = app.getConnection()) {
      insert(c, table, "n", 10);
      current.set(11);
      // The next statement carries token 11, ahead of the fence until the active advances it.
      assertThatThrownBy(() -> insert(c, table, "n", 11))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("ahead of the fence")
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo(FenceSchema.SQLSTATE_TOKEN_AHEAD);
      fence().advance(11, TestStepContext.promote(11));
      insert(c, table, "n", 11);
    }
    try (Connection c =
        fenced
            .withTokenSource(
                () -> {
                  throw new IllegalStateException("node-1 is not active");
                })
            .getConnection()) {
      assertThatThrownBy(() -> insert(c, table, "n", 0))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("no fencing token for resource '" + resource + "'")
          .hasMessageContaining("not active");
    }
    assertThatThrownBy(fenced::getConnection).hasMessageContaining("no fencing token bound");
    assertThat(rows()).containsExactly("n@10", "n@11");
  }

  @Test
  void aFenceThatWasNeverAdvancedRefusesWithAClearError() throws Exception {
    FenceSchema.defaultSchema().install(raw);
    try (Connection c = fenced.connection(1)) {
      assertThatThrownBy(() -> insert(c, table, "x", 1))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("no fence row for resource \"" + resource + "\"")
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo(FenceSchema.SQLSTATE_NO_FENCE);
    }
    assertThat(rows()).isEmpty();
  }

  @Test
  void readOnlyConnectionsSkipTheFenceAndCannotWrite() throws Exception {
    fence().advance(8, TestStepContext.promote(8));
    server.execute("INSERT INTO " + table + " (writer, token) VALUES ('seed', 0)");
    try (Connection c = fenced.connection(2)) { // stale token, but only reading
      c.setReadOnly(true);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
      assertThatThrownBy(() -> insert(c, table, "x", 2))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("read-only transaction");
    }
    try (Connection c = fenced.connection(8)) {
      c.setReadOnly(true);
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.executeQuery("SELECT count(*) FROM " + table).close();
      }
      // An open read-only transaction holds no fence lock: the advance does not wait for it.
      fence().advance(9, Duration.ofSeconds(2));
      assertThatThrownBy(() -> c.unwrap(FencedConnection.class).checkFence())
          .hasMessageContaining("read-only transaction");
      c.rollback();
    }
    assertThat(rows()).containsExactly("seed@0");
  }

  @Test
  void guardedTableRefusesWritesThatDidNotCheckTheFence() throws Exception {
    fence().advance(4, TestStepContext.promote(4));
    try (Connection c = raw.getConnection()) {
      FenceSchema.defaultSchema().guardTable(c, "public." + table, resource);
    }
    assertThatThrownBy(() -> server.execute("INSERT INTO " + table + " VALUES (1, 'raw', 0)"))
        .hasMessageContaining("did not check the fence of resource \"" + resource + "\"");
    try (Connection c = fenced.connection(4)) {
      insert(c, table, "fenced", 4);
      c.setAutoCommit(false);
      insert(c, table, "fenced", 4);
      c.commit();
      // After the commit the check's mark is gone with the transaction: an unchecked write
      // through the unwrapped driver connection is refused.
      Connection driver = (Connection) c.unwrap(org.postgresql.PGConnection.class);
      assertThatThrownBy(() -> insert(driver, table, "raw", 0))
          .hasMessageContaining("did not check the fence");
      c.rollback();
    }
    assertThat(rows()).containsExactly("fenced@4", "fenced@4");
  }

  @Test
  void checkFenceCoversWorkDoneThroughTheUnwrappedDriverConnection() throws Exception {
    fence().advance(5, TestStepContext.promote(5));
    try (Connection c = fenced.connection(5)) {
      assertThatThrownBy(() -> c.unwrap(FencedConnection.class).checkFence())
          .hasMessageContaining("auto-commit mode");
      c.setAutoCommit(false);
      Connection driver = (Connection) c.unwrap(org.postgresql.PGConnection.class);
      insert(driver, table, "copy", 5); // invisible to the fence: begins the transaction
      assertThat(c.unwrap(FencedConnection.class).checkFence()).isEqualTo(5);
      c.commit();

      insert(driver, table, "copy", 5);
      c.unwrap(FencedConnection.class).checkFence(); // passes now, holds the lock
      // An advance cannot pass the lock; without terminating blockers it times out.
      assertThatThrownBy(() -> fence().advance(6, Duration.ofMillis(300)))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("from token 5 to 6")
          .hasMessageContaining("transactions that hold token 5")
          .extracting(e -> ((SQLException) e).getSQLState())
          .isEqualTo("55P03");
      c.rollback();
    }
    try (Connection c = fenced.connection(5)) {
      c.setAutoCommit(false);
      Connection driver = (Connection) c.unwrap(org.postgresql.PGConnection.class);
      fence().advance(6, TestStepContext.promote(6));
      insert(driver, table, "late", 5);
      assertThatThrownBy(() -> c.unwrap(FencedConnection.class).checkFence())
          .isInstanceOf(StaleTokenSQLException.class);
      assertThatThrownBy(c::commit).isInstanceOf(StaleTokenSQLException.class);
    }
    // A late check inside a savepoint loses its lock when the savepoint is rolled back; the
    // check again at commit catches the advance that slipped in.
    try (Connection c = fenced.connection(6)) {
      c.setAutoCommit(false);
      Connection driver = (Connection) c.unwrap(org.postgresql.PGConnection.class);
      insert(driver, table, "savepoint", 6);
      try (Statement s = driver.createStatement()) {
        s.execute("SAVEPOINT s");
      }
      c.unwrap(FencedConnection.class).checkFence();
      try (Statement s = driver.createStatement()) {
        s.execute("ROLLBACK TO SAVEPOINT s");
      }
      fence().advance(7, Duration.ofSeconds(10));
      assertThatThrownBy(c::commit)
          .isInstanceOf(StaleTokenSQLException.class)
          .hasMessageContaining("offered token 6")
          .hasMessageContaining("holds token 7");
    }
    assertThat(rows()).containsExactly("copy@5");
  }

  @Test
  void worksOverAHikariPoolWithAutoCommitDefaults() throws Exception {
    HikariConfig config = new HikariConfig();
    config.setDataSource(raw);
    config.setMaximumPoolSize(2);
    config.setPoolName("fenced-test");
    try (HikariDataSource pool = new HikariDataSource(config)) {
      FencedDataSource overPool = FencedDataSource.builder(pool).resource(resource).build();
      fence().advance(6, TestStepContext.promote(6));
      for (int i = 0; i < 5; i++) {
        try (Connection c = overPool.connection(6)) {
          insert(c, table, "h", 6);
        }
      }
      try (Connection c = overPool.connection(6)) {
        c.setAutoCommit(false);
        insert(c, table, "h", 6);
        // returned to the pool without commit: Hikari rolls it back
      }
      fence().advance(9, TestStepContext.promote(9));
      try (Connection c = overPool.connection(6)) {
        c.setAutoCommit(false);
        assertThatThrownBy(() -> insert(c, table, "h", 6))
            .isInstanceOf(StaleTokenSQLException.class);
      }
      try (Connection c = overPool.connection(9)) {
        insert(c, table, "h", 9);
        assertThat(c.unwrap(FencedConnection.class).resource()).isEqualTo(resource);
      }
    }
    assertThat(rows()).containsExactly("h@6", "h@6", "h@6", "h@6", "h@6", "h@9");
  }

  @Test
  void advanceIsIdempotentAndRefusesToGoBack() throws Exception {
    PostgresFence f = fence();
    assertThat(f.currentToken()).isZero();
    f.advance(12, TestStepContext.promote(12));
    f.advance(12, TestStepContext.promote(12));
    assertThat(f.currentToken()).isEqualTo(12);
    assertThatThrownBy(() -> f.advance(11, TestStepContext.promote(11)))
        .isInstanceOf(StaleTokenException.class)
        .hasMessageContaining(resource)
        .hasMessageContaining("offered token 11")
        .hasMessageContaining("holds token 12");
    assertThat(f.currentToken()).isEqualTo(12);
    assertThat(f.name()).isEqualTo("postgres-fence:" + resource);
  }

  @Test
  void aFenceInAnotherSchemaIsIndependentOfTheDefaultOne() throws Exception {
    FenceSchema other = FenceSchema.named("app_fence");
    PostgresFence otherFence = PostgresFence.builder(raw).resource(resource).schema(other).build();
    otherFence.advance(20, TestStepContext.promote(20));
    fence().advance(3, TestStepContext.promote(3));
    FencedDataSource inOther =
        FencedDataSource.builder(raw).resource(resource).schema(other).build();
    try (Connection c = inOther.connection(20)) {
      insert(c, table, "other", 20);
    }
    try (Connection c = inOther.connection(3)) {
      assertThatThrownBy(() -> insert(c, table, "other", 3))
          .isInstanceOf(StaleTokenSQLException.class)
          .hasMessageContaining("holds token 20");
    }
    try (Connection c = fenced.connection(3)) {
      insert(c, table, "default", 3);
    }
    assertThat(
            server.queryLong(
                "SELECT token FROM app_fence.fence WHERE resource = '" + resource + "'"))
        .isEqualTo(20);
    assertThat(rows()).containsExactly("other@20", "default@3");
  }

  @Test
  void schemaInstallIsIdempotentUnderConcurrency() throws Exception {
    List<CompletableFuture<Integer>> installs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      installs.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return FenceSchema.defaultSchema().install(raw);
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              }));
    }
    for (CompletableFuture<Integer> f : installs) {
      assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(FenceSchema.CURRENT_VERSION);
    }
    assertThat(server.queryLong("SELECT count(*) FROM baton.schema_version"))
        .isEqualTo(3); // versions 1, 2 and 3, each applied once
    assertThatThrownBy(() -> FenceSchema.named("Bad-Name"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Bad-Name");
  }

  private static int pid(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void awaitSomeoneBlockedBy(int pid) {
    await("a session waits on the fence row lock held by pid " + pid)
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                server.queryLong(
                        "SELECT count(*) FROM pg_stat_activity WHERE "
                            + pid
                            + " = ANY (pg_blocking_pids(pid))")
                    > 0);
  }
}
