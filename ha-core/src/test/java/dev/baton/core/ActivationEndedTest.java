package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link ActiveContext#ended()} on a real in-JVM cluster of three voters (issue 41): it stays open
 * while the activation holds, completes with the reason listeners hear when the node gives the role
 * up (a switch, a close), by then the context no longer holds the lease, and a context read after
 * the next activation began still belongs to its own activation.
 */
class ActivationEndedTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void endedCompletesWithTheReasonWhenTheActivationIsOverAndNotBefore() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode first = cluster.awaitActive(WAIT);
      ActiveContext firstContext = first.activeContext().orElseThrow();
      CompletableFuture<StandbyReason> firstEnded = firstContext.ended().toCompletableFuture();
      AtomicBoolean leaseHeldWhenEnded = new AtomicBoolean(true);
      AtomicReference<String> completedOn = new AtomicReference<>();
      firstEnded.thenRun(
          () -> {
            leaseHeldWhenEnded.set(firstContext.isLeaseValid());
            completedOn.set(Thread.currentThread().getName());
          });
      // The same activation, reached another way, has the same end signal.
      assertThat(first.activeContext().orElseThrow().ended().toCompletableFuture().isDone())
          .isFalse();
      assertThat(firstEnded).isNotDone();

      BatonNode target =
          cluster.running().stream().filter(n -> n != first).findFirst().orElseThrow();
      first.cluster().switchActive(target.id(), WAIT);

      assertThat(firstEnded.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isEqualTo(StandbyReason.SWITCH_ACTIVE);
      assertThat(leaseHeldWhenEnded)
          .as("the lease was still held when ended() completed")
          .isFalse();
      assertThat(firstContext.isLeaseValid()).isFalse();
      // A switch gives the role up on the node's role thread; what is chained runs elsewhere.
      await().atMost(WAIT).untilAsserted(() -> assertThat(completedOn.get()).isNotNull());
      assertThat(completedOn.get()).doesNotStartWith("baton-role-");

      await().atMost(WAIT).until(target::isActive);
      ActiveContext second = target.activeContext().orElseThrow();
      assertThat(second.token()).isGreaterThan(firstContext.token());
      CompletableFuture<StandbyReason> secondEnded = second.ended().toCompletableFuture();
      assertThat(secondEnded).as("a new activation's end signal is its own").isNotDone();

      target.close();

      assertThat(secondEnded.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isEqualTo(StandbyReason.CLOSING);
      assertThat(firstEnded.get())
          .as("an ended activation stays ended")
          .isEqualTo(StandbyReason.SWITCH_ACTIVE);
    }
  }
}
