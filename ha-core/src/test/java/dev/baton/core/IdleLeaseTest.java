package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 33: an idle active renews its lease from Ratis's heartbeats, not from log entries. Three
 * real nodes; once the activation has settled, for several seconds the same node stays active with
 * the same token, its lease keeps being renewed (what is left never falls to the demotion reserve,
 * whereas an unrenewed lease would be gone after one lease length), and no node's Raft log grows.
 * With a renewal entry every renewInterval the log grows by about 30 entries in those seconds and
 * the test fails.
 */
class IdleLeaseTest {
  private static final Logger LOG = LoggerFactory.getLogger(IdleLeaseTest.class);
  private static final Duration IDLE = Duration.ofSeconds(5);

  @Test
  void anIdleActiveKeepsItsLeaseAndTokenWithoutWritingToTheLog() {
    Timing timing = TestCluster.TIMING;
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      Settled settled = settle(cluster);
      BatonNode active = settled.active();
      Map<String, Long> indexes = settled.indexes();
      long token = active.token();
      LOG.info("idle from here: active {} token {} log indexes {}", active.id(), token, indexes);

      long reserveNanos = timing.demotionReserve().toNanos();
      AtomicLong minLeftNanos = new AtomicLong(Long.MAX_VALUE);
      List<String> problems = new ArrayList<>();
      watchIdle(
          active,
          token,
          minLeftNanos,
          problems,
          () -> {
            for (BatonNode n : cluster.running()) {
              if (n.lastLogIndex() != indexes.get(n.id())) {
                problems.add(
                    n.id() + " log index " + n.lastLogIndex() + " != " + indexes.get(n.id()));
              }
            }
          });
      LOG.info("idle: least lease left {} ms", minLeftNanos.get() / 1_000_000);
      assertThat(problems).as("while idle").isEmpty();
      assertThat(minLeftNanos.get())
          .as(
              "least lease left while idle, ns (renewed from heartbeats, never down to the reserve)")
          .isGreaterThan(reserveNanos);
      assertThat(cluster.running().stream().filter(BatonNode::isActive).map(BatonNode::id))
          .containsExactly(active.id());
    }
  }

  /**
   * An idle active asks only one of its two followers for each heartbeat round, in turn (issue 33:
   * half the idle heartbeats). With one follower crashed, the rounds it is asked for go unanswered:
   * the active must notice and ask the other follower, so that for several seconds it keeps the
   * role and the token and its lease never falls to the demotion reserve.
   */
  @Test
  void withOneFollowerDownTheIdleActiveKeepsRenewingFromTheOther() {
    Timing timing = TestCluster.TIMING;
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = settle(cluster).active();
      String down =
          cluster.running().stream().filter(n -> n != active).findFirst().orElseThrow().id();
      cluster.crash(down);
      long token = active.token();
      long reserveNanos = timing.demotionReserve().toNanos();
      AtomicLong minLeftNanos = new AtomicLong(Long.MAX_VALUE);
      List<String> problems = new ArrayList<>();
      watchIdle(active, token, minLeftNanos, problems, () -> {});
      LOG.info("{} down: least lease left {} ms", down, minLeftNanos.get() / 1_000_000);
      assertThat(problems).as("while idle with " + down + " down").isEmpty();
      assertThat(minLeftNanos.get())
          .as("least lease left while idle with one follower down, ns (never down to the reserve)")
          .isGreaterThan(reserveNanos);
    }
  }

  /** The active of a started cluster, and each node's last log index once the logs settled. */
  private record Settled(BatonNode active, Map<String, Long> indexes) {}

  /**
   * Waits for an active whose role is ACTIVE, then for the logs to settle: the activation, its
   * report and the start-up entries have been written everywhere.
   */
  private static Settled settle(TestCluster cluster) {
    BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
    await().atMost(Duration.ofSeconds(30)).until(() -> active.role() == Role.ACTIVE);
    return new Settled(active, awaitSettledLogs(cluster));
  }

  /**
   * For {@link #IDLE}, every 20 ms: notes in {@code problems} a moment {@code active} is not active
   * or holds another token than {@code token}, keeps the least lease left in {@code minLeftNanos},
   * and runs {@code alsoCheck} (which may add problems); stops at the first problem.
   */
  private static void watchIdle(
      BatonNode active,
      long token,
      AtomicLong minLeftNanos,
      List<String> problems,
      Runnable alsoCheck) {
    long end = System.nanoTime() + IDLE.toNanos();
    await()
        .atMost(IDLE.plusSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              if (!active.isActive()) {
                problems.add("not active at " + System.nanoTime());
              }
              if (active.token() != token) {
                problems.add("token " + active.token() + " instead of " + token);
              }
              minLeftNanos.accumulateAndGet(active.status().leaseRemaining().toNanos(), Math::min);
              alsoCheck.run();
              return !problems.isEmpty() || System.nanoTime() - end >= 0;
            });
  }

  /**
   * Waits (at most 15 s) until no node's last log index has moved for a second; returns them. A log
   * that never settles is left to the idle check, which then names the growth.
   */
  private static Map<String, Long> awaitSettledLogs(TestCluster cluster) {
    Map<String, Long> last = new LinkedHashMap<>();
    AtomicLong stableSince = new AtomicLong(System.nanoTime());
    try {
      awaitSettled(cluster, last, stableSince);
    } catch (ConditionTimeoutException e) {
      LOG.info("logs did not settle within 15 s: {}", last);
    }
    return last;
  }

  private static void awaitSettled(
      TestCluster cluster, Map<String, Long> last, AtomicLong stableSince) {
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              Map<String, Long> now = new LinkedHashMap<>();
              for (BatonNode n : cluster.running()) {
                now.put(n.id(), n.lastLogIndex());
              }
              if (!now.equals(last) || now.values().stream().distinct().count() != 1) {
                last.clear();
                last.putAll(now);
                stableSince.set(System.nanoTime());
                return false;
              }
              return System.nanoTime() - stableSince.get() >= Duration.ofSeconds(1).toNanos();
            });
  }
}
