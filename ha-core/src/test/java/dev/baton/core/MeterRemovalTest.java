package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's meters leave the registry it was given when the node closes or its start fails (issue
 * 30). Before, they stayed: Micrometer hands a meter that is already registered to whoever
 * registers the same name and labels again, so a node built again with the same cluster and node id
 * in a shared registry (a sidecar, an application that retries a failed start) reported the dead
 * node's role and lease instead of its own.
 */
class MeterRemovalTest {
  private static final PromotionPlan PLAN =
      PromotionPlan.builder()
          .action(
              new PromotionAction() {
                @Override
                public String name() {
                  return "record";
                }

                @Override
                public void promote(StepContext context) {}
              })
          .build();

  private static final byte[] SECRET = TestCluster.newClusterSecret();

  @TempDir Path dir;

  private final MeterRegistry shared = new SimpleMeterRegistry();

  private BatonNode.Builder node(String id, Path data, int port, MeterRegistry registry) {
    return BatonNode.builder()
        .clusterId("meter-removal")
        .nodeId(id)
        .members(Member.voter(id, "127.0.0.1:" + port))
        .dataDir(data)
        .bootstrap(true)
        .promotionPlan(PLAN)
        .clusterSecret(SECRET)
        .meterRegistry(registry);
  }

  @Test
  void aClosedNodeLeavesNoMeterAndTheNodeBuiltAgainReportsItsOwnRoleAndLease() {
    String id = "closed-" + Long.toHexString(System.nanoTime());
    BatonNode.Builder builder = node(id, dir.resolve(id), LocalPorts.next(), shared);
    try (BatonNode first = builder.build()) {
      first.start();
      awaitActiveAsMetered(first);
      assertThat(shared.find("baton.promotion.steps").tag("baton_node", id).counter())
          .as("the step outcome of the promotion is counted")
          .isNotNull();
    }
    assertThat(metersOf(id)).as("meters left by the closed node").isEmpty();

    try (BatonNode again = builder.build()) {
      again.start();
      awaitActiveAsMetered(again);
    }
    assertThat(metersOf(id)).as("meters left by the closed node").isEmpty();
  }

  @Test
  void aFailedStartLeavesNoMeterAndTheNodeBuiltAgainReportsItsOwnRoleAndLease() {
    String id = "failed-" + Long.toHexString(System.nanoTime());
    Path data = dir.resolve(id);
    // The same node already runs on this data directory (with a registry of its own): a second
    // start gets as far as the Raft server, whose storage is locked, after it registered meters.
    BatonNode.Builder running = node(id, data, LocalPorts.next(), new SimpleMeterRegistry());
    BatonNode.Builder refused = node(id, data, LocalPorts.next(), shared);
    try (BatonNode holder = running.build()) {
      holder.start();
      await("the holder active").atMost(Duration.ofSeconds(30)).until(holder::isActive);
      BatonNode second = refused.build();
      assertThatThrownBy(second::start).isInstanceOf(BatonException.class);
      second.close();
      assertThat(metersOf(id)).as("meters left by the refused start").isEmpty();
    }

    try (BatonNode again = refused.build()) {
      again.start();
      awaitActiveAsMetered(again);
    }
  }

  /** Waits until the node is active and its own meters say so: role active, lease left. */
  private void awaitActiveAsMetered(BatonNode node) {
    await("node " + node.id() + " active, as its meters say")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              assertThat(node.isActive()).isTrue();
              assertThat(gauge("baton.role", node.id(), "active").value())
                  .as("baton_role{role=active}")
                  .isEqualTo(1.0);
              assertThat(gauge("baton.lease.remaining", node.id(), null).value())
                  .as("baton_lease_remaining_seconds")
                  .isPositive();
            });
  }

  private Gauge gauge(String name, String nodeId, String role) {
    var search = shared.find(name).tag("baton_node", nodeId);
    if (role != null) {
      search = search.tag("role", role);
    }
    Gauge g = search.gauge();
    assertThat(g).as(name + " of " + nodeId).isNotNull();
    return g;
  }

  private List<String> metersOf(String nodeId) {
    return shared.getMeters().stream()
        .filter(m -> nodeId.equals(m.getId().getTag("baton_node")))
        .map(Meter::getId)
        .map(Meter.Id::toString)
        .toList();
  }
}
