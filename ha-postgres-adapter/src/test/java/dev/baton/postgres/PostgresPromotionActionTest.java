package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.postgres.testing.ClusterKv;
import dev.baton.testing.postgres.PostgresPair;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PostgresPromotionActionTest {
  private static final String SECRET = "s3cret-never-printed";

  private final List<AutoCloseable> closeAtEnd = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closeAtEnd) {
      c.close();
    }
  }

  private PostgresPair pair() {
    PostgresPair pair = PostgresPair.start();
    closeAtEnd.add(pair);
    return pair;
  }

  private static PostgresEndpoint endpoint(PostgresServer s) {
    return PostgresEndpoint.of(s.host(), s.port());
  }

  private static PostgresPromotionAction.Builder action(
      PostgresServer target, PostgresServer... peers) {
    PostgresPromotionAction.Builder b =
        PostgresPromotionAction.builder()
            .target(endpoint(target))
            .password(SECRET)
            .connectTimeout(Duration.ofSeconds(2))
            .catchUpTimeout(Duration.ofSeconds(5))
            .fenceResources("orders");
    for (PostgresServer p : peers) {
      b.peer(endpoint(p));
    }
    return b;
  }

  private static long count(PostgresServer s, String table) {
    return s.queryLong("SELECT count(*) FROM " + table);
  }

  /**
   * A first promotion attempt of node n2 with {@code token}, after {@code previousActive}'s
   * activation with {@code previousToken} (a 60 s deadline and a valid lease).
   */
  private static TestStepContext onN2After(long token, String previousActive, long previousToken) {
    return new TestStepContext(
        token,
        "test-cluster",
        "n2",
        java.util.Optional.of(previousActive),
        previousToken,
        dev.baton.core.StepContext.Phase.PROMOTE,
        1,
        Duration.ofSeconds(60),
        OptionalLong.empty(),
        true);
  }

  @Test
  void promotesTheStandbyFencesTheOldPrimaryPublishesTheWriterAndReRunsHarmlessly()
      throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    primary.execute("CREATE TABLE t (v text)");
    primary.execute("INSERT INTO t VALUES ('before')");
    pair.awaitReplayCaughtUp();
    Connection oldClient = primary.connect(); // a client session of the old active
    WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
    PostgresPromotionAction action = action(standby, primary).writerEndpoint(writer).build();

    action.promote(TestStepContext.promote(5));

    assertThat(standby.isInRecovery()).isFalse();
    standby.execute("INSERT INTO t VALUES ('after')");
    assertThat(count(standby, "t")).isEqualTo(2);
    // The old primary refuses writes, and its old client sessions were cut.
    assertThatThrownBy(() -> primary.execute("INSERT INTO t VALUES ('split-brain')"))
        .hasMessageContaining("read-only transaction");
    assertThatThrownBy(
            () -> {
              try (Statement s = oldClient.createStatement()) {
                s.execute("INSERT INTO t VALUES ('old-session')");
              }
            })
        .isInstanceOf(SQLException.class);
    oldClient.close();
    assertThat(count(primary, "t")).isEqualTo(1);
    // The fence on the new primary holds the new token; the writer is published.
    assertThat(PostgresFence.of(standby.dataSource(), "orders").currentToken()).isEqualTo(5);
    assertThat(writer.current())
        .hasValue(new WriterEndpoint.Writer(standby.jdbcUrl(), 5, "node-test"));

    // A retry or a successor's re-run with the same token changes nothing.
    action.promote(TestStepContext.promote(5).attempt(2));
    assertThat(standby.isInRecovery()).isFalse();
    assertThat(count(standby, "t")).isEqualTo(2);
    assertThat(PostgresFence.of(standby.dataSource(), "orders").currentToken()).isEqualTo(5);
    assertThat(writer.current().orElseThrow().token()).isEqualTo(5);
    assertThatThrownBy(() -> primary.execute("INSERT INTO t VALUES ('split-brain')"))
        .hasMessageContaining("read-only transaction");
  }

  @Test
  void refusesALaggingStandbyAndPromotesOnRetryOnceItCaughtUp() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    standby.execute("SELECT pg_wal_replay_pause()");
    await("replay paused")
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> standby.queryString("SELECT pg_get_wal_replay_pause_state()").equals("paused"));
    primary.execute("CREATE TABLE big (id int, pad text)");
    primary.execute("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
    PostgresPromotionAction action =
        action(standby, primary)
            .maximumLagBytes(64 * 1024)
            .catchUpTimeout(Duration.ofMillis(300))
            .build();

    assertThatThrownBy(() -> action.promote(TestStepContext.promote(3)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("refusing to promote standby " + standby.endpoint())
        .hasMessageContaining("bytes behind the last known primary position")
        .hasMessageContaining("the fenced old primary " + primary.endpoint())
        .hasMessageContaining("the maximum lag is 65536 bytes");
    assertThat(standby.isInRecovery()).isTrue();
    // The old primary stays fenced: no writer rather than a stale one.
    assertThatThrownBy(() -> primary.execute("INSERT INTO big VALUES (0, '')"))
        .hasMessageContaining("read-only transaction");

    standby.execute("SELECT pg_wal_replay_resume()");
    action.promote(TestStepContext.promote(3).attempt(2));
    assertThat(standby.isInRecovery()).isFalse();
    assertThat(count(standby, "big")).isEqualTo(20000);
  }

  @Test
  void anUnreachableStandbyGivesAClearErrorAndTheActionCanBeRetried() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    standby.stopFast();
    PostgresPromotionAction action = action(standby, primary).build();

    assertThatThrownBy(() -> action.promote(TestStepContext.promote(9)))
        .isInstanceOf(PostgresUnreachableException.class)
        .hasMessageContaining("cannot connect to the standby to promote at " + standby.endpoint())
        .hasMessageContaining("user postgres")
        .hasMessageNotContaining(SECRET)
        .satisfies(
            e ->
                assertThat(((PostgresUnreachableException) e).endpoint().port())
                    .isEqualTo(standby.port()));
    // Nothing was touched: the old primary still takes writes.
    primary.execute("CREATE TABLE t (v int)");

    standby.start();
    pair.awaitStreaming();
    action.promote(TestStepContext.promote(9).attempt(2));
    assertThat(standby.isInRecovery()).isFalse();
    standby.execute("INSERT INTO t VALUES (1)");
  }

  @Test
  void preflightReachesTheStandbyAndChangesNothingAndAnUnreachableStandbyIsNamed()
      throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    PostgresPromotionAction action = action(standby, primary).build();

    action.preflight();
    // Nothing was touched: the standby still replays, the primary still takes writes.
    assertThat(standby.isInRecovery()).isTrue();
    primary.execute("CREATE TABLE preflight (v int)");

    standby.stopFast();
    // The pre-flight does not know yet what the server is: it names it as this node's own.
    assertThatThrownBy(action::preflight)
        .isInstanceOf(PostgresUnreachableException.class)
        .hasMessageContaining("cannot connect to this node's server at " + standby.endpoint())
        .hasMessageNotContaining("standby to promote")
        .hasMessageNotContaining(SECRET);
    primary.execute("INSERT INTO preflight VALUES (1)");
  }

  /**
   * On the node whose own server is the primary (east-1 in the two-regions example), the pre-flight
   * must not call that server "the standby to promote".
   */
  @Test
  void preflightOnTheNodeOfThePrimaryNamesItsOwnServerAndNeverCallsItTheStandby() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    PostgresPromotionAction action = action(primary, standby).build();

    action.preflight();
    assertThat(primary.isInRecovery()).isFalse();
    assertThat(standby.isInRecovery()).isTrue();

    primary.stopFast();
    assertThatThrownBy(action::preflight)
        .isInstanceOf(PostgresUnreachableException.class)
        .hasMessageContaining("cannot connect to this node's server at " + primary.endpoint())
        .hasMessageNotContaining("standby")
        .hasMessageNotContaining(SECRET);
  }

  @Test
  void aDeadOldPrimaryIsSkippedAndThePositionCheckUsesTheConfiguredSource() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    primary.execute("CREATE TABLE t (v int)");
    pair.awaitReplayCaughtUp();
    long replayed = Lsn.parse(standby.queryString("SELECT pg_last_wal_replay_lsn()"));
    primary.stopImmediately();

    // Without a stop command the dead old primary cannot be fenced: refused by default.
    assertThatThrownBy(() -> action(standby, primary).build().promote(TestStepContext.promote(4)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("peer " + primary.endpoint() + " is unreachable and cannot be fenced")
        .hasMessageContaining("stopCommand");
    assertThat(standby.isInRecovery()).isTrue();

    // The rest of this test is about the lag check: it accepts the risk explicitly.
    assertThatThrownBy(
            () ->
                action(standby, primary)
                    .allowUnfencedOldPrimary(true)
                    .refuseWhenPositionUnknown(true)
                    .build()
                    .promote(TestStepContext.promote(4)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("no last primary position is known");
    assertThatThrownBy(
            () ->
                action(standby, primary)
                    .allowUnfencedOldPrimary(true)
                    .maximumLagBytes(1000)
                    .lastKnownPrimaryPosition(() -> OptionalLong.of(replayed + 5000))
                    .build()
                    .promote(TestStepContext.promote(4)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("5000 bytes behind")
        .hasMessageContaining("the last published primary position");
    assertThat(standby.isInRecovery()).isTrue();

    action(standby, primary)
        .allowUnfencedOldPrimary(true)
        .lastKnownPrimaryPosition(() -> OptionalLong.of(replayed))
        .build()
        .promote(TestStepContext.promote(4));
    assertThat(standby.isInRecovery()).isFalse();
    standby.execute("INSERT INTO t VALUES (1)");
  }

  @Test
  void theLagCheckUsesThePositionTheActiveReportedWhenTheOldPrimaryIsGone() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
    standby.execute("SELECT pg_wal_replay_pause()");
    await("replay paused")
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> standby.queryString("SELECT pg_get_wal_replay_pause_state()").equals("paused"));
    primary.execute("CREATE TABLE big (id int, pad text)");
    primary.execute("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
    long written = Lsn.parse(primary.queryString("SELECT pg_current_wal_lsn()"));
    try (WalPositionReporter reporter =
        WalPositionReporter.start(
            writer, primary.dataSource(), FencingTokenSource.fixed(2), Duration.ofMillis(50))) {
      await("the position is reported")
          .atMost(Duration.ofSeconds(30))
          .until(() -> writer.lastKnownPosition().orElse(0) >= written);
    }
    // A report from an older activation cannot overwrite it.
    assertThatThrownBy(() -> writer.publishPosition(written + 1, 1))
        .isInstanceOf(dev.baton.core.StaleTokenException.class);
    primary.stopImmediately();

    PostgresPromotionAction action =
        action(standby, primary)
            .allowUnfencedOldPrimary(true) // this test is about the lag check, not fencing
            .maximumLagBytes(64 * 1024)
            .lastKnownPrimaryPosition(writer::lastKnownPosition)
            .build();
    assertThatThrownBy(() -> action.promote(TestStepContext.promote(3)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("refusing to promote standby " + standby.endpoint())
        .hasMessageContaining("the last published primary position");
    standby.execute("SELECT pg_wal_replay_resume()");
    await("the standby replays what it received")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                Lsn.parse(standby.queryString("SELECT pg_last_wal_replay_lsn()"))
                    >= writer.lastKnownPosition().getAsLong() - 32 * 1024);
    action.promote(TestStepContext.promote(3).attempt(2));
    assertThat(count(standby, "big")).isEqualTo(20000);
  }

  /**
   * The scenario: the active next to the primary is paused with an open transaction while
   * the sites are cut apart; the other site's node cannot reach the old primary. Promoting past it
   * would let the resumed active commit there, and pg_rewind would later discard that acknowledged
   * write. The cut is real: the promoter reaches the primary through an address it does not listen
   * on, the stale active through its own.
   */
  @Test
  void promotionPastAnUnreachableOldPrimaryIsRefusedUnlessAStopCommandStopsIt() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    primary.execute("CREATE TABLE t (v text)");
    pair.awaitReplayCaughtUp();
    // The stale active's open transaction on the old primary.
    Connection stale = primary.connect();
    closeAtEnd.add(stale);
    stale.setAutoCommit(false);
    try (Statement st = stale.createStatement()) {
      st.execute("INSERT INTO t VALUES ('stale-active')");
    }
    // The promoter's route to the old primary is cut: same server, an address it does not answer.
    PostgresEndpoint cutOff = PostgresEndpoint.of("127.0.0.77", primary.port());
    TestStepContext ctx = onN2After(7, "n1", 6);
    PostgresPromotionAction refused =
        PostgresPromotionAction.builder()
            .target(endpoint(standby))
            .peer(cutOff, "n1")
            .password(SECRET)
            .connectTimeout(Duration.ofSeconds(2))
            .fenceResources("orders")
            .build();

    assertThatThrownBy(() -> refused.promote(ctx))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("refusing to promote " + standby.endpoint())
        .hasMessageContaining("peer 127.0.0.77:" + primary.port() + " (next to node n1)")
        .hasMessageContaining("unreachable and cannot be fenced")
        .hasMessageContaining("the previous active was node n1")
        .hasMessageContaining("stopCommand")
        .hasMessageNotContaining(SECRET);
    assertThat(standby.isInRecovery()).as("nothing was promoted").isTrue();
    // n2 held the role itself before (token 7), lost it and won it back: the message says it
    // was this node, not "node n2". (An attempt of n2's own that did not complete is not named at
    // all: previousActive() passes it over, so a retry sees n1, as above.)
    TestStepContext again = onN2After(8, "n2", 7);
    assertThatThrownBy(() -> refused.promote(again))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("the previous active was this node itself (token 7)")
        .hasMessageNotContaining("the previous active was node n2");
    assertThat(standby.isInRecovery()).as("nothing was promoted").isTrue();
    // The stale active's commit is acknowledged, and it is not lost: the standby, still a standby,
    // replays it.
    stale.commit();
    await("the standby replays the stale active's commit")
        .atMost(Duration.ofSeconds(30))
        .until(() -> count(standby, "t") == 1);

    // With a stop command (STONITH) configured, the unreachable old primary is stopped first.
    try (Statement st = stale.createStatement()) {
      st.execute("INSERT INTO t VALUES ('stale-again')");
    }
    List<String> stop = new ArrayList<>(PostgresServer.asPostgresPrefix());
    stop.addAll(
        List.of(
            PostgresServer.bin("pg_ctl"),
            "stop",
            "-D",
            primary.dataDir().toString(),
            "-m",
            "immediate"));
    PostgresPromotionAction.builder()
        .target(endpoint(standby))
        .peer(cutOff, "n1")
        .password(SECRET)
        .connectTimeout(Duration.ofSeconds(2))
        .fenceResources("orders")
        .stopCommand(stop, Duration.ofSeconds(30))
        .build()
        .promote(ctx);
    assertThat(standby.isInRecovery()).isFalse();
    assertThatThrownBy(stale::commit)
        .as("the stopped old primary cannot acknowledge the stale active's commit")
        .isInstanceOf(SQLException.class);
    assertThat(count(standby, "t")).isEqualTo(1);
  }

  /**
   * Issue 32, section 1: with fence protocol 3's time bound, promotion past an unreachable old
   * primary needs no stop command and no opt-out, because the old primary refuses its token by
   * itself once the old active's lease ended. The cut is real (the promoter reaches the old primary
   * through an address it does not listen on); the stale active's writer still reaches it. The
   * bound is trusted only where the standby's replayed copy of the fence shows it: a fence advanced
   * without it is refused as before, and with the bound off nothing changes.
   */
  @Test
  void withTheFenceTimeBoundAnUnreachableOldPrimaryNeedsNoStopCommandAndRefusesItsTokenByItself()
      throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    primary.execute("CREATE TABLE t (v text)");
    PostgresEndpoint cutOff = PostgresEndpoint.of("127.0.0.77", primary.port());
    TestStepContext ctx = onN2After(7, "n1", 6);

    // The old primary's fence advanced by a node without the bound (token 5): the standby's copy
    // shows it unbounded, so the bound cannot vouch for it and the promotion is refused.
    action(primary).build().promote(TestStepContext.promote(5));
    pair.awaitReplayCaughtUp();
    assertThatThrownBy(
            () -> action(standby).peer(cutOff, "n1").fenceTimeBound(true).build().promote(ctx))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("peer 127.0.0.77:" + primary.port() + " (next to node n1)")
        .hasMessageContaining("unreachable and cannot be fenced")
        .hasMessageContaining("resource 'orders' (token 5) has no time bound")
        .hasMessageContaining("stopCommand")
        .hasMessageNotContaining(SECRET);
    assertThat(standby.isInRecovery()).isTrue();

    // The old active n1 (token 6) promotes its own server with the bound and renews its lease.
    action(primary).fenceTimeBound(true).build().promote(TestStepContext.promote(6));
    PostgresFence oldFence =
        PostgresFence.builder(primary.dataSource())
            .resource("orders")
            .timeBound(true)
            .maxRenewalTime(Duration.ofSeconds(1))
            .build();
    oldFence.renewLease(6, Duration.ofSeconds(3)).orElseThrow();
    // Its writer's transaction passes the check on the old primary before n1's lease ends.
    Connection stale = primary.connect();
    closeAtEnd.add(stale);
    stale.setAutoCommit(false);
    try (Statement st = stale.createStatement()) {
      st.execute("SELECT baton.check_fence('orders', 6)");
      st.execute("INSERT INTO t VALUES ('stale-active')");
    }
    pair.awaitReplayCaughtUp();

    // Bound off: refused, exactly as before.
    assertThatThrownBy(() -> action(standby).peer(cutOff, "n1").build().promote(ctx))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("unreachable and cannot be fenced")
        .hasMessageContaining("the previous active was node n1")
        .hasMessageContaining("stopCommand")
        .hasMessageContaining("fenceTimeBound");
    assertThat(standby.isInRecovery()).isTrue();

    // n2 can be active only once n1's lease has ended, and n1's valid_until lies before that.
    await("n1's fence lease has ended on the old primary")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                primary
                    .queryString(
                        "SELECT clock_timestamp() > valid_until FROM baton.fence_lease"
                            + " WHERE resource = 'orders' AND token = 6")
                    .equals("t"));
    ch.qos.logback.classic.Logger n2Log =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ctx.log().getName());
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
        new ch.qos.logback.core.read.ListAppender<>();
    logged.start();
    n2Log.addAppender(logged);
    try {
      action(standby).peer(cutOff, "n1").fenceTimeBound(true).build().promote(ctx);
    } finally {
      n2Log.detachAppender(logged);
    }
    assertThat(standby.isInRecovery()).as("promoted with no stopCommand and no opt-out").isFalse();
    assertThat(logged.list)
        .anySatisfy(
            e -> {
              assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
              assertThat(e.getFormattedMessage())
                  .contains(
                      "old primary peer 127.0.0.77:"
                          + primary.port()
                          + " (next to node n1) unreachable; not stopped; it refuses writes with"
                          + " token 6 (resource orders) by itself since its fence lease (protocol"
                          + " 3) ended no later than the old active's lease");
            });

    // The old primary refuses n1's token by itself: the open transaction cannot commit, a new
    // check is refused.
    assertThatThrownBy(stale::commit)
        .isInstanceOf(SQLException.class)
        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("BT008"));
    try (Connection c = primary.connect();
        Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> st.execute("SELECT baton.check_fence('orders', 6)"))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("BT007"));
    }
    assertThat(count(primary, "t")).isZero();

    // The new primary accepts the new token once n2 renews its lease.
    PostgresFence newFence =
        PostgresFence.builder(standby.dataSource())
            .resource("orders")
            .timeBound(true)
            .maxRenewalTime(Duration.ofSeconds(1))
            .build();
    newFence.renewLease(7, Duration.ofSeconds(30)).orElseThrow();
    try (Connection c = standby.connect();
        Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("SELECT baton.check_fence('orders', 7)");
      st.execute("INSERT INTO t VALUES ('n2')");
      c.commit();
    }
    assertThat(standby.queryString("SELECT string_agg(v, ',') FROM t")).isEqualTo("n2");
  }

  @Test
  void aStopCommandFencesTheOldPrimaryByStoppingIt() throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    List<String> stop = new ArrayList<>(PostgresServer.asPostgresPrefix());
    stop.addAll(
        List.of(
            PostgresServer.bin("pg_ctl"),
            "stop",
            "-D",
            primary.dataDir().toString(),
            "-m",
            "immediate"));
    action(standby, primary)
        .stopCommand(stop, Duration.ofSeconds(30))
        .build()
        .promote(TestStepContext.promote(2));
    assertThat(standby.isInRecovery()).isFalse();
    assertThatThrownBy(primary::connect).isInstanceOf(SQLException.class);

    List<String> failing = List.of("sh", "-c", "exit 7");
    assertThatThrownBy(
            () ->
                action(standby, primary)
                    .stopCommand(failing, Duration.ofSeconds(30))
                    .build()
                    .promote(TestStepContext.promote(3)))
        .hasMessageContaining("stop command for old primary " + primary.endpoint())
        .hasMessageContaining("exited with 7");
  }

  /**
   * A stop command that runs out of time is killed with every child it started: a STONITH script's
   * {@code ssh} or API call must not stop a server later, after the promotion gave up on it.
   * Before, only the command itself was killed ({@code destroyForcibly}) and its child ran on.
   */
  @Test
  void aStopCommandThatTimesOutIsKilledWithItsChildren() throws Exception {
    PostgresPair pair = pair();
    java.nio.file.Path pidFile = pair.primary().baseDir().resolve("stonith-child.pid");
    List<String> stop =
        List.of("sh", "-c", "sleep 300 & echo $! > " + pidFile + "; echo stopping; wait");
    assertThatThrownBy(
            () ->
                action(pair.standby(), pair.primary())
                    .stopCommand(stop, Duration.ofSeconds(2))
                    .build()
                    .promote(TestStepContext.promote(4)))
        .hasMessageContaining("stop command for old primary " + pair.primary().endpoint())
        .hasMessageContaining("did not finish within PT2S; killed it and its children");
    long child = Long.parseLong(java.nio.file.Files.readString(pidFile).trim());
    org.awaitility.Awaitility.await("the stop command's child " + child + " to be gone")
        .atMost(Duration.ofSeconds(10))
        .until(() -> ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false), a -> !a);
    assertThat(pair.standby().isInRecovery()).as("not promoted").isTrue();
  }

  /**
   * Issue 28, item 6c: the stop command for a host that is already down cannot reach it and fails.
   * A re-run of the plan in the same activation (a retry, an idempotent re-run) must not need a
   * second STONITH of a peer that the first one stopped and that has not answered since. A new
   * activation (another token) stops it again: nothing tells it the server stayed down in between.
   */
  @Test
  void aRerunInTheSameActivationDoesNotStopAgainAPeerThatStayedDownAfterItsStonith()
      throws Exception {
    PostgresPair pair = pair();
    PostgresServer primary = pair.primary();
    PostgresServer standby = pair.standby();
    java.nio.file.Path marker = primary.baseDir().resolve("stonith-done");
    String stopIt =
        String.join(" ", PostgresServer.asPostgresPrefix())
            + " "
            + PostgresServer.bin("pg_ctl")
            + " stop -D "
            + primary.dataDir()
            + " -m immediate";
    // The first call powers the host off; later ones cannot reach it, as a script that ssh-es
    // into a dead host cannot.
    List<String> stop =
        List.of(
            "sh",
            "-c",
            "if [ -e "
                + marker
                + " ]; then echo 'host unreachable' >&2; exit 3; fi; touch "
                + marker
                + " && "
                + stopIt);
    PostgresPromotionAction action =
        action(standby, primary).stopCommand(stop, Duration.ofSeconds(30)).build();
    TestStepContext ctx = TestStepContext.promote(5);
    action.promote(ctx);
    assertThat(standby.isInRecovery()).isFalse();
    assertThatThrownBy(primary::connect).isInstanceOf(SQLException.class);

    try (dev.baton.testing.logs.LogCapture log = dev.baton.testing.logs.LogCapture.baton()) {
      action.promote(ctx.attempt(2));
      assertThat(log.warnings())
          .anySatisfy(
              w ->
                  assertThat(w)
                      .contains("not stopping peer " + primary.endpoint() + " again")
                      .contains("token 5"));
    }
    standby.execute("CREATE TABLE after_rerun (v int)");

    assertThatThrownBy(() -> action.promote(TestStepContext.promote(6)))
        .as("a new activation stops the unreachable peer again")
        .hasMessageContaining("stop command for old primary " + primary.endpoint())
        .hasMessageContaining("exited with 3");
  }

  @Test
  void aFormerPrimaryIsRefusedUntilRewoundAndThenRejoinsAsAStandbyAndCanFailBack()
      throws Exception {
    PostgresPair pair = pair();
    PostgresServer a = pair.primary();
    PostgresServer b = pair.standby();
    a.execute("CREATE TABLE t (v text)");
    a.execute("INSERT INTO t VALUES ('common')");
    pair.awaitReplayCaughtUp();
    WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));

    // A partition: b's node cannot reach a, promotes b without fencing a.
    action(b).writerEndpoint(writer).build().promote(TestStepContext.promote(5));
    // A stale client still reaches a and writes there: this write must not survive.
    a.execute("INSERT INTO t VALUES ('lost-on-old-primary')");
    b.execute("INSERT INTO t VALUES ('on-new-primary')");

    PostgresPromotionAction failBack = action(a, b).writerEndpoint(writer).build();
    assertThatThrownBy(() -> failBack.promote(TestStepContext.promote(6)))
        .isInstanceOf(PromotionRefusedException.class)
        .hasMessageContaining("refusing to promote " + a.endpoint())
        .hasMessageContaining("the published writer is " + b.jdbcUrl())
        .hasMessageContaining("pg_rewind");

    PgRewindRejoin rejoin =
        PgRewindRejoin.builder()
            .dataDirectory(a.dataDir())
            .runAs(PostgresServer.asPostgresPrefix())
            .local(endpoint(a))
            .logFile(a.baseDir().resolve("postgres.log"))
            .timeout(Duration.ofSeconds(60))
            .build();
    assertThat(rejoin.rejoin(endpoint(b))).isEqualTo(PgRewindRejoin.Outcome.REJOINED);
    assertThat(a.isInRecovery()).isTrue();
    assertThat(rejoin.rejoin(endpoint(b))).isEqualTo(PgRewindRejoin.Outcome.ALREADY_STANDBY);
    assertThatThrownBy(() -> rejoin.rejoin(endpoint(a))).hasMessageContaining("of itself");
    b.execute("INSERT INTO t VALUES ('streamed')");
    await("a replays from b")
        .atMost(Duration.ofSeconds(30))
        .ignoreExceptions()
        .until(() -> count(a, "t") == 3);
    assertThat(a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t"))
        .isEqualTo("common,on-new-primary,streamed");

    // Fail back: a is a standby again, so it can be promoted with a newer token.
    failBack.promote(TestStepContext.promote(6));
    assertThat(a.isInRecovery()).isFalse();
    a.execute("INSERT INTO t VALUES ('after-failback')");
    assertThatThrownBy(() -> b.execute("INSERT INTO t VALUES ('x')"))
        .hasMessageContaining("read-only transaction");
    assertThat(writer.current().orElseThrow().jdbcUrl()).isEqualTo(a.jdbcUrl());
    assertThat(PostgresFence.of(a.dataSource(), "orders").currentToken()).isEqualTo(6);
  }

  @Test
  void demoteMakesTheLocalPrimaryReadOnlyAndPromoteMakesItWritableAgain() throws Exception {
    PostgresServer server =
        PostgresServer.startPrimary("single", java.util.Map.of("synchronous_commit", "off"));
    closeAtEnd.add(server);
    assertThat(server.queryString("SHOW synchronous_commit")).isEqualTo("off");
    server.execute("CREATE TABLE t (v int)");
    PostgresPromotionAction action = action(server).build();
    TestStepContext ctx = TestStepContext.promote(1);
    action.promote(ctx); // already a primary: installs the fence, advances it
    server.execute("INSERT INTO t VALUES (1)");

    action.demote(ctx.demoting());
    assertThatThrownBy(() -> server.execute("INSERT INTO t VALUES (2)"))
        .hasMessageContaining("read-only transaction");

    action.promote(TestStepContext.promote(2));
    server.execute("INSERT INTO t VALUES (3)");
    assertThat(count(server, "t")).isEqualTo(2);
    assertThat(PostgresFence.of(server.dataSource(), "orders").currentToken()).isEqualTo(2);
  }
}
