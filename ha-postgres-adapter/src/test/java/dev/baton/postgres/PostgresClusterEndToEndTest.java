package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.JournalEntry;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.PromotionPlan;
import dev.baton.core.StepContext;
import dev.baton.core.StepPolicy;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import dev.baton.testing.postgres.PostgresPair;
import dev.baton.testing.postgres.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Unplanned failover of a PostgreSQL deployment inside a real 3-member Baton cluster: real Ratis
 * nodes in this JVM ({@link TestCluster}), a real PostgreSQL 15 primary and streaming standby
 * ({@link PostgresPair}), all on loopback.
 *
 * <p><b>Topology.</b> Two sites and a tiebreaker, the deployment the design's vocabulary is built
 * for: {@code n1} runs next to the primary ("east"), {@code n2} next to the standby ("west"), and
 * {@code w1} is a witness in a third site with no database. A witness rather than a third eligible
 * voter because a third eligible voter without a database could win the role and would then have no
 * server to promote: its plan would fail (a failure back-off before another node may try) or it
 * would be active with no writer. The witness only breaks the tie, so losing either site leaves a
 * majority (the other site and the witness) that can only hand the role to the node that has a
 * database.
 *
 * <p>Each database node's plan is one {@link PostgresPromotionAction}: its own server is the
 * target, the other site's the peer; it fences the old primary when reachable, checks the lag
 * (against the position {@link WalPositionReporter} keeps in the KV when the old primary is gone),
 * promotes, advances the {@code orders} fence row on the new primary and publishes the writer
 * through {@link WriterEndpoint}. The fence is bounded in time ({@link
 * PostgresPromotionAction.Builder#fenceTimeBound}): each database node renews the lease of its own
 * server's fence row while it is active ({@link FenceLeaseRenewer}), so the promotion past the
 * unreachable old primary needs neither a stop command nor {@code allowUnfencedOldPrimary}. The
 * application on each node writes through a {@link FencedDataSource} over a {@link
 * HikariWriterPool} that follows that endpoint, with the node's own activation as token source.
 */
class PostgresClusterEndToEndTest {

  static final String DEPLOYMENT = "orders-db";
  static final String RESOURCE = "orders";
  private static final Duration LIVENESS = Duration.ofSeconds(60);
  private static final int ROWS_BEFORE = 20;
  private static final Duration RENEW_INTERVAL = Duration.ofMillis(100);

  @Test
  void losingTheActiveRegionPromotesTheOtherSitesStandbyAndFencesTheOldPrimary() throws Exception {
    try (PostgresPair pair = PostgresPair.start("east", "west")) {
      PostgresServer east = pair.primary();
      PostgresServer west = pair.standby();
      AtomicReference<TestCluster> clusterRef = new AtomicReference<>();
      List<AutoCloseable> toClose = new ArrayList<>();
      Map<String, PostgresPromotionAction> actions = new java.util.concurrent.ConcurrentHashMap<>();
      try (TestCluster cluster = twoSitesAndAWitness(east, west, clusterRef, actions);
          LogCapture log = LogCapture.baton()) {
        clusterRef.set(cluster);

        // ---- The east site comes up first (with the witness, a majority): n1 activates; its plan
        // finds its server already the primary, advances the fence and publishes it.
        CompletableFuture<BatonNode> witnessUp =
            CompletableFuture.supplyAsync(() -> cluster.start("w1"));
        BatonNode n1 = cluster.start("n1");
        witnessUp.join();
        // n1, while active, renews the lease of east's fence row (as its sidecar would).
        FenceLeaseRenewer renewer1 =
            actions.get("n1").startFenceLeaseRenewer(n1::activeContext, RENEW_INTERVAL);
        toClose.add(renewer1);
        ActiveContext first = awaitActivation(cluster);
        assertThat(first.nodeId()).isEqualTo("n1");
        WriterEndpoint.Writer firstWriter =
            new WriterEndpoint(n1.kv(), DEPLOYMENT).current().orElseThrow();
        assertThat(firstWriter.jdbcUrl()).isEqualTo(east.jdbcUrl());
        assertThat(firstWriter.node()).isEqualTo("n1");
        assertThat(firstWriter.token()).isGreaterThanOrEqualTo(first.token());
        assertThat(read(() -> east.isInRecovery())).isFalse();
        assertThat(read(() -> west.isInRecovery())).isTrue();

        // Every database node runs, next to its application, a guard for its own server.
        FormerPrimaryGuard guard1 = guard(n1, east);
        toClose.add(guard1);
        App app1 = new App(n1);
        toClose.add(app1);
        executeWhileActive(
            app1.db,
            "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, item text NOT NULL UNIQUE,"
                + " token bigint NOT NULL, node text NOT NULL)");
        for (int i = 0; i < ROWS_BEFORE; i++) {
          executeWhileActive(app1.db, insertSql("before-" + i, "n1"));
        }
        // The active reports the writer's WAL position, for a lag check without the old primary.
        WalPositionReporter reporter =
            WalPositionReporter.start(
                app1.endpoint, app1.pool, app1.tokenSource(), Duration.ofMillis(200));
        toClose.add(reporter);
        long written = read(() -> Lsn.parse(east.queryString("SELECT pg_current_wal_lsn()")));

        // ---- The west site joins.
        BatonNode n2 = cluster.start("n2");
        toClose.add(actions.get("n2").startFenceLeaseRenewer(n2::activeContext, RENEW_INTERVAL));
        FormerPrimaryGuard guard2 = guard(n2, west);
        toClose.add(guard2);
        App app2 = new App(n2);
        toClose.add(app2);
        await("n2's pool follows the published writer")
            .atMost(LIVENESS)
            .until(() -> east.jdbcUrl().equals(app2.pool.currentJdbcUrl()));
        assertThatThrownBy(() -> insert(app2.db, "from-standby", "n2"))
            .as("a standby node's application has no token to write with")
            .isInstanceOfSatisfying(
                SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("BT005"));

        // Under CPU starvation a leader change can move the role to n2 before the loss; its plan
        // then promotes west and n1's guard rejoins east. Put the deployment back the right way
        // round with a planned switch (the guards settle the servers), as an operator would.
        String activeNow = awaitActivation(cluster).nodeId();
        if (!activeNow.equals("n1")) {
          System.out.printf(
              "the role moved to %s before the loss; switching back to n1%n", activeNow);
          await("east rejoined as a standby")
              .atMost(LIVENESS)
              .until(() -> guard1.lastOutcome() == FormerPrimaryGuard.Outcome.STANDBY);
          cluster.node(activeNow).cluster().switchActive("n1", LIVENESS);
        }
        long token1Checked =
            await("n1 active with east as the published, fenced writer; west caught up")
                .atMost(LIVENESS)
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptions()
                .until(
                    () -> {
                      long t = n1.activeContext().map(ActiveContext::token).orElse(-1L);
                      boolean stable =
                          app2.endpoint
                                  .current()
                                  .equals(
                                      Optional.of(
                                          new WriterEndpoint.Writer(east.jdbcUrl(), t, "n1")))
                              && PostgresFence.of(east.dataSource(), RESOURCE).currentToken() == t
                              && app2.endpoint.lastKnownPosition().orElse(-1) >= written
                              && west.isInRecovery()
                              && replayed(west)
                                  >= Lsn.parse(east.queryString("SELECT pg_current_wal_lsn()"));
                      return stable ? t : -1L;
                    },
                    t -> t > 0);

        // West's node is in sync: it has applied the cluster's log up to a barrier written now.
        // This is a precondition, not a formality: the witness has a lower Ratis priority and
        // Ratis never elects it while an eligible peer (the dead n1) is unreachable, so an n2 whose
        // log is behind the witness's could never be elected either (seen with an n2 started
        // shortly before the loss; reported as a core liveness bug).
        AtomicLong appliedOnN2 = new AtomicLong();
        try (KeyValueStore.Watch barrierWatch =
            n2.kv()
                .watch(
                    "test/barrier",
                    Runnable::run,
                    e -> appliedOnN2.accumulateAndGet(e.revision(), Math::max))) {
          long barrier =
              n1.kv()
                  .put("test/barrier", "before-loss".getBytes(StandardCharsets.UTF_8))
                  .revision();
          await("n2 has applied the log up to the barrier")
              .atMost(LIVENESS)
              .until(() -> appliedOnN2.get() >= barrier);
        }

        // ---- Region loss: the east database and its node die together.
        long lost = System.nanoTime();
        east.stopImmediately();
        long crashed = System.nanoTime();
        cluster.crash("n1");
        guard1.close(); // n1's processes die with it
        renewer1.close();
        reporter.close();
        app1.close();

        AtomicLong activeAt = new AtomicLong();
        AtomicLong firstWriteAt = new AtomicLong();
        AtomicReference<ActiveContext> writtenUnder = new AtomicReference<>();
        AtomicReference<Exception> lastError = new AtomicReference<>();
        await("first write through the writer endpoint after the loss of east")
            .atMost(LIVENESS)
            .pollInterval(Duration.ofMillis(10))
            .until(
                () -> {
                  Optional<ActiveContext> active = n2.activeContext();
                  if (active.isEmpty()) {
                    return false; // the application writes only while its node is active
                  }
                  activeAt.compareAndSet(0, System.nanoTime());
                  try {
                    insert(app2.db, "after-0", "n2");
                    firstWriteAt.set(System.nanoTime());
                    writtenUnder.set(active.get());
                    return true;
                  } catch (SQLException e) {
                    lastError.set(e);
                    return false;
                  }
                });
        System.out.printf(
            "PostgreSQL failover (loss of n1 + its primary): n2 active %d ms, first write through"
                + " the writer endpoint %d ms after the loss (%d ms after the node crash; %s)%n",
            TimeUnit.NANOSECONDS.toMillis(activeAt.get() - lost),
            TimeUnit.NANOSECONDS.toMillis(firstWriteAt.get() - lost),
            TimeUnit.NANOSECONDS.toMillis(firstWriteAt.get() - crashed),
            lastError.get() == null
                ? "no write failed once n2 was active"
                : "last refused write: " + lastError.get().getMessage());

        // The new activation has a higher token; the crashed node's frozen belief has run out.
        // token1: the last activation the east site died with, as the journal records it (n1 may
        // have lost its lease and won the role again between the check above and the loss).
        long token1 =
            n2.cluster().journal().stream()
                .filter(
                    e ->
                        e.nodeId().equals("n1")
                            && e.step().equals("postgres")
                            && e.phase() == StepContext.Phase.PROMOTE
                            && e.outcome() == JournalEntry.Outcome.COMPLETED)
                .mapToLong(JournalEntry::token)
                .max()
                .orElseThrow();
        assertThat(token1).isGreaterThanOrEqualTo(token1Checked);
        long token2 = writtenUnder.get().token();
        assertThat(token2).isGreaterThan(token1);
        assertThat(n1.isActive()).isFalse();
        assertThat(cluster.node("w1").isActive()).isFalse();
        assertThat(n2.cluster().journal())
            .as("the promotion is journaled through Raft")
            .anySatisfy(
                e -> {
                  assertThat(e.nodeId()).isEqualTo("n2");
                  assertThat(e.token()).isEqualTo(token2);
                  assertThat(e.step()).isEqualTo("postgres");
                  assertThat(e.outcome()).isEqualTo(JournalEntry.Outcome.COMPLETED);
                });
        // n2 promoted west past the unreachable east under the fence's time bound, not through the
        // opt-out: its log names east as covered, with the token east's fence holds.
        List<String> warnings = log.warnings();
        assertThat(warnings)
            .as("no promotion went through allowUnfencedOldPrimary")
            .noneMatch(w -> w.contains("allowUnfencedOldPrimary"));
        java.util.regex.Matcher covered =
            java.util.regex.Pattern.compile(
                    "old primary peer "
                        + java.util.regex.Pattern.quote(endpoint(east).address())
                        + " \\(next to node n1\\) unreachable; not stopped; it refuses writes with"
                        + " token (\\d+) \\(resource "
                        + RESOURCE
                        + "\\) by itself since its fence lease \\(protocol 3\\) ended")
                .matcher(String.join("\n", warnings));
        assertThat(covered.find())
            .as("n2's promotion skipped east as covered by the time bound: %s", warnings)
            .isTrue();
        assertThat(Long.parseLong(covered.group(1)))
            .isGreaterThanOrEqualTo(token1Checked)
            .isLessThan(token2);

        // The standby was promoted, fenced at the new token, and published; every node sees it.
        // (On a loaded machine n2 may lose its lease and win the role again, with a newer token
        // that its plan advances and publishes the same way: hence "at least token2".)
        WriterEndpoint.Writer published =
            new WriterEndpoint(cluster.node("w1").kv(), DEPLOYMENT).current().orElseThrow();
        assertThat(published.jdbcUrl()).isEqualTo(west.jdbcUrl());
        assertThat(published.node()).isEqualTo("n2");
        assertThat(published.token()).isGreaterThanOrEqualTo(token2);
        assertThat(read(() -> PostgresFence.of(west.dataSource(), RESOURCE).currentToken()))
            .isEqualTo(published.token());
        assertThat(app2.pool.currentJdbcUrl()).isEqualTo(west.jdbcUrl());
        assertThat(read(() -> west.isInRecovery())).isFalse();
        assertThat(read(() -> west.queryLong("SELECT token FROM orders WHERE item = 'after-0'")))
            .isEqualTo(token2);

        for (int i = 1; i < 10; i++) {
          executeWhileActive(app2.db, insertSql("after-" + i, "n2"));
        }
        assertThat(
                read(
                    () -> west.queryLong("SELECT count(*) FROM orders WHERE item LIKE 'before-%'")))
            .as("every row committed before the loss (replayed by west) survived the failover")
            .isEqualTo(ROWS_BEFORE);
        assertThat(read(() -> west.queryLong("SELECT max(token) FROM orders WHERE node = 'n1'")))
            .isLessThanOrEqualTo(token1);
        assertThat(read(() -> west.queryLong("SELECT min(token) FROM orders WHERE node = 'n2'")))
            .isGreaterThanOrEqualTo(token2);
        assertThat(read(() -> west.queryLong("SELECT count(*) FROM orders WHERE node = 'n2'")))
            .isEqualTo(10);

        // The old primary is gone: nothing can be written there.
        FencedDataSource staleOnEast =
            FencedDataSource.builder(east.dataSource())
                .resource(RESOURCE)
                .build()
                .withToken(token1);
        assertThatThrownBy(() -> insert(staleOnEast, "stale-east", "n1"))
            .isInstanceOfSatisfying(
                SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("08001"));

        // A stale client of n1 that wakes up with token1 and reaches the new writer is refused by
        // the fence row, and commits nothing.
        String writerUrl = app2.endpoint.current().orElseThrow().jdbcUrl();
        FencedDataSource staleOnWriter =
            FencedDataSource.builder(dataSource(writerUrl))
                .resource(RESOURCE)
                .build()
                .withToken(token1);
        assertThatThrownBy(() -> insert(staleOnWriter, "stale", "n1"))
            .isInstanceOfSatisfying(
                StaleTokenSQLException.class,
                e -> {
                  assertThat(e.resource()).isEqualTo(RESOURCE);
                  assertThat(e.offeredToken()).isEqualTo(token1);
                  assertThat(e.fencedToken()).isGreaterThanOrEqualTo(token2);
                  assertThat(e.getSQLState()).isEqualTo("BT001");
                  assertThat(e.getMessage())
                      .contains("offered token " + token1)
                      .contains("holds token " + e.fencedToken());
                });
        assertThat(
                read(() -> west.queryLong("SELECT count(*) FROM orders WHERE item LIKE 'stale%'")))
            .isZero();

        // ---- The east site comes back, database first. Its primary was unreachable during the
        // failover, so nobody made it read-only: it is a writable primary on the old timeline, and
        // its fence row still holds n1's last token (token1, or a later one whose completion the
        // crash kept out of the journal), below token2. But that token's lease ended with n1's
        // renewals: a stale client with it is refused there by the database itself (BT007). A
        // write that skips the fence (orders is not a guarded table) is taken; the rejoin discards
        // it.
        east.start();
        assertThat(east.isInRecovery()).isFalse();
        long eastFence = PostgresFence.of(east.dataSource(), RESOURCE).currentToken();
        assertThat(eastFence).isGreaterThanOrEqualTo(token1).isLessThan(token2);
        assertThatThrownBy(
                () ->
                    insert(
                        FencedDataSource.builder(east.dataSource())
                            .resource(RESOURCE)
                            .build()
                            .withToken(eastFence),
                        "stale-east-lease",
                        "n1"))
            .as("the returned old primary refuses its last token: the fence's lease ended")
            .isInstanceOfSatisfying(
                FenceLeaseEndedSQLException.class,
                e -> assertThat(e.getSQLState()).isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED));
        assertThat(east.queryLong("SELECT count(*) FROM orders WHERE item = 'stale-east-lease'"))
            .isZero();
        east.execute(
            "INSERT INTO orders (item, token, node) VALUES ('diverged', " + eastFence + ", 'n1')");

        BatonNode n1Again = cluster.start("n1");
        try (FormerPrimaryGuard guard1Again = guard(n1Again, east)) {
          await("the guard on n1 fences east and rejoins it as a standby of west")
              .atMost(LIVENESS)
              .pollInterval(Duration.ofMillis(50))
              .until(() -> guard1Again.lastOutcome() == FormerPrimaryGuard.Outcome.STANDBY);
        }
        assertThat(east.isInRecovery()).isTrue();
        executeWhileActive(app2.db, insertSql("after-rejoin", "n2"));
        await("east replays from the new primary")
            .atMost(LIVENESS)
            .ignoreExceptions()
            .until(
                () ->
                    east.queryLong("SELECT count(*) FROM orders WHERE item = 'after-rejoin'") == 1);
        assertThat(east.queryLong("SELECT count(*) FROM orders WHERE item = 'diverged'"))
            .as("the rewind discarded what the unguarded old primary took")
            .isZero();
        assertThat(
                read(() -> west.queryLong("SELECT count(*) FROM orders WHERE item = 'diverged'")))
            .isZero();
        assertThat(PostgresFence.of(east.dataSource(), RESOURCE).currentToken())
            .as("the rejoined server carries the new primary's fence row")
            .isGreaterThanOrEqualTo(token2);
        assertThatThrownBy(() -> insert(staleOnEast, "stale-east-2", "n1"))
            .as("the rejoined old primary is a read-only standby")
            .isInstanceOfSatisfying(
                SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25006"));

        // The return of east disturbed nothing: n2 still holds the role, west is still the writer,
        // and n2's guard never touched its own server.
        assertThat(cluster.awaitActive(LIVENESS).id()).isEqualTo("n2");
        assertThat(app2.endpoint.current().orElseThrow().jdbcUrl()).isEqualTo(west.jdbcUrl());
        assertThat(n1Again.isActive()).isFalse();
        assertThat(guard2.lastOutcome())
            .isIn(FormerPrimaryGuard.Outcome.NODE_ACTIVE, FormerPrimaryGuard.Outcome.IS_WRITER);
      } finally {
        for (AutoCloseable c : toClose) {
          c.close();
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Two database nodes and a witness: {@code n1} next to {@code east}, {@code n2} next to {@code
   * west}, {@code w1} with no database. Each database node's plan is one {@link
   * PostgresPromotionAction} (its own server the target, the other the peer) that fences {@link
   * #RESOURCE} and publishes through the {@link WriterEndpoint} on its own node's KV. Not started;
   * {@code clusterRef} must be set to the result before a node starts.
   */
  static TestCluster twoSitesAndAWitness(
      PostgresServer east,
      PostgresServer west,
      AtomicReference<TestCluster> clusterRef,
      Map<String, PostgresPromotionAction> actions) {
    // This test's region loss takes east's database down with its node: no stop command can
    // reach it. The fence's time bound makes the promotion past it safe (PrimaryLossTest
    // configures a stop command instead).
    return twoSitesAndAWitness(east, west, clusterRef, false, false, actions);
  }

  /**
   * As {@link #twoSitesAndAWitness(PostgresServer, PostgresServer, AtomicReference)}; with {@code
   * stonith}, each node's action has a stop command that stops the other server (pg_ctl stop -m
   * immediate, or nothing when it is already down), otherwise it bounds the fence in time ({@link
   * PostgresPromotionAction.Builder#fenceTimeBound}; the caller starts the renewers).
   */
  static TestCluster twoSitesAndAWitness(
      PostgresServer east,
      PostgresServer west,
      AtomicReference<TestCluster> clusterRef,
      boolean stonith) {
    return twoSitesAndAWitness(east, west, clusterRef, stonith, false, new HashMap<>());
  }

  /**
   * As {@link #twoSitesAndAWitness(PostgresServer, PostgresServer, AtomicReference, boolean)}; with
   * {@code healthChecked}, each database node also runs a {@link PostgresHealthCheck} of its own
   * server (every 300 ms, down after 2 failures, at most one health move per 5 s), so that a dead
   * primary under a live active moves the role by itself.
   */
  static TestCluster twoSitesAndAWitness(
      PostgresServer east,
      PostgresServer west,
      AtomicReference<TestCluster> clusterRef,
      boolean stonith,
      boolean healthChecked) {
    return twoSitesAndAWitness(east, west, clusterRef, stonith, healthChecked, new HashMap<>());
  }

  /**
   * As {@link #twoSitesAndAWitness(PostgresServer, PostgresServer, AtomicReference, boolean,
   * boolean)}; each database node's action is put into {@code actions} by node id when the node is
   * built, so that the caller can start its {@linkplain
   * PostgresPromotionAction#startFenceLeaseRenewer fence lease renewer}.
   */
  static TestCluster twoSitesAndAWitness(
      PostgresServer east,
      PostgresServer west,
      AtomicReference<TestCluster> clusterRef,
      boolean stonith,
      boolean healthChecked,
      Map<String, PostgresPromotionAction> actions) {
    Map<String, PostgresServer> localServer = Map.of("n1", east, "n2", west);
    return TestCluster.create(
        2,
        1,
        TestCluster.TIMING,
        (id, builder) -> {
          PostgresServer mine = localServer.get(id);
          if (mine == null) {
            return builder; // the witness: no database, never active
          }
          PostgresServer other = mine == east ? west : east;
          WriterEndpoint writer = new WriterEndpoint(new StartedNodeKv(clusterRef, id), DEPLOYMENT);
          PostgresPromotionAction.Builder pgBuilder =
              PostgresPromotionAction.builder()
                  .target(endpoint(mine))
                  .peer(endpoint(other), other == east ? "n1" : "n2")
                  .fenceResources(RESOURCE)
                  .writerEndpoint(writer)
                  .lastKnownPrimaryPosition(writer::lastKnownPosition);
          if (stonith) {
            String dir = other.dataDir().toString();
            String pgCtl = PostgresServer.bin("pg_ctl");
            List<String> stop = new ArrayList<>(PostgresServer.asPostgresPrefix());
            stop.addAll(
                List.of(
                    "/bin/sh",
                    "-c",
                    pgCtl
                        + " status -D '"
                        + dir
                        + "' >/dev/null 2>&1 || exit 0; exec "
                        + pgCtl
                        + " stop -D '"
                        + dir
                        + "' -m immediate"));
            pgBuilder.stopCommand(stop, Duration.ofSeconds(30));
          } else {
            pgBuilder.fenceTimeBound(true);
          }
          PostgresPromotionAction pg = pgBuilder.build();
          actions.put(id, pg);
          if (healthChecked) {
            builder
                .healthChecks(
                    List.of(
                        PostgresHealthCheck.of(
                            dev.baton.core.HealthCheck.Settings.of(
                                "db", Duration.ofMillis(300), Duration.ofMillis(250)),
                            endpoint(mine),
                            PostgresServer.SUPERUSER,
                            null,
                            () -> isActive(clusterRef, id))))
                .healthPolicy(new dev.baton.core.HealthPolicy(2, 2, Duration.ofSeconds(5)));
          }
          return builder.promotionPlan(
              PromotionPlan.builder().action(pg, StepPolicy.mustSucceed()).build());
        });
  }

  /** Whether node {@code id} of the cluster runs and is active (false before it is started). */
  private static boolean isActive(AtomicReference<TestCluster> clusterRef, String id) {
    try {
      return clusterRef.get().node(id).isActive();
    } catch (IllegalArgumentException | NullPointerException e) {
      return false;
    }
  }

  /**
   * The application embedded on one node: a fenced DataSource over a pool that follows the writer.
   */
  static final class App implements AutoCloseable {
    final BatonNode node;
    final WriterEndpoint endpoint;
    final HikariWriterPool pool;
    final FencedDataSource db;

    App(BatonNode node) {
      this.node = node;
      this.endpoint = new WriterEndpoint(node.kv(), DEPLOYMENT);
      HikariConfig template = new HikariConfig();
      template.setUsername(PostgresServer.SUPERUSER);
      template.setMaximumPoolSize(2);
      template.setMinimumIdle(0);
      template.setConnectionTimeout(1000);
      template.setPoolName("app-" + node.id());
      this.pool = new HikariWriterPool(endpoint, template);
      this.db =
          FencedDataSource.builder(pool).resource(RESOURCE).build().withTokenSource(tokenSource());
    }

    FencingTokenSource tokenSource() {
      return () -> node.activeContext().orElseThrow().token();
    }

    @Override
    public void close() {
      pool.close(); // idempotent
    }
  }

  /** A fenced auto-commit INSERT; the row records the token the fence accepted it under. */
  static String insertSql(String item, String node) {
    return "INSERT INTO orders (item, token, node) VALUES ('"
        + item
        + "', (SELECT token FROM baton.fence WHERE resource = '"
        + RESOURCE
        + "'), '"
        + node
        + "') ON CONFLICT (item) DO NOTHING";
  }

  static void insert(DataSource db, String item, String node) throws SQLException {
    execute(db, insertSql(item, node));
  }

  private static void execute(DataSource db, String sql) throws SQLException {
    try (Connection c = db.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /**
   * Runs an idempotent fenced statement, retried while the node is between two activations: on a
   * loaded machine the active can lose its lease and win the role again, and meanwhile the
   * statement fails with BT005 (no token) or, when the demotion made the server read-only or cut
   * the session under it, with 25006, 57P01 or a connection error. Likewise BT007/BT008 (the
   * fence's lease ended): right after a promotion until the first renewal, or when a loaded machine
   * delayed a renewal past the bound. A stale token (BT001) is never retried.
   */
  static void executeWhileActive(DataSource db, String sql) {
    await("while the node is active: " + sql)
        .atMost(LIVENESS)
        .pollInterval(Duration.ofMillis(20))
        .ignoreExceptionsMatching(PostgresClusterEndToEndTest::betweenActivations)
        .until(
            () -> {
              execute(db, sql);
              return true;
            });
  }

  private static boolean betweenActivations(Throwable t) {
    if (!(t instanceof SQLException e) || e instanceof StaleTokenSQLException) {
      return false;
    }
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    return state.equals("BT005")
        || state.equals(FenceSchema.SQLSTATE_LEASE_ENDED)
        || state.equals(FenceSchema.SQLSTATE_LEASE_ENDED_AT_COMMIT)
        || state.equals("25006")
        || state.equals("57P01")
        || state.startsWith("08");
  }

  /**
   * The guard of a database node. It treats every role but STANDBY as "the node owns its server":
   * {@code node::isActive} is false while the node is PROMOTING, when its own server has just been
   * promoted but not yet published, and the guard would fence (and rewind) it.
   */
  private static FormerPrimaryGuard guard(BatonNode node, PostgresServer server) {
    return FormerPrimaryGuard.builder()
        .local(endpoint(server))
        .writerEndpoint(new WriterEndpoint(node.kv(), DEPLOYMENT))
        .node(node)
        .rejoin(
            PgRewindRejoin.builder()
                .dataDirectory(server.dataDir())
                .runAs(PostgresServer.asPostgresPrefix())
                .local(endpoint(server))
                .logFile(server.baseDir().resolve("postgres.log"))
                .build())
        .checkInterval(Duration.ofMillis(500))
        .build()
        .start();
  }

  /**
   * A verification read, retried when a demotion cut its session: on a loaded machine the active
   * can lose its lease for a moment, and its demotion terminates the other sessions on its server
   * (57P01) before it wins the role again. Nothing else is retried.
   */
  static <T> T read(Callable<T> query) {
    return await("read")
        .atMost(LIVENESS)
        .pollInterval(Duration.ofMillis(20))
        .ignoreExceptionsMatching(PostgresClusterEndToEndTest::sessionCut)
        .until(query, v -> true);
  }

  private static boolean sessionCut(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException e && e.getSQLState() != null) {
        return e.getSQLState().equals("57P01") || e.getSQLState().startsWith("08");
      }
    }
    return false;
  }

  static long replayed(PostgresServer standby) {
    String lsn = standby.queryString("SELECT pg_last_wal_replay_lsn()");
    return lsn == null ? -1 : Lsn.parse(lsn);
  }

  /** The activation of the node that is active now, read atomically with its token. */
  static ActiveContext awaitActivation(TestCluster cluster) {
    return await("an active node")
        .atMost(LIVENESS)
        .pollInterval(Duration.ofMillis(10))
        .until(() -> cluster.active().flatMap(BatonNode::activeContext), Optional::isPresent)
        .get();
  }

  static DataSource dataSource(String jdbcUrl) {
    org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
    ds.setUrl(jdbcUrl);
    ds.setUser(PostgresServer.SUPERUSER);
    ds.setConnectTimeout(5);
    return ds;
  }

  static PostgresEndpoint endpoint(PostgresServer s) {
    return PostgresEndpoint.of(s.host(), s.port());
  }

  /**
   * The KV of node {@code id} once it has started. A promotion plan is fixed when the node is
   * built, but {@link BatonNode#kv()} exists only after {@code start()}, so an action that needs
   * its own node's store (the {@link WriterEndpoint} of {@link PostgresPromotionAction}) gets it
   * through this indirection. The activation can run the plan before {@code TestCluster.start} has
   * returned the node, so each call waits (bounded) for it to be registered.
   */
  static final class StartedNodeKv implements KeyValueStore {
    private final AtomicReference<TestCluster> cluster;
    private final String id;

    StartedNodeKv(AtomicReference<TestCluster> cluster, String id) {
      this.cluster = cluster;
      this.id = id;
    }

    private KeyValueStore kv() {
      return await("node " + id + " started")
          .atMost(LIVENESS)
          .pollInterval(Duration.ofMillis(5))
          .ignoreExceptions()
          .until(() -> cluster.get().node(id).kv(), Objects::nonNull);
    }

    @Override
    public Optional<KvEntry> get(String key) {
      return kv().get(key);
    }

    @Override
    public List<KvEntry> list(String prefix) {
      return kv().list(prefix);
    }

    @Override
    public KvEntry put(String key, byte[] value) {
      return kv().put(key, value);
    }

    @Override
    public Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
      return kv().compareAndSet(key, expected, update);
    }

    @Override
    public Optional<KvEntry> compareAndSetRevision(
        String key, long expectedRevision, byte[] update) {
      return kv().compareAndSetRevision(key, expectedRevision, update);
    }

    @Override
    public boolean delete(String key) {
      return kv().delete(key);
    }

    @Override
    public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
      return kv().watch(prefix, executor, listener);
    }

    @Override
    public Watch watch(
        String prefix, long afterRevision, Executor executor, Consumer<KvEvent> listener) {
      return kv().watch(prefix, afterRevision, executor, listener);
    }
  }
}
