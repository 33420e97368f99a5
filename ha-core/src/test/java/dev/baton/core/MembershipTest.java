package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.testing.TestCluster;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MembershipTest {

  @Test
  void addAFourthVoterAndRemoveOneWhileTheActiveKeepsServing() {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      long token = active.token();

      Member n4 = cluster.newMember("n4", false);
      BatonNode fourth = cluster.builderFor("n4").joining(true).build();
      fourth.start();
      active.addMember(n4);
      assertThat(active.members()).extracting(Member::id).contains("n4");
      active.kv().put("after-add", "1".getBytes());
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  fourth.status().members().stream()
                      .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));

      String victim =
          cluster.running().stream()
              .filter(n -> n != active && !n.id().equals("n4"))
              .findFirst()
              .get()
              .id();
      active.removeMember(victim);
      cluster.stop(victim);
      assertThat(active.members()).extracting(Member::id).doesNotContain(victim).contains("n4");

      // The active served throughout: same activation, still active, writes commit.
      assertThat(active.isActive()).isTrue();
      assertThat(active.token()).isEqualTo(token);
      assertThat(active.kv().put("after-remove", "2".getBytes()).revision()).isPositive();

      // The new voter counts: stop another old voter; {active, n4} is still a majority of 3.
      String other =
          cluster.running().stream()
              .filter(n -> n != active && !n.id().equals("n4"))
              .findFirst()
              .get()
              .id();
      cluster.stop(other);
      assertThat(active.kv().put("with-n4", "3".getBytes()).revision()).isPositive();
      fourth.close();
    }
  }

  @Test
  void theActiveCannotBeRemovedAndDuplicatesAreRefused() {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      assertThatThrownBy(() -> active.removeMember(active.id()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is the active node")
          .hasMessageContaining("switch-active");
      Member existing = active.members().get(0);
      assertThatThrownBy(() -> active.addMember(Member.voter(existing.id(), "127.0.0.1:1")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("already a member");
      assertThatThrownBy(() -> active.removeMember("ghost"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'ghost' is not a member");
    }
  }
}
