package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.testing.TestCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class SwitchActiveTest {

  record Event(String node, String what, long token, long nanos) {}

  @Test
  void targetBecomesActiveWithHigherTokenAfterTheOldActiveReportsStandby() {
    List<Event> events = new CopyOnWriteArrayList<>();
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) -> b.listener(new Recorder(events, id), Runnable::run))
            .startAll()) {
      BatonNode old = cluster.awaitActive(Duration.ofSeconds(30));
      long oldToken = old.token();
      String target = cluster.running().stream().filter(n -> n != old).findFirst().get().id();

      // Asked on a third node: any node may be asked.
      BatonNode asker =
          cluster.running().stream()
              .filter(n -> n != old && !n.id().equals(target))
              .findFirst()
              .get();
      long newToken = asker.switchActive(target, Duration.ofSeconds(20));

      assertThat(newToken).isGreaterThan(oldToken);
      BatonNode now = cluster.awaitActive(Duration.ofSeconds(20));
      assertThat(now.id()).isEqualTo(target);
      assertThat(now.token()).isGreaterThanOrEqualTo(newToken);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  events.stream().anyMatch(e -> e.node.equals(target) && e.what.equals("active")));

      // At the instant the target reported active, every other node's latest event was a
      // standby: nobody else still believed (the old one demoted before handing over).
      Event active =
          events.stream()
              .filter(e -> e.node.equals(target) && e.what.equals("active") && e.token == newToken)
              .findFirst()
              .orElseThrow();
      for (BatonNode other : cluster.running()) {
        if (other.id().equals(target)) {
          continue;
        }
        events.stream()
            .filter(e -> e.node.equals(other.id()) && e.nanos < active.nanos)
            .reduce((x, y) -> y)
            .ifPresent(
                last ->
                    assertThat(last.what)
                        .as(other.id() + " before the new active")
                        .startsWith("standby"));
      }
      assertThat(events)
          .anyMatch(
              e ->
                  e.node.equals(old.id())
                      && e.what.startsWith("standby")
                      && e.nanos < active.nanos);
      assertThat(old.isActive()).isFalse();

      // A switch cannot complete within a nanosecond (it needs a demotion, a transfer and an
      // election): the caller gets a timeout it can tell apart, naming the newest activation.
      String back = old.id();
      assertThatThrownBy(() -> now.switchActive(back, Duration.ofNanos(1)))
          .isInstanceOf(BatonTimeoutException.class)
          .hasMessageContaining("switch-active to " + back + " did not complete within");
      await("the switch asked for goes on after the caller's timeout")
          .atMost(Duration.ofSeconds(30))
          .until(() -> old.activeContext().map(ActiveContext::token).orElse(0L) > newToken);
    }
  }

  @Test
  void switchToAWitnessOrAStrangerIsRefused() {
    try (TestCluster cluster = TestCluster.create(2, 1).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      assertThatThrownBy(() -> active.switchActive("w1", Duration.ofSeconds(5)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("w1")
          .hasMessageContaining("witness");
      assertThatThrownBy(() -> active.switchActive("nobody", Duration.ofSeconds(5)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'nobody' is not a member");
      assertThat(active.isActive()).isTrue();
    }
  }

  /** Records role events with the monotonic time at which the listener ran (synchronously). */
  static final class Recorder implements RoleListener {
    private final List<Event> events;
    private final String node;

    Recorder(List<Event> events, String node) {
      this.events = events;
      this.node = node;
    }

    @Override
    public void onActive(ActiveContext context) {
      events.add(new Event(node, "active", context.token(), System.nanoTime()));
    }

    @Override
    public void onStandby(StandbyReason reason) {
      events.add(new Event(node, "standby:" + reason, 0, System.nanoTime()));
    }
  }
}
