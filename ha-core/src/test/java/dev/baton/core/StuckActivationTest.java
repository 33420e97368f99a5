package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.util.CodeInjectionForTesting;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 33's stuck switch: a switch target won Raft leadership and then, for 90 s, neither appended
 * its activation nor logged anything, while its heartbeats kept every other node a follower, so the
 * cluster had no active. The role thread hands the activation to Ratis, whose local submit path can
 * block before it returns a future (it waits, unbounded, for a task of its client executor).
 *
 * <p>Here the target's append path is held with Ratis's own test hook, {@code
 * CodeInjectionForTesting} at {@code RaftServerImpl.appendTransaction} (the real server, blocked
 * where that task runs), and a switch is asked to it. The target must hand leadership on instead of
 * holding it without the role, so that another node becomes active with a newer token, and say in
 * its log why. Before the fix, its role thread stayed blocked inside Ratis and no node became
 * active until the hook let go. The hook is static in Ratis, so it matches only the target's server
 * id in this class's JVM (surefire runs one class at a time per fork).
 */
class StuckActivationTest {

  @Test
  void aLeaderWhoseActivationCannotBeAppendedHandsLeadershipOn() throws Exception {
    Logger roleLog = (Logger) LoggerFactory.getLogger("dev.baton");
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    roleLog.addAppender(log);
    String hook = appendTransactionHook();
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger held = new AtomicInteger();
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      BatonNode old = cluster.awaitActive(Duration.ofSeconds(30));
      await().atMost(Duration.ofSeconds(30)).until(() -> old.role() == Role.ACTIVE);
      long oldToken = old.token();
      String target = cluster.running().stream().filter(n -> n != old).findFirst().get().id();
      CodeInjectionForTesting.put(
          hook,
          (localId, remoteId, args) -> {
            if (target.equals(String.valueOf(localId))) {
              held.incrementAndGet();
              try {
                release.await(90, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return true;
          });

      assertThatThrownBy(() -> old.cluster().switchActive(target, Duration.ofSeconds(3)))
          .isInstanceOf(BatonTimeoutException.class);

      Optional<BatonNode> next =
          await()
              .atMost(Duration.ofSeconds(60))
              .until(
                  () ->
                      cluster.running().stream()
                          .filter(n -> !n.id().equals(target))
                          .filter(n -> n.isActive() && n.token() > oldToken)
                          .findFirst(),
                  Optional::isPresent);
      assertThat(held.get()).as("the target's appends held by the hook").isPositive();
      List<String> warnings;
      synchronized (log) {
        warnings =
            log.list.stream()
                .filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith(target + ": the activation in term"))
                .toList();
      }
      assertThat(warnings)
          .as("the target says why it handed leadership on")
          .isNotEmpty()
          .allMatch(m -> m.contains("has not committed in"));
      assertThat(next.get().isActive()).isTrue();
      // Let the held appends go before the cluster closes (a node's close waits for them).
      release.countDown();
      assertThat(sampler.violations()).isEmpty();
      assertThat(sampler.rounds()).isPositive();
    } finally {
      release.countDown();
      CodeInjectionForTesting.remove(hook);
      roleLog.detachAppender(log);
      log.stop();
    }
  }

  /** The name Ratis 3.3's RaftServerImpl gives its appendTransaction injection point. */
  private static String appendTransactionHook() throws ReflectiveOperationException {
    Field f =
        Class.forName("org.apache.ratis.server.impl.RaftServerImpl")
            .getDeclaredField("APPEND_TRANSACTION");
    f.setAccessible(true);
    return (String) f.get(null);
  }
}
