package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link BatonNode#resign()} on real in-JVM clusters of three voters, each with a health check the
 * test sets (issue 37's step-down, issue 41's resign): the active hands the role to the best peer
 * with a higher token; a standby refuses, naming the active; a peer that is down or unhealthy is
 * passed over, and with no peer left the active refuses, naming each and why, and stays. A sampler
 * checks throughout that no two nodes believe at once.
 */
class ResignTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /**
   * Three voters n1..n3, each with its own switchable check and meter registry, started, with their
   * first active.
   */
  private static final class Fixture implements AutoCloseable {
    final Map<String, HealthGatingTest.Switchable> checks = new ConcurrentHashMap<>();
    final Map<String, SimpleMeterRegistry> registries = new ConcurrentHashMap<>();
    final TestCluster cluster;
    final BelieverSampler sampler;

    /** The first active node and its token, read together from one activation. */
    final TestCluster.ActiveSeen first;

    Fixture() {
      this(false);
    }

    /** With {@code priorities}, member nK has priority K (n3 the highest). */
    Fixture(boolean priorities) {
      AtomicReference<TestCluster> self = new AtomicReference<>();
      cluster =
          TestCluster.create(
              3,
              0,
              TestCluster.TIMING,
              (id, b) -> {
                b.healthChecks(
                        List.of(
                            checks.computeIfAbsent(
                                id, k -> new HealthGatingTest.Switchable(Duration.ofMillis(100)))))
                    .healthPolicy(new HealthPolicy(2, 2, Duration.ofSeconds(2)))
                    .meterRegistry(registries.computeIfAbsent(id, k -> new SimpleMeterRegistry()));
                if (priorities) {
                  b.members(
                      self.get().members().stream()
                          .map(m -> m.withPriority(Integer.parseInt(m.id().substring(1))))
                          .toList());
                }
                return b;
              });
      self.set(cluster);
      cluster.startAll();
      sampler = new BelieverSampler(cluster::allInstances);
      first = cluster.awaitActiveSeen(WAIT);
    }

    /** The other running nodes, in member order. */
    List<BatonNode> others(BatonNode n) {
      return cluster.running().stream()
          .filter(x -> x != n)
          .sorted(java.util.Comparator.comparing(BatonNode::id))
          .toList();
    }

    /** {@code baton_member_up{member}} as {@code observer} reports it (NaN if not known). */
    double memberUp(String observer, String member) {
      Gauge g = registries.get(observer).find("baton.member.up").tag("member", member).gauge();
      return g == null ? Double.NaN : g.value();
    }

    @Override
    public void close() throws InterruptedException {
      try {
        sampler.close();
        assertThat(sampler.violations()).as("two nodes believed at once").isEmpty();
      } finally {
        cluster.close();
      }
    }
  }

  @Test
  void theActiveResignsToAnotherNodeWithAHigherTokenAndAStandbyRefusesNamingTheActive()
      throws Exception {
    try (Fixture f = new Fixture()) {
      BatonNode old = f.first.node();
      long oldToken = f.first.token();
      BatonNode standby = f.others(old).get(0);
      // The standby names the active it has applied: wait until it has applied this activation.
      await(standby.id() + " has applied " + old.id() + "'s activation")
          .atMost(WAIT)
          .until(() -> standby.status().activeToken() == oldToken);

      assertThatThrownBy(standby::resign)
          .isInstanceOf(NotActiveException.class)
          .hasMessageContaining("resign: " + standby.id() + " is not active")
          .hasMessageContaining("the active is " + old.id() + " with token " + oldToken);
      assertThat(old.isActive()).isTrue();
      assertThat(old.token()).isEqualTo(oldToken);

      Handover h = old.resign(Duration.ofSeconds(20));

      assertThat(h.nodeId()).isNotEqualTo(old.id());
      assertThat(h.token()).isGreaterThan(oldToken);
      BatonNode now = f.cluster.awaitActive(WAIT);
      assertThat(now.id()).isEqualTo(h.nodeId());
      assertThat(now.token()).isEqualTo(h.token());
      assertThat(old.isActive()).isFalse();
    }
  }

  /**
   * Of two peers that are both up, caught up and healthy, the one with the higher priority takes
   * the role, whatever the member list's order.
   */
  @Test
  void theActiveResignsToThePeerWithTheHighestPriority() throws Exception {
    try (Fixture f = new Fixture(true)) {
      BatonNode old = f.first.node();
      assertThat(old.cluster().members()).extracting(Member::priority).containsExactly(1, 2, 3);
      String highest =
          f.others(old).stream()
              .map(BatonNode::id)
              .max(java.util.Comparator.comparingInt(id -> Integer.parseInt(id.substring(1))))
              .orElseThrow();

      Handover h = old.resign(Duration.ofSeconds(20));

      assertThat(h.nodeId()).isEqualTo(highest);
      assertThat(f.cluster.awaitActive(WAIT).id()).isEqualTo(highest);
    }
  }

  /**
   * A peer that is down is passed over (it would be chosen first by member order, and a transfer to
   * it could only time out); then, with the one peer left down and the other unhealthy, the new
   * active refuses naming both and why, and stays active with the same token.
   */
  @Test
  void aPeerThatIsDownOrUnhealthyIsPassedOverAndWithNoPeerLeftTheActiveRefusesAndStays()
      throws Exception {
    try (Fixture f = new Fixture()) {
      BatonNode first = f.first.node();
      String down = f.others(first).get(0).id();
      String up = f.others(first).get(1).id();

      f.cluster.stop(down);
      await(first.id() + " sees " + down + " down")
          .atMost(WAIT)
          .until(() -> f.memberUp(first.id(), down) == 0);

      Handover h = first.resign(Duration.ofSeconds(20));
      assertThat(h.nodeId()).isEqualTo(up);
      assertThat(h.token()).isGreaterThan(f.first.token());
      BatonNode second = f.cluster.awaitActive(WAIT);
      assertThat(second.id()).isEqualTo(up);

      // The one peer still running (the former active) falls sick; the other is still down.
      f.checks.get(first.id()).healthy.set(false);
      await(second.id() + " reads " + first.id() + "'s health record as not eligible")
          .atMost(WAIT)
          .until(() -> Boolean.FALSE.equals(second.status().health().members().get(first.id())));
      await(second.id() + " sees " + down + " down")
          .atMost(WAIT)
          .until(() -> f.memberUp(second.id(), down) == 0);
      long secondToken = second.token();

      assertThatThrownBy(() -> second.resign(Duration.ofSeconds(10)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("no member other than the active " + second.id())
          .hasMessageContaining(first.id() + " (unhealthy: plane")
          .hasMessageContaining(down + " (down: no answer")
          .hasMessageContaining("the active stays");
      assertThat(second.isActive()).isTrue();
      assertThat(second.token()).isEqualTo(secondToken);
    }
  }
}
