package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Issue 41: {@code addListener} before {@code start()}, as BatonNode's own Javadoc example does it.
 * It used to throw "node n1 is not started"; the listener must now hear the node's first role, and
 * one removed before the start must hear nothing.
 */
class ListenerBeforeStartTest {
  @Test
  void aListenerAddedBeforeStartHearsTheFirstActivationAndARemovedOneHearsNothing()
      throws InterruptedException {
    try (TestCluster cluster = TestCluster.create(1, 0)) {
      List<Long> activations = new CopyOnWriteArrayList<>();
      List<String> heardByRemoved = new CopyOnWriteArrayList<>();
      RoleListener kept =
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {
              activations.add(context.token());
            }

            @Override
            public void onStandby(StandbyReason reason) {}
          };
      RoleListener removed =
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {
              heardByRemoved.add("active " + context.token());
            }

            @Override
            public void onStandby(StandbyReason reason) {
              heardByRemoved.add("standby " + reason);
            }
          };
      try (BatonNode node = cluster.builderFor("n1").build()) {
        node.addListener(kept);
        node.addListener(removed, Runnable::run);
        node.removeListener(removed);
        node.start();
        ActiveContext active = node.awaitActive(Duration.ofSeconds(30)).orElseThrow();
        await("the listener added before start hears the activation")
            .atMost(Duration.ofSeconds(10))
            .until(() -> activations.contains(active.token()));
        assertThat(activations).as("one activation, heard once").containsExactly(active.token());
        assertThat(heardByRemoved).as("a listener removed before start hears nothing").isEmpty();
      }
    }
  }
}
