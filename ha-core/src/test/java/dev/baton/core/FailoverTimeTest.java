package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code baton_failover_duration_seconds}: after a real crash of the active, the new active records
 * one failover, measured from the old lease's end as it placed it (its last heartbeat from the old
 * active plus the lease) to its turning active. The nodes run on {@code System.nanoTime()}, the
 * test's own clock, so the figure is checked against the crash and the moment the test saw the new
 * active. The same figure reaches every member's history record of the failover (issue 38's
 * timeline).
 */
class FailoverTimeTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final TimeUnit NANOS = TimeUnit.NANOSECONDS;

  @Test
  void theNewActiveRecordsOneFailoverFromTheOldLeasesEndToItsActivation() {
    Map<String, SimpleMeterRegistry> registries = new ConcurrentHashMap<>();
    try (TestCluster cluster =
        TestCluster.create(
            3,
            0,
            TestCluster.TIMING,
            (id, b) ->
                b.meterRegistry(registries.computeIfAbsent(id, k -> new SimpleMeterRegistry())))) {
      cluster.startAll();
      // Registered before any failover, empty, so that a dashboard finds the series.
      for (String id : registries.keySet()) {
        assertThat(timer(registries, id)).as("%s's failover timer", id).isNotNull();
      }
      // The figures before the crash, read while one activation stays active throughout (a lease
      // lost at start on a loaded machine moves the role; then read again).
      TestCluster.ActiveSeen first;
      long before;
      Map<String, Double> nanosBefore = new ConcurrentHashMap<>();
      do {
        first = cluster.awaitActiveSeen(WAIT);
        before = total(registries);
        registries.forEach((id, r) -> nanosBefore.put(id, timer(registries, id).totalTime(NANOS)));
      } while (!stillActive(first));
      // Every record until now that is a START counts nothing; a failover at start (a first lease
      // lost on a loaded machine) may have counted one, so the crash's is counted on top.
      boolean onlyStart =
          first.node().cluster().history().stream()
              .allMatch(a -> a.reason() == Activation.Reason.START);
      if (onlyStart) {
        assertThat(before).as("failovers counted at start").isZero();
      }

      long crashedAt = System.nanoTime();
      cluster.crash(first.node().id());
      TestCluster.ActiveSeen next = cluster.awaitActiveSeen(WAIT);
      long seenAt = System.nanoTime();
      assertThat(next.node().id()).isNotEqualTo(first.node().id());
      assertThat(next.token()).isGreaterThan(first.token());
      long counted = before;
      await("the new active records the failover")
          .atMost(WAIT)
          .until(() -> total(registries) > counted);

      Activation taken =
          next.node().cluster().history().stream()
              .filter(a -> a.token() == next.token())
              .findFirst()
              .get();
      assertThat(taken.reason()).isEqualTo(Activation.Reason.FAILOVER);
      assertThat(total(registries)).as("one failover, counted once").isEqualTo(before + 1);
      Timer t = timer(registries, next.node().id());
      assertThat(t.count()).isGreaterThanOrEqualTo(1);
      double nanos = t.totalTime(NANOS) - nanosBefore.get(next.node().id());
      Timing timing = TestCluster.TIMING;
      // The new active's follower waited at least electionTimeoutMin after its last heartbeat from
      // the old active before it stood, and the figure starts a lease after that heartbeat.
      long floor = timing.electionTimeoutMin().minus(timing.lease()).toNanos();
      assertThat(nanos)
          .as("failover time (ns) at least electionTimeoutMin less the lease")
          .isGreaterThanOrEqualTo(floor - TimeUnit.MILLISECONDS.toNanos(2));
      // The old active asked each follower for a heartbeat every other renewInterval (Ratis sends
      // its own every electionTimeoutMin / 2), so the new active heard from it well within three
      // renewIntervals before the crash, and the old lease ended after that heartbeat plus a lease:
      // the figure is at most crash-to-seen less the lease, plus three renewIntervals. Counted from
      // the last heartbeat instead of the lease's end, it is a lease (692 ms) longer and fails
      // this.
      long ceiling =
          seenAt - crashedAt - timing.lease().toNanos() + 3 * timing.renewInterval().toNanos();
      assertThat(nanos)
          .as("failover time (ns) against the crash and the moment the test saw the new active")
          .isLessThanOrEqualTo(ceiling);
      // Issue 38: the new active's report that it is ACTIVE carries the same figure into the
      // replicated history, so every running member's record of the failover holds it (what the
      // status page's timeline prints), to the nanosecond of what the histogram counted.
      for (BatonNode member : cluster.running()) {
        await(member.id() + "'s history record of the failover carries its duration")
            .atMost(WAIT)
            .until(() -> record(member, next.token()).failoverDuration().isPresent());
        Duration recorded = record(member, next.token()).failoverDuration().get();
        assertThat(recorded).as("%s's record", member.id()).isPositive();
        assertThat((double) recorded.toNanos())
            .as("%s's record against baton_failover_duration_seconds (ns)", member.id())
            .isCloseTo(nanos, org.assertj.core.data.Offset.offset(1_000.0));
      }
      // A START carries none (the first active's report went out with no figure).
      Activation crashed = record(next.node(), first.token());
      if (crashed.reason() == Activation.Reason.START) {
        assertThat(crashed.failoverDuration()).as("the START's failover time").isEmpty();
      }
      // A histogram: every failover in the +Inf bucket, the buckets cumulative.
      var snapshot = t.takeSnapshot();
      assertThat(snapshot.histogramCounts()).isNotEmpty();
      assertThat(snapshot.histogramCounts()[snapshot.histogramCounts().length - 1].count())
          .isLessThanOrEqualTo(t.count());
    }
  }

  private static Activation record(BatonNode member, long token) {
    return member.cluster().history().stream()
        .filter(a -> a.token() == token)
        .findFirst()
        .orElseThrow();
  }

  private static boolean stillActive(TestCluster.ActiveSeen seen) {
    return seen.node().activeContext().map(c -> c.token() == seen.token()).orElse(false);
  }

  private static Timer timer(Map<String, SimpleMeterRegistry> registries, String id) {
    return registries.get(id).find("baton.failover.duration").timer();
  }

  private static long total(Map<String, SimpleMeterRegistry> registries) {
    long n = 0;
    for (String id : registries.keySet()) {
      Timer t = timer(registries, id);
      n += t == null ? 0 : t.count();
    }
    return n;
  }
}
