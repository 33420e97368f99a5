package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.ChildEnvironment;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.postgres.testing.ClusterKv;
import dev.baton.testing.logs.LogCapture;
import dev.baton.testing.postgres.PostgresPair;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * An old primary that was not reachable during the failover comes back writable; the guard on its
 * node fences it and rejoins it as a standby of the published writer. The writer record lives in a
 * real one-node cluster's KV ({@link ClusterKv}).
 */
class FormerPrimaryGuardTest {

  private static PostgresEndpoint endpoint(PostgresServer s) {
    return PostgresEndpoint.of(s.host(), s.port());
  }

  /** A guard on a node whose role check always says "standby" (the worst case for a guard). */
  private static FormerPrimaryGuard onAStandbyNode(PostgresServer server, WriterEndpoint writer) {
    return FormerPrimaryGuard.builder()
        .local(endpoint(server))
        .writerEndpoint(writer)
        .isActive(() -> false)
        .build();
  }

  private static void promoteWithoutReachingTheOldPrimary(
      PostgresServer standby, WriterEndpoint writer, long token) throws Exception {
    PostgresPromotionAction.builder()
        .target(endpoint(standby))
        .writerEndpoint(writer)
        .fenceResources("orders")
        .build()
        .promote(TestStepContext.promote(token));
  }

  private static final String REJOIN_PASSWORD = "rejoin-password-never-in-a-postmaster";

  /**
   * The restarted postmaster (and so every backend) carries neither the password pg_rewind used nor
   * any variable of this JVM beyond {@link ChildEnvironment#INHERITED}: a secret this process held
   * in its environment (the cluster secret, say) would otherwise be readable in {@code
   * /proc/<pid>/environ} by the postgres OS user and any role with pg_read_server_files.
   */
  private static void assertThePostmasterInheritedNothingOfThisProcess(PostgresServer server)
      throws Exception {
    String pid = Files.readAllLines(server.dataDir().resolve("postmaster.pid")).get(0).strip();
    String environ = Files.readString(Path.of("/proc", pid, "environ"));
    List<String> names =
        Arrays.stream(environ.split("\0")).map(v -> v.replaceAll("=.*", "")).toList();
    assertThat(environ).doesNotContain(REJOIN_PASSWORD);
    assertThat(names).doesNotContain("PGPASSWORD");
    List<String> ours =
        System.getenv().keySet().stream()
            .filter(n -> !ChildEnvironment.INHERITED.contains(n) && !n.startsWith("LC_"))
            // what a shell on the way (pg_ctl starts the postmaster through /bin/sh) sets itself
            .filter(n -> !List.of("PWD", "OLDPWD", "SHLVL", "_").contains(n))
            .toList();
    assertThat(ours).as("this JVM's variables (the test needs some)").isNotEmpty();
    assertThat(names).as("the postmaster's environment").doesNotContainAnyElementsOf(ours);
  }

  @Test
  void anOldPrimaryThatComesBackIsFencedAndRejoinedAsAStandby() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      a.execute("INSERT INTO t VALUES ('common')");
      pair.awaitReplayCaughtUp();
      WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
      promoteWithoutReachingTheOldPrimary(b, writer, 7);
      a.execute("INSERT INTO t VALUES ('diverged')"); // a stale client reached the old primary
      b.execute("INSERT INTO t VALUES ('new')");

      AtomicBoolean active = new AtomicBoolean(true);
      PgRewindRejoin rejoin =
          PgRewindRejoin.builder()
              .dataDirectory(a.dataDir())
              .runAs(PostgresServer.asPostgresPrefix())
              .local(endpoint(a))
              .logFile(a.baseDir().resolve("postgres.log"))
              .password(
                  REJOIN_PASSWORD) // loopback trust ignores it; pg_rewind gets it all the same
              .build();
      try (FormerPrimaryGuard guard =
          FormerPrimaryGuard.builder()
              .local(endpoint(a))
              .writerEndpoint(writer)
              .isActive(active::get)
              .rejoin(rejoin)
              .checkInterval(Duration.ofMillis(200))
              .build()) {
        // While its node is active, the guard leaves the server alone.
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.NODE_ACTIVE);
        a.execute("INSERT INTO t VALUES ('diverged-2')");

