package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.PromotionAction;
import dev.baton.core.PromotionPlan;
import dev.baton.core.StepContext;
import dev.baton.core.StepPolicy;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.postgres.PostgresServer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A demotion that only fences runs even when the lease is already over (issue 15, item 4): the
 * active's PostgreSQL primary is made read-only although an earlier demotion step used up what was
 * left of the lease. Before, every demotion step was skipped once the lease had ended, this one
 * included, and the primary kept taking writes.
 */
class LateDemotionTest {

  @Test
  void aDemotionThatStartsAfterTheLeaseStillMakesTheLocalPrimaryReadOnly() throws Exception {
    try (PostgresServer server = PostgresServer.startPrimary("late-demotion")) {
      server.execute("CREATE TABLE t (v int)");
      AtomicLong slowDemotionEnded = new AtomicLong();
      // Runs first on demotion (demotion goes in reverse plan order) and takes longer than the
      // lease left, as a pause would: the PostgreSQL step then starts after the lease has ended.
      // It is fence-only itself (stopping a local service, say), so it may run late too.
      PromotionAction slow =
          new PromotionAction() {
            @Override
            public String name() {
              return "slow-demotion";
            }

            @Override
            public void promote(StepContext ctx) {}

            @Override
            public void demote(StepContext ctx) throws InterruptedException {
              try {
                Thread.sleep(TestCluster.TIMING.lease().toMillis() + 300);
              } finally {
                slowDemotionEnded.set(System.nanoTime());
              }
            }

            // No @Override: the same test compiles against the code before this method existed.
            public boolean demoteOnlyFences() {
              return true;
            }
          };
      try (TestCluster cluster =
          TestCluster.create(
              3,
              0,
              TestCluster.TIMING,
              (id, b) ->
                  b.promotionPlan(
                      PromotionPlan.builder()
                          .action(
                              PostgresPromotionAction.builder()
                                  .target(PostgresEndpoint.of(server.host(), server.port()))
                                  .fenceResources("orders")
                                  .build(),
                              StepPolicy.mustSucceed())
                          .action(slow, StepPolicy.bestEffort().withTimeout(Duration.ofSeconds(5)))
                          .build()))) {
        cluster.startAll();
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
        server.execute("INSERT INTO t VALUES (1)");

        // The active loses its majority: it demotes with the rest of its lease, which the slow step
        // uses up; the PostgreSQL step comes after the lease has ended.
        for (BatonNode n : cluster.running()) {
          if (!n.id().equals(active.id())) {
            cluster.crash(n.id());
          }
        }
        await("the slow demotion step ended")
            .atMost(Duration.ofSeconds(30))
            .until(() -> slowDemotionEnded.get() != 0);
        await("the active's primary is read-only")
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(() -> "on".equals(server.queryString("SHOW default_transaction_read_only")));
        assertThatThrownBy(() -> server.execute("INSERT INTO t VALUES (2)"))
            .hasMessageContaining("read-only transaction");
        assertThat(server.queryLong("SELECT count(*) FROM t")).isEqualTo(1);
        assertThat(active.isActive()).isFalse();
      }
    }
  }
}
