package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Lease argument step 5: an active that can no longer renew (its majority is gone) stops believing
 * and tells its listeners before its lease ends.
 */
class MajorityLossTest {

  @Test
  void activeThatLosesItsMajorityReportsStandbyBeforeItsLeaseEnds() {
    AtomicLong standbyAt = new AtomicLong();
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      active.addListener(
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {}

            @Override
            public void onStandby(StandbyReason reason) {
              if (reason != StandbyReason.STARTING) {
                standbyAt.compareAndSet(0, System.nanoTime());
              }
            }
          },
          Runnable::run);
      ActiveContext ctx = active.activeContext().orElseThrow();
      for (BatonNode n : cluster.running()) {
        if (n != active) {
          cluster.crash(n.id());
        }
      }
      // The last moment the lease could end: the last renewal can only have been sent before now.
      long latestLeaseEnd = System.nanoTime() + active.timing().lease().toNanos();
      await().atMost(Duration.ofSeconds(10)).until(() -> standbyAt.get() != 0);
      assertThat(standbyAt.get()).isLessThan(latestLeaseEnd);
      assertThat(active.isActive()).isFalse();
      assertThat(ctx.isLeaseValid()).isFalse();
      // Without a majority it cannot win the role back.
      assertThat(active.role()).isIn(Role.STANDBY, Role.DEMOTING);
    }
  }
}