        active.set(false);
        guard.start();
        await("the old primary rejoined as a standby")
            .atMost(Duration.ofSeconds(60))
            .until(() -> guard.lastOutcome() == FormerPrimaryGuard.Outcome.STANDBY);
        assertThat(a.isInRecovery()).isTrue();
        assertThatThrownBy(() -> a.execute("INSERT INTO t VALUES ('x')"))
            .hasMessageContaining("read-only transaction");
        assertThePostmasterInheritedNothingOfThisProcess(a);
        b.execute("INSERT INTO t VALUES ('streamed')");
        await("the rejoined server replays from the writer")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () ->
                    a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t")
                        .equals("common,new,streamed"));
      }
    }
  }

  /** A diverged old primary {@code a}, {@code b} promoted past it, and a's guard with a rejoin. */
  private static FormerPrimaryGuard guardWithRejoin(PostgresServer a, WriterEndpoint writer) {
    return FormerPrimaryGuard.builder()
        .local(endpoint(a))
        .writerEndpoint(writer)
        .isActive(() -> false)
        .rejoin(rejoinOf(a))
        .checkInterval(Duration.ofHours(1)) // the test checks by hand
        .build();
  }

  /** Stops a server the guard started itself, which the fixture does not know is running. */
  private static void stopIfRunning(PostgresServer s) {
    try {
      PostgresServer.runPostgresBinary(
          "pg_ctl", "stop", "-D", s.dataDir().toString(), "-m", "immediate", "-w");
    } catch (RuntimeException e) {
      // not running
    }
  }

  /**
   * Issue 28, item 6a: a STONITH (or a crash) lands after the guard's rejoin: the server, now a
   * standby, is down. The guard stopped it for the rejoin and holds it still, so it starts it again
   * as a standby instead of reporting UNREACHABLE for ever.
   */
  @Test
  void aServerStoppedRightAfterItsRejoinIsStartedAgainAsAStandby() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      pair.awaitReplayCaughtUp();
      WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
      promoteWithoutReachingTheOldPrimary(b, writer, 7);
      a.execute("INSERT INTO t VALUES ('diverged')");
      try (FormerPrimaryGuard guard = guardWithRejoin(a, writer)) {
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.REJOINED);
        assertThat(a.isInRecovery()).isTrue();

        a.stopImmediately(); // the STONITH of a re-run promotion, just after the rejoin

        FormerPrimaryGuard.Outcome next = guard.checkNow();
        assertThat(next)
            .as("the guard brings back the server it stopped for its rejoin")
            .isEqualTo(FormerPrimaryGuard.Outcome.RESTARTED);
        assertThat(a.isInRecovery()).isTrue();
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.STANDBY);
        b.execute("INSERT INTO t VALUES ('streamed')");
        await("the restarted standby replays from the writer")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () -> a.queryString("SELECT string_agg(v, ',' ORDER BY v) FROM t"),
                "streamed"::equals);
      } finally {
        stopIfRunning(a);
      }
    }
  }

  /**
   * Issue 28, item 6: a promotion that runs again while a peer's guard holds it for a rejoin (the
   * server is down in the middle of it) does not STONITH it, and says so; once the guard is gone
   * its record stops moving, and a promotion stops the unreachable peer as before.
   */
  @Test
  void aPromotionDoesNotStonithAPeerWhoseGuardHoldsItForARejoin() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      pair.awaitReplayCaughtUp();
      KeyValueStore kv = ClusterKv.kv();
      WriterEndpoint writer = new WriterEndpoint(kv, ClusterKv.name("db"));
      promoteWithoutReachingTheOldPrimary(b, writer, 7);
      Path stonithLog = b.baseDir().resolve("stonith.log");
      PostgresPromotionAction rerun = withStonith(b, a, writer, stonithLog);
      String key = rejoinRecordKey(writer, a);
      FormerPrimaryGuard guard = guardWithRejoin(a, writer);
      try {
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.REJOINED);
        assertThat(kv.get(key)).as("the rejoin record, held after the rejoin").isPresent();
        a.stopImmediately(); // down while its guard holds it

        try (LogCapture log = LogCapture.baton()) {
          rerun.promote(TestStepContext.promote(8));
          assertThat(log.warnings())
              .anySatisfy(
                  w ->
                      assertThat(w)
                          .contains("not stopping peer " + a.endpoint())
                          .contains("STONITH skipped")
                          .contains(key));
        }
        assertThat(stonithLog).as("no STONITH of the server its guard holds").doesNotExist();

        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.RESTARTED);
        assertThat(a.isInRecovery()).isTrue();
      } finally {
        guard.close();
        stopIfRunning(a);
      }
      // The guard is gone and its server down: the record no longer moves, and once it has not
      // moved for the reader's own window (5 s by its clock) it is stale: a promotion (each one a
      // re-run with a new token) stops the unreachable peer as before.
      java.util.concurrent.atomic.AtomicLong token = new java.util.concurrent.atomic.AtomicLong(8);
      try (LogCapture log = LogCapture.baton()) {
        await("a promotion stops the peer whose guard is gone")
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  rerun.promote(TestStepContext.promote(token.incrementAndGet()));
                  return Files.exists(stonithLog);
                });
        assertThat(log.warnings())
            .anySatisfy(w -> assertThat(w).contains("has not moved").contains(a.endpoint()));
      }
      assertThat(Files.readString(stonithLog).strip()).isEqualTo(Integer.toString(a.port()));
    }
  }

  /**
   * A planned hand-over does not power the old primary off. The old active's demotion makes its
   * server read-only and, before the node resigns, its guard holds it (a live rejoin record), also
   * through the rest of the demotion; the successor's promotion then skips the stop command, says
   * why, and the guard rejoins the server as a standby of the new writer. Before, the successor ran
   * the stop command for every reachable old primary, even one its own active had just handed over.
   */
  @Test
  void aPlannedHandOverDoesNotStopTheOldPrimaryAndItsGuardRejoinsIt() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      pair.awaitReplayCaughtUp();
      KeyValueStore kv = ClusterKv.kv();
      WriterEndpoint writer = new WriterEndpoint(kv, ClusterKv.name("db"));
      String key = rejoinRecordKey(writer, a);
      Path stonithLog = b.baseDir().resolve("stonith.log");
      PostgresPromotionAction onA = withStonith(a, b, writer, stonithLog);
      onA.promote(TestStepContext.promote(7, "node-a"));
      assertThat(writer.current().orElseThrow().jdbcUrl()).isEqualTo(a.jdbcUrl());

      AtomicBoolean demoting = new AtomicBoolean(true);
      try (FormerPrimaryGuard guard =
          guardWithRejoin(a, writer, demoting, Duration.ofSeconds(30))) {
        guard.start();
        onA.demote(TestStepContext.promote(7, "node-a").demoting());
        assertThat(a.queryString("SHOW default_transaction_read_only")).isEqualTo("on");
        assertThat(kv.get(key)).as("the hand-over record, written by the demotion").isPresent();
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.NODE_ACTIVE);
        assertThat(kv.get(key)).as("kept while the node is still demoting").isPresent();
        demoting.set(false); // the node is a standby now and resigns
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.HANDED_OVER);

        try (LogCapture log = LogCapture.baton()) {
          withStonith(b, a, writer, stonithLog).promote(TestStepContext.promote(8, "node-b"));
          assertThat(log.warnings())
              .anySatisfy(
                  w ->
                      assertThat(w)
                          .contains("not stopping peer " + a.endpoint())
                          .contains("STONITH skipped"));
        }
        assertThat(stonithLog).as("no STONITH of the server handed over").doesNotExist();
        assertThat(writer.current().orElseThrow().jdbcUrl()).isEqualTo(b.jdbcUrl());

        await("the old primary rejoined as a standby of the new writer")
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    guard.checkNow() == FormerPrimaryGuard.Outcome.STANDBY
                        || guard.lastOutcome() == FormerPrimaryGuard.Outcome.REJOINED);
        assertThat(a.isInRecovery()).isTrue();
        b.execute("INSERT INTO t VALUES ('after-hand-over')");
        await("a streams from b")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(() -> "after-hand-over".equals(a.queryString("SELECT v FROM t")));
      } finally {
        stopIfRunning(a);
      }
    }
  }

  /**
   * The hand-over hold is bounded: when no successor publishes a writer within the linger, the
   * guard lets go of the server, and a promotion after that stops it as any reachable old primary.
   * A node that takes the role again also ends it at once.
   */
  @Test
  void aHandOverHoldEndsAfterTheLingerOrWhenTheNodeTakesTheRoleAgain() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      KeyValueStore kv = ClusterKv.kv();
      WriterEndpoint writer = new WriterEndpoint(kv, ClusterKv.name("db"));
      String key = rejoinRecordKey(writer, a);
      Path stonithLog = b.baseDir().resolve("stonith.log");
      PostgresPromotionAction onA = withStonith(a, b, writer, stonithLog);
      onA.promote(TestStepContext.promote(7, "node-a"));

      AtomicBoolean demoting = new AtomicBoolean(true);
      AtomicBoolean activeAgain = new AtomicBoolean(false);
      try (FormerPrimaryGuard guard =
          FormerPrimaryGuard.builder()
              .local(endpoint(a))
              .writerEndpoint(writer)
              .isActive(() -> demoting.get() || activeAgain.get())
              .holdsActivation(activeAgain::get)
              .rejoin(rejoinOf(a))
              .rejoinLinger(Duration.ofSeconds(5))
              .checkInterval(Duration.ofHours(1))
              .build()) {
        guard.start();
        onA.demote(TestStepContext.promote(7, "node-a").demoting());
        assertThat(kv.get(key)).isPresent();
        activeAgain.set(true); // elected again before it resigned: a new activation
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.NODE_ACTIVE);
        assertThat(kv.get(key)).as("a node active again holds no record").isEmpty();
        onA.promote(TestStepContext.promote(9, "node-a"));
        activeAgain.set(false);

        onA.demote(TestStepContext.promote(9, "node-a").demoting());
        demoting.set(false);
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.HANDED_OVER);
        await("the hold ends after the linger")
            .atMost(Duration.ofSeconds(30))
            .until(() -> guard.checkNow() == FormerPrimaryGuard.Outcome.IS_WRITER);
        assertThat(kv.get(key)).isEmpty();
        assertThat(guard.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.IS_WRITER);

        withStonith(b, a, writer, stonithLog).promote(TestStepContext.promote(10, "node-b"));
        assertThat(Files.readString(stonithLog).strip())
            .as("a server no longer held is stopped as before")
            .isEqualTo(Integer.toString(a.port()));
      } finally {
        stopIfRunning(a);
      }
    }
  }

  /** The key of {@code server}'s rejoin record ({@link RejoinRecords}). */
  private static String rejoinRecordKey(WriterEndpoint writer, PostgresServer server) {
    return "baton/postgres/" + writer.name() + "/rejoining/" + server.host() + ":" + server.port();
  }

  /**
   * The promotion action of {@code server}'s node, with {@code peer} and a stop command that
   * appends the port of each server it stops to {@code stonithLog}.
   */
  private static PostgresPromotionAction withStonith(
      PostgresServer server, PostgresServer peer, WriterEndpoint writer, Path stonithLog) {
    return PostgresPromotionAction.builder()
        .target(endpoint(server))
        .peer(endpoint(peer), "node-peer")
        .writerEndpoint(writer)
        .fenceResources("orders")
        .connectTimeout(Duration.ofSeconds(2))
        .stopCommand(
            List.of("sh", "-c", "echo $BATON_PG_PORT >> " + stonithLog), Duration.ofSeconds(30))
        .build();
  }

  private static PgRewindRejoin rejoinOf(PostgresServer a) {
    return PgRewindRejoin.builder()
        .dataDirectory(a.dataDir())
        .runAs(PostgresServer.asPostgresPrefix())
        .local(endpoint(a))
        .logFile(a.baseDir().resolve("postgres.log"))
        .build();
  }

  /** {@link #guardWithRejoin(PostgresServer, WriterEndpoint)} on a node that is demoting. */
  private static FormerPrimaryGuard guardWithRejoin(
      PostgresServer a, WriterEndpoint writer, AtomicBoolean demoting, Duration linger) {
    return FormerPrimaryGuard.builder()
        .local(endpoint(a))
        .writerEndpoint(writer)
        .isActive(demoting::get)
        .holdsActivation(() -> false)
        .rejoin(rejoinOf(a))
        .rejoinLinger(linger)
        .checkInterval(Duration.ofHours(1)) // the test checks by hand
        .build();
  }

  @Test
  void withoutARejoinTheOldPrimaryIsKeptReadOnlyAndTheWriterIsLeftAlone() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      pair.awaitReplayCaughtUp();
      WriterEndpoint writer = new WriterEndpoint(ClusterKv.kv(), ClusterKv.name("db"));
      FormerPrimaryGuard onA = onAStandbyNode(a, writer);
      FormerPrimaryGuard onB = onAStandbyNode(b, writer);
      assertThat(onA.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.NO_WRITER);

      promoteWithoutReachingTheOldPrimary(b, writer, 3);
      assertThat(onB.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.IS_WRITER);
      assertThat(onA.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.FENCED);
      assertThatThrownBy(() -> a.execute("INSERT INTO t VALUES ('x')"))
          .hasMessageContaining("read-only transaction");
      b.execute("INSERT INTO t VALUES ('y')");

      a.stopFast();
      try (LogCapture log = LogCapture.baton()) {
        assertThat(onA.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.UNREACHABLE);
        assertThat(onA.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.UNREACHABLE);
        // Said once, not on every check.
        assertThat(log.warnings())
            .filteredOn(w -> w.contains("the local server does not answer"))
            .hasSize(1)
            .allSatisfy(w -> assertThat(w).contains(a.host() + ":" + a.port()));
      }
      // Restarted, it is still read-only: the setting is in its postgresql.auto.conf.
      a.start();
      assertThatThrownBy(() -> a.execute("INSERT INTO t VALUES ('x')"))
          .hasMessageContaining("read-only transaction");
      assertThat(onA.checkNow()).isEqualTo(FormerPrimaryGuard.Outcome.FENCED);
    }
  }

  /**
   * The race CI found: the guard on a standby's node reads the published writer (the old primary)
   * through Raft; the read blocks through the leader change in which this node wins the role and
   * promotes its server; the guard then sees a primary that is not the writer and fenced it, so the
   * new active came up read-only. The guard must judge the server under the lock the promotion
   * holds until it has published the writer. Here the guard's read answers as of its start and is
   * held until the promotion has finished or is seen waiting for the lock.
   */
  /**
   * A real cluster's KV whose reads on the guard's check thread ({@code guard-check}) answer as of
   * their start and are then held by {@code hold}: the read is in flight while the test moves the
   * promotion on.
   */
  private static final class HeldReads implements KeyValueStore {
    private final KeyValueStore kv;
    private final Runnable hold;

    HeldReads(KeyValueStore kv, Runnable hold) {
      this.kv = kv;
      this.hold = hold;
    }

    @Override
    public Optional<KvEntry> get(String key) {
      Optional<KvEntry> asOfNow = kv.get(key);
      if (Thread.currentThread().getName().equals("guard-check")) {
        hold.run();
      }
      return asOfNow;
    }

    @Override
    public List<KvEntry> list(String prefix) {
      return kv.list(prefix);
    }

    @Override
    public KvEntry put(String key, byte[] value) {
      return kv.put(key, value);
    }

    @Override
    public Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
      return kv.compareAndSet(key, expected, update);
    }

    @Override
    public Optional<KvEntry> compareAndSetRevision(
        String key, long expectedRevision, byte[] update) {
      return kv.compareAndSetRevision(key, expectedRevision, update);
    }

    @Override
    public boolean delete(String key) {
      return kv.delete(key);
    }

    @Override
    public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
      return kv.watch(prefix, executor, listener);
    }

    @Override
    public Watch watch(
        String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
      return kv.watch(prefix, afterRevision, executor, listener);
    }
  }

  @Test
  void aGuardWhoseWriterReadRacesThisNodesPromotionNeverFencesTheNewPrimary() throws Exception {
    try (PostgresPair pair = PostgresPair.start()) {
      PostgresServer a = pair.primary();
      PostgresServer b = pair.standby();
      a.execute("CREATE TABLE t (v text)");
      pair.awaitReplayCaughtUp();
      CountDownLatch readStarted = new CountDownLatch(1);
      CountDownLatch releaseRead = new CountDownLatch(1);
      KeyValueStore kv =
          new HeldReads(
              ClusterKv.kv(),
              () -> {
                readStarted.countDown();
                try {
                  releaseRead.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      WriterEndpoint writer = new WriterEndpoint(kv, ClusterKv.name("db"));
      writer.publish(PostgresEndpoint.of(a.host(), a.port()).jdbcUrl(), 1, "node-a");
      // isActive false throughout: the worst case, a node whose role check says "standby".
      FormerPrimaryGuard guard = onAStandbyNode(b, writer);
      AtomicReference<FormerPrimaryGuard.Outcome> outcome = new AtomicReference<>();
      Thread check = new Thread(() -> outcome.set(guard.checkNow()), "guard-check");
      check.start();
      assertThat(readStarted.await(30, TimeUnit.SECONDS))
          .as("the guard's check read the writer record (through the held read)")
          .isTrue();

      CompletableFuture<Void> promotion =
          CompletableFuture.runAsync(
              () -> {
                try {
                  promoteWithoutReachingTheOldPrimary(b, writer, 2);
                } catch (Exception e) {
                  throw new CompletionException(e);
                }
              });
      ReentrantLock lock = LocalServerLocks.of(endpoint(b));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> promotion.isDone() || lock.hasQueuedThreads());
      // The race this test is named after: the promotion ran (or queued for the lock) while the
      // guard's read was still held, so the guard has judged nothing yet.
      assertThat(outcome.get()).as("the guard's check, still held in its read").isNull();
      assertThat(check.isAlive()).isTrue();
      releaseRead.countDown();
      check.join(30_000);
      promotion.get(30, TimeUnit.SECONDS);

      assertThat(outcome.get()).isNotEqualTo(FormerPrimaryGuard.Outcome.FENCED);
      assertThat(writer.current().orElseThrow().jdbcUrl()).isEqualTo(endpoint(b).jdbcUrl());
      b.execute("INSERT INTO t VALUES ('the new primary takes writes')");
    }
  }
}
