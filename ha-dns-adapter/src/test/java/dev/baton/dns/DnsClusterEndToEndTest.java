package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.JournalEntry;
import dev.baton.core.PromotionPlan;
import dev.baton.core.PromotionState;
import dev.baton.core.StaleTokenException;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.dns.BindServer;
import dev.baton.testing.steps.TestStepContext;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A 3-node Baton cluster whose promotion plan moves a DNS name with {@link DnsSwitch} on a real
 * BIND 9: kill the active, and the name follows the new active, fenced by its token.
 */
class DnsClusterEndToEndTest {

  private static final Map<String, String> ADDRESS =
      Map.of("n1", "192.0.2.11", "n2", "192.0.2.12", "n3", "192.0.2.13");

  private static DnsSwitch switchFor(BindServer dns, String nodeId) {
    return DnsSwitch.builder()
        .server(dns.host(), dns.port())
        .zone(dns.zone())
        .tsig(ServerKeys.updateKey(dns))
        .address("app", ADDRESS.get(nodeId))
        .ttl(Duration.ofSeconds(5))
        .build();
  }

  private static List<String> fence(BindServer dns) {
    return dns.dig("_baton-fence.app." + dns.zone(), "TXT");
  }

  @Test
  void killingTheActiveMovesTheNameToTheNewActive() {
    try (BindServer dns = BindServer.start();
        TestCluster cluster =
            TestCluster.create(
                    3,
                    0,
                    TestCluster.TIMING,
                    (id, b) -> {
                      DnsSwitch sw = switchFor(dns, id);
                      return b.promotionPlan(
                          PromotionPlan.builder().fence(sw.fence()).action(sw).build());
                    })
                .startAll()) {
      TestCluster.ActiveSeen seen = cluster.awaitActiveSeen(Duration.ofSeconds(60));
      BatonNode first = seen.node();
      long firstToken = seen.token();
      assertThat(dns.dig("app." + dns.zone(), "A")).containsExactly(ADDRESS.get(first.id()));
      assertThat(String.join(" ", fence(dns))).contains("token=" + firstToken);

      long killedAt = System.nanoTime();
      cluster.crash(first.id());
      BatonNode second = cluster.awaitActive(Duration.ofSeconds(60));
      Duration bound = first.timing().failoverBound().plusSeconds(10);
      await()
          .atMost(bound)
          .pollInterval(Duration.ofMillis(20))
          .until(() -> dns.dig("app." + dns.zone(), "A").equals(List.of(ADDRESS.get(second.id()))));
      long millis = (System.nanoTime() - killedAt) / 1_000_000;
      System.out.printf(
          "DNS name moved from %s to %s %d ms after the kill%n", first.id(), second.id(), millis);
      assertThat(second.token()).isGreaterThan(firstToken);
      assertThat(String.join(" ", fence(dns))).contains("token=" + second.token());

      // The old active wakes up with its old token: the fence refuses it and nothing moves.
      DnsSwitch stale = switchFor(dns, first.id());
      assertThatThrownBy(() -> stale.promote(TestStepContext.promote(firstToken, first.id())))
          .isInstanceOf(StaleTokenException.class)
          .hasMessageContaining(Long.toString(firstToken))
          .hasMessageContaining(Long.toString(second.token()));
      assertThat(dns.dig("app." + dns.zone(), "A")).containsExactly(ADDRESS.get(second.id()));
    }
  }

  /**
   * The DNS server is down when the active dies. With the DNS fence and switch required (as in the
   * README's plan), no successor may report itself active: each one's plan fails on the fence, the
   * failure is journaled and shown in its status, and it gives the role up and backs off. When the
   * server is back, the next attempt completes: the name and the fence move to the new active.
   */
  @Test
  void aDnsServerDownDuringFailoverHoldsTheRoleBackUntilItReturns() {
    try (BindServer dns = BindServer.start();
        TestCluster cluster =
            TestCluster.create(
                    3,
                    0,
                    TestCluster.TIMING,
                    (id, b) -> {
                      DnsSwitch sw = switchFor(dns, id);
                      return b.promotionPlan(
                          PromotionPlan.builder().fence(sw.fence()).action(sw).build());
                    })
                .startAll()) {
      TestCluster.ActiveSeen seen = cluster.awaitActiveSeen(Duration.ofSeconds(60));
      BatonNode first = seen.node();
      long firstToken = seen.token();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> dns.dig("app." + dns.zone(), "A").equals(List.of(ADDRESS.get(first.id()))));

      dns.stop();
      cluster.crash(first.id());

      // A successor wins the Raft election and runs its plan; the fence cannot be advanced.
      await("a successor's plan fails on the unreachable DNS server")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () ->
                  cluster.running().stream()
                      .anyMatch(
                          n ->
                              n.cluster().journal().stream()
                                  .anyMatch(
                                      e ->
                                          e.token() > firstToken
                                              && e.outcome() == JournalEntry.Outcome.FAILED
                                              && e.error()
                                                  .orElse("")
                                                  .contains("127.0.0.1:" + dns.port()))));
      BatonNode failed =
          cluster.running().stream()
              .filter(n -> n.status().promotion().state() == PromotionState.FAILED)
              .findFirst()
              .orElseGet(() -> cluster.running().get(0));
      System.out.printf(
          "DNS down: %s promotion %s, last error: %s%n",
          failed.id(),
          failed.status().promotion().state(),
          failed.status().promotion().lastError());
      assertThat(cluster.activeSeenDuring(Duration.ofSeconds(8)))
          .as("no node reports active while its required DNS fence cannot be advanced")
          .isEmpty();

