package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.StepContext;
import dev.baton.core.StepPolicy;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The lease in the fence with a real Baton cluster (in-JVM Ratis nodes n1, n2 and witness w1) and a
 * real PostgreSQL primary: n1's promotion bounds the {@code orders} fence in time and its renewer
 * runs from {@code n1::activeContext}. n1 is then cut off from the quorum, while its PostgreSQL
 * stays up and reachable to its writer, and its demotion does not reach the database (as for a
 * paused node). n1 stops renewing, and its primary refuses n1's token (BT007) from a {@code
 * valid_until} that lies before n2 became active: nobody had to reach the database.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class FenceLeaseClusterTest {
  private static final Duration LIVENESS = Duration.ofSeconds(60);

  @Test
  void aCutOffActivesPrimaryRefusesItsTokenBeforeTheSuccessorIsActive() throws Exception {
    try (PostgresServer db = PostgresServer.startPrimary("leasecluster");
        NetworkPartition net = NetworkPartition.create()) {
      db.execute("CREATE TABLE orders (id bigserial PRIMARY KEY, token bigint NOT NULL)");
      PostgresPromotionAction pg =
          PostgresPromotionAction.builder()
              .target(PostgresEndpoint.of(db.host(), db.port()))
              .fenceResources("orders")
              .fenceTimeBound(true)
              .build();
      try (TestCluster cluster =
          TestCluster.create(
              2,
              1,
              TestCluster.TIMING,
              (id, b) ->
                  id.equals("n1")
                      ? b.promotionPlan(
                          PromotionPlan.builder()
                              .action(promoteOnly(pg), StepPolicy.mustSucceed())
                              .build())
                      : b)) {
        CompletableFuture<BatonNode> witness =
            CompletableFuture.supplyAsync(() -> cluster.start("w1"));
        BatonNode n1 = cluster.start("n1");
        witness.join();
        long token =
            await("n1 active")
                .atMost(LIVENESS)
                .until(n1::activeContext, java.util.Optional::isPresent)
                .orElseThrow()
                .token();
        try (FenceLeaseRenewer renewer =
            pg.startFenceLeaseRenewer(n1::activeContext, Duration.ofMillis(100))) {
          // While n1 is active and renewing, its writes commit (a retry covers a renewal that a
          // loaded machine delayed past the bound).
          await("a fenced write by n1 commits")
              .atMost(LIVENESS)
              .until(() -> write(db, token) == null);

          BatonNode n2 = cluster.start("n2");
          AtomicReference<Instant> n2Active = new AtomicReference<>();
          n2.addListener(
              new RoleListener() {
                @Override
                public void onActive(ActiveContext context) {
                  n2Active.compareAndSet(null, Instant.now());
                }

                @Override
                public void onStandby(StandbyReason reason) {}
              },
              Runnable::run);
          await("n2 has applied n1's activation (it can win an election)")
              .atMost(LIVENESS)
              .until(() -> n2.status().activeToken() == token);
          await("n1 still active and writing")
              .atMost(LIVENESS)
              .until(() -> n1.isActive() && write(db, token) == null);

          // Cut n1 off from the quorum. Its PostgreSQL and its writer's path to it stay up.
          net.isolate("n1", List.of("n2", "w1"));
          await("n2 active").atMost(LIVENESS).until(() -> n2Active.get() != null);

          PostgresFence fence =
              PostgresFence.builder(db.dataSource()).resource("orders").timeBound(true).build();
          Instant lastBound = fence.leaseValidUntil(token).orElseThrow();
          // The database host is this host: its clock_timestamp() and Instant.now() read one clock.
          assertThat(lastBound)
              .as("n1's last valid_until lies before n2 became active")
              .isBefore(n2Active.get());
          assertThat(write(db, token))
              .as("n1's primary refuses n1's token by itself")
              .isEqualTo(FenceSchema.SQLSTATE_LEASE_ENDED);
          assertThat(renewer.lastValidUntil()).contains(lastBound);
          long committed = db.queryLong("SELECT count(*) FROM orders");
          assertThat(db.queryLong("SELECT count(*) FROM orders WHERE token = " + token))
              .isEqualTo(committed);
        }
      }
    }
  }

  /**
   * {@code action}'s promotion without its demotion, which would make the primary read-only as soon
   * as n1 gives the role up: as if n1 were paused, or its demotion could not reach the database, so
   * that only the time bound stops n1's writes.
   */
  private static PromotionAction promoteOnly(PostgresPromotionAction action) {
    return new PromotionAction() {
      @Override
      public String name() {
        return action.name();
      }

      @Override
      public void promote(StepContext context) throws Exception {
        action.promote(context);
      }
    };
  }

  /** One fenced write with {@code token}: null when it committed, else its SQLSTATE. */
  private static String write(PostgresServer db, long token) throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement check = c.prepareStatement("SELECT baton.check_fence('orders', ?)");
          PreparedStatement insert = c.prepareStatement("INSERT INTO orders (token) VALUES (?)")) {
        check.setLong(1, token);
        check.executeQuery().close();
        insert.setLong(1, token);
        insert.executeUpdate();
        c.commit();
        return null;
      } catch (SQLException e) {
        c.rollback();
        return e.getSQLState();
      }
    }
  }
}
