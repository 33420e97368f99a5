package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Two data voters and a witness: the witness decides elections but never becomes active. */
class WitnessTest {

  @Test
  void witnessNeverActiveAndEitherDataVoterTakesOver() throws Exception {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      long lastToken = 0;
      for (int round = 0; round < 4; round++) {
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
        assertThat(active.id()).startsWith("n");
        assertThat(active.token()).isGreaterThan(lastToken);
        lastToken = active.token();
        assertThat(cluster.node("w1").isActive()).isFalse();
        assertThat(cluster.node("w1").role()).isEqualTo(Role.WITNESS);
        // Lose the active data voter: the other data voter and the witness are a majority.
        cluster.crash(active.id());
        BatonNode next = cluster.awaitActive(Duration.ofSeconds(30));
        assertThat(next.id()).isNotEqualTo(active.id()).startsWith("n");
        cluster.start(active.id());
      }
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
      assertThat(sampler.seenActive()).doesNotContain("w1").isNotEmpty();
    }
  }

  /**
   * The witness's site is lost: the two data voters are still a majority of three, so the active
   * keeps serving and the KV keeps committing. A second loss (the active) then leaves one voter of
   * three: nobody may become active until the witness returns, and the survivor then takes over
   * with a higher token.
   */
  @Test
  void losingTheWitnessKeepsTheActiveButASecondLossStopsFailoverUntilItReturns() throws Exception {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      cluster.crash("w1");

      // Two voters of three: writes commit and an active exists (normally the same activation; a
      // starved machine may make it renew its role with a new token, which is still progress).
      BatonNode serving = cluster.awaitActive(Duration.ofSeconds(60));
      long revision = serving.kv().put("ops/witness-down", "1".getBytes()).revision();
      assertThat(revision).isGreaterThan(active.token());
      BatonNode stillActive = cluster.awaitActive(Duration.ofSeconds(60));
      long lastToken = stillActive.token();
      System.out.printf(
          "witness lost: active before %s (token %d), after %s (token %d)%n",
          active.id(), active.token(), stillActive.id(), lastToken);

      // The active's site goes too: one voter of three is left.
      cluster.crash(stillActive.id());
      BatonNode survivor = cluster.running().get(0);
      assertThat(cluster.running()).containsExactly(survivor);
      Duration quiet = survivor.timing().failoverBound().multipliedBy(3);
      assertThat(cluster.activeSeenDuring(quiet))
          .as("no node may become active without a majority")
          .isEmpty();

      // The witness returns: the survivor and the witness are a majority again.
      cluster.start("w1");
      BatonNode next = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(next.id()).isEqualTo(survivor.id());
      assertThat(next.token()).isGreaterThan(lastToken).isGreaterThan(revision);
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
      assertThat(sampler.seenActive()).doesNotContain("w1");
    }
  }
}