      dns.restart();
      BatonNode next = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(next.token()).isGreaterThan(firstToken);
      assertThat(dns.dig("app." + dns.zone(), "A")).containsExactly(ADDRESS.get(next.id()));
      assertThat(String.join(" ", fence(dns))).contains("token=" + next.token());
    }
  }

  /**
   * Issue 32, "DNS that converges": the same DNS outage during a failover, with the DNS step in
   * converge mode ({@link DnsConverger}). The role moves at once, without waiting for the name; the
   * new active shows the name as not yet moved (gauge baton_dns_name_pending 1) and its converger
   * retries with backoff; when BIND is back the name and the fence follow the new active.
   */
  @Test
  void inConvergeModeADnsServerDownDuringFailoverDoesNotHoldTheRoleAndTheNameFollows() {
    Map<String, DnsConverger> convergers = new java.util.concurrent.ConcurrentHashMap<>();
    Map<String, MeterRegistry> registries = new java.util.concurrent.ConcurrentHashMap<>();
    try (BindServer dns = BindServer.start();
        TestCluster cluster =
            TestCluster.create(
                    3,
                    0,
                    TestCluster.TIMING,
                    (id, b) -> {
                      DnsConverger c =
                          DnsConverger.of(
                              switchFor(dns, id), Duration.ofMillis(100), Duration.ofMillis(500));
                      MeterRegistry registry = new SimpleMeterRegistry();
                      c.bindTo(registry);
                      DnsConverger old = convergers.put(id, c);
                      if (old != null) {
                        old.close();
                      }
                      registries.put(id, registry);
                      return b.promotionPlan(PromotionPlan.builder().action(c).build());
                    })
                .startAll()) {
      // An active whose converger has moved the name, and says so in its gauge. Read together:
      // under load the first active may lose its first lease right after converging (its converger
      // then stops and its gauge drops), and the next active converges in turn.
      // The token is read in the same poll: read after it, a lapse in between would make it 0.
      TestCluster.ActiveSeen seen =
          await("an active node whose converger has moved the name")
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofMillis(20))
              .until(
                  () ->
                      cluster
                          .active()
                          .filter(n -> convergers.get(n.id()).converged())
                          .filter(n -> gauge(registries.get(n.id()), "baton.dns.converged") == 1.0)
                          .map(n -> new TestCluster.ActiveSeen(n, n.token()))
                          .filter(a -> a.token() != BatonNode.NO_TOKEN)
                          .orElse(null),
                  java.util.Objects::nonNull);
      BatonNode first = seen.node();
      long firstToken = seen.token();
      assertThat(dns.dig("app." + dns.zone(), "A")).containsExactly(ADDRESS.get(first.id()));

      dns.stop();
      long killedAt = System.nanoTime();
      cluster.crash(first.id());

      // The role moves within the failover bound although the DNS server does not answer.
      BatonNode second =
          cluster.awaitActive(first.timing().failoverBound().plus(Duration.ofSeconds(10)));
      long activeMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(second.token()).isGreaterThan(firstToken);
      assertThat(dns.isRunning()).as("the DNS server is still down").isFalse();
      DnsConverger secondConverger = convergers.get(second.id());
      assertThat(secondConverger.pending()).as("name not yet moved").isTrue();
      assertThat(gauge(registries.get(second.id()), "baton.dns.name.pending")).isEqualTo(1.0);
      assertThat(gauge(registries.get(second.id()), "baton.dns.converged")).isEqualTo(0.0);

      dns.restart();
      long backAt = System.nanoTime();
      await("the name follows the new active once DNS is back")
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> dns.dig("app." + dns.zone(), "A").equals(List.of(ADDRESS.get(second.id()))));
      System.out.printf(
          "converge: %s active %d ms after the kill with DNS down; name moved %d ms after DNS"
              + " came back%n",
          second.id(), activeMillis, (System.nanoTime() - backAt) / 1_000_000);
      assertThat(String.join(" ", fence(dns))).contains("token=" + second.token());
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(secondConverger::converged);
      assertThat(secondConverger.pending()).isFalse();
      assertThat(gauge(registries.get(second.id()), "baton.dns.name.pending")).isEqualTo(0.0);
      assertThat(second.isActive()).isTrue();

      // The old active's converger, run again with its old token, cannot move the name back.
      DnsConverger stale =
          DnsConverger.of(switchFor(dns, first.id()), Duration.ofMillis(50), Duration.ofMillis(50));
      stale.promote(TestStepContext.promote(firstToken, first.id()));
      await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> !stale.pending());
      assertThat(stale.converged()).isFalse();
      stale.close();
      assertThat(dns.dig("app." + dns.zone(), "A")).containsExactly(ADDRESS.get(second.id()));
    } finally {
      convergers.values().forEach(DnsConverger::close);
    }
  }

  private static double gauge(MeterRegistry registry, String name) {
    return registry.get(name).gauge().value();
  }
}
