package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The lease is measured on the ticker given to the builder, and on nothing else: time is injected,
 * as Caffeine's Ticker is, instead of switched by a system property.
 */
class TickerTest {

  @Test
  void theLeaseIsMeasuredOnTheInjectedTickerAndEndsTheMomentItPassesTheExpiry() {
    // A ticker that only moves when the test moves it: the node cannot renew (no renewal interval
    // ever passes), and its lease cannot run out on its own.
    AtomicLong fake = new AtomicLong(1_000_000_000L);
    try (TestCluster cluster =
        TestCluster.create(1, 0, TestCluster.TIMING, (id, b) -> b.ticker(fake::get))) {
      cluster.startAll();
      BatonNode node = cluster.awaitActive(Duration.ofSeconds(30));
      long firstToken = node.activeContext().orElseThrow().token();

      // Real time passes; the injected ticker does not: the lease holds.
      await()
          .during(Duration.ofMillis(2 * TestCluster.TIMING.lease().toMillis()))
          .atMost(Duration.ofSeconds(10))
          .until(node::isActive);

      // The ticker passes the expiry: isActive() is false at once (it is a pure function of the
      // role and the expiry, no thread has to run for belief to end).
      fake.addAndGet(TestCluster.TIMING.lease().toNanos() + 1);
      assertThat(node.isActive()).isFalse();
      // The lapsed activation's context is gone at once. On a starved machine the node can already
      // have demoted and activated again (a new, higher token) between the two reads: that is not
      // the old activation believed, so it is allowed; the old token never is.
      assertThat(node.activeContext().map(ActiveContext::token))
          .as("the active context right after the lease passed its expiry")
          .satisfiesAnyOf(
              t -> assertThat(t).isEmpty(),
              t -> assertThat(t.orElseThrow()).isGreaterThan(firstToken));

      // A lapsed lease is never revived: the node activates again, with a new, higher token.
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> node.activeContext().map(ActiveContext::token).orElse(0L) > firstToken);
    }
  }

  @Test
  void systemTickerIsNanoTime() {
    long before = System.nanoTime();
    long read = Ticker.system().read();
    assertThat(read).isBetween(before, System.nanoTime());
  }
}
