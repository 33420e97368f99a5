package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.Timing;
import dev.baton.testing.cluster.NetworkPartition;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The heartbeat lease's source on three real Ratis nodes (issue 33, slice 1), with no role
 * controller: nothing proposes entries, so the cluster is idle and only Ratis's heartbeats move the
 * majority-acknowledged send time ({@link RaftNode#majorityAckedSendTime()}). Every node's clock is
 * the system ticker, so readings of different nodes can be compared.
 */
class HeartbeatAcksClusterTest {
  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatAcksClusterTest.class);
  private static final Timing TIMING = Timing.DEFAULTS;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(10);

  private final MonotonicClock clock = MonotonicClock.system();
  private RaftTrio trio;
  private Map<String, RaftNode> nodes;
  private final NetworkPartition partition = NetworkPartition.create();
  // Per node and term, the last value seen: no sample may be lower (d).
  private final Map<String, long[]> lastSeen = new HashMap<>();

  @BeforeEach
  void start() throws IOException {
    trio = RaftTrio.start("hb", Duration.ofSeconds(5), clock);
    nodes = trio.nodes;
  }

  @AfterEach
  void stop() throws Exception {
    partition.heal();
    trio.close();
  }

  @Test
  void advancesWhileIdleWithoutLogEntriesStopsWhenCutOffAndRestartsFromTheNewTerm() {
    RaftNode leader = awaitLeaderWithValue();
    awaitIdleLog();

    // (a) Idle: the value keeps advancing at about the heartbeat rate; no node's log moves.
    Map<String, Long> indexes = lastIndexes();
    Samples idle = sample(leader, Duration.ofSeconds(4));
    LOG.info("idle on {}: {}", leader.selfId(), idle.describe());
    assertThat(idle.empty).as("leader %s lost its value while idle", leader.selfId()).isZero();
    assertThat(idle.advances)
        .as("advances in 4 s of idle (heartbeats every ~electionTimeoutMin/2)")
        .isGreaterThanOrEqualTo(5);
    assertThat(idle.maxStalenessMs)
        .as("oldest majority-acknowledged send time seen while idle, ms")
        .isLessThan(TIMING.electionTimeoutMin().toMillis());
    assertThat(lastIndexes()).as("last log index of every node").isEqualTo(indexes);

    // (c) One follower cut off: the leader and the other follower are a majority.
    String[] followers = followersOf(leader);
    partition.cut(leader.selfId(), followers[0]);
    long cutOne = clock.nanoTime();
    Samples oneCut = sample(leader, Duration.ofSeconds(3));
    LOG.info("one follower cut off: {}", oneCut.describe());
    assertThat(oneCut.empty).isZero();
    assertThat(oneCut.advances).isGreaterThanOrEqualTo(3);
    assertThat(oneCut.last - cutOne).as("value moved past the cut").isPositive();
    partition.heal();

    // (b) The leader cut off from both followers: nothing sent after the cut is acknowledged.
    leader = awaitLeaderWithValue();
    String oldLeader = leader.selfId();
    long oldTerm = leader.info().getCurrentTerm();
    partition.isolate(oldLeader, nodes.keySet());
    long cutAll = clock.nanoTime();
    Samples isolated = sample(leader, Duration.ofSeconds(2));
    LOG.info("leader isolated: {}", isolated.describe());
    // It still led for longer than a heartbeat interval after its last acknowledged round, so it
    // sent rounds after the cut: had any counted, the value would have moved past the cut.
    assertThat(isolated.maxStalenessMs)
        .as("oldest value seen while it still led after the cut, ms")
        .isGreaterThan(TIMING.electionTimeoutMin().toMillis() / 2 + 100);
    assertThat(cutAll - isolated.last)
        .as(
            "no round sent after the cut counts: last value %d ns before the cut",
            cutAll - isolated.last)
        .isGreaterThanOrEqualTo(0);

    // (e) The majority side elects a new leader; its value comes from its own term.
    RaftNode next = awaitLeaderWithValue(oldLeader);
    assertThat(next.info().getCurrentTerm()).isGreaterThan(oldTerm);
    Samples nextSamples = sample(next, Duration.ofSeconds(1));
    assertThat(nextSamples.first - cutAll)
        .as("the new leader's first value is a round it sent after the old leader was cut off")
        .isPositive();

    // (e) The old leader leads again, in a newer term: none of its old term's figures come back.
    partition.heal();
    RaftNode old = nodes.get(oldLeader);
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .until(() -> followerCaughtUp(next, oldLeader));
    long beforeTransfer = clock.nanoTime();
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () -> {
              RaftNode l = currentLeader();
              if (l != null && !l.selfId().equals(oldLeader)) {
                l.transferLeadership(oldLeader, Duration.ofSeconds(3));
              }
              return old.isLeader();
            });
    Samples again = sample(old, Duration.ofSeconds(2));
    LOG.info("old leader leading again: {}", again.describe());
    assertThat(again.present).isPositive();
    assertThat(again.min - beforeTransfer)
        .as("every value of the new term was sent after the transfer began")
        .isPositive();
  }

  /** Samples {@code node}'s value every 10 ms for {@code span}, checking it never decreases (d). */
  private Samples sample(RaftNode node, Duration span) {
    Samples s = new Samples();
    long end = clock.nanoTime() + span.toNanos();
    AtomicLong lastChange = new AtomicLong(clock.nanoTime());
    await()
        .atMost(span.plus(WAIT))
        .pollInterval(POLL)
        .until(
            () -> {
              long now = clock.nanoTime();
              long term = node.info().getCurrentTerm();
              OptionalLong v = node.majorityAckedSendTime();
              if (v.isEmpty()) {
                s.empty++;
              } else {
                long value = v.getAsLong();
                long[] seen = lastSeen.get(node.selfId());
                if (seen != null && seen[0] == term && value - seen[1] < 0) {
                  s.backwards.add("term " + term + ": " + seen[1] + " -> " + value);
                }
                lastSeen.put(node.selfId(), new long[] {term, value});
                if (s.present == 0) {
                  s.first = value;
                  s.min = value;
                } else if (value != s.last) {
                  s.advances++;
                  s.gapsMs.add((now - lastChange.get()) / 1_000_000);
                  lastChange.set(now);
                }
                if (value - s.min < 0) {
                  s.min = value;
                }
                s.last = value;
                s.present++;
                s.maxStalenessMs = Math.max(s.maxStalenessMs, (now - value) / 1_000_000);
              }
              return now - end >= 0;
            });
    assertThat(s.backwards).as("values on %s that went backwards", node.selfId()).isEmpty();
    return s;
  }

  private static final class Samples {
    int present;
    int empty;
    int advances;
    long first;
    long last;
    long min;
    long maxStalenessMs;
    final List<Long> gapsMs = new ArrayList<>();
    final List<String> backwards = new ArrayList<>();

    String describe() {
      return present
          + " samples, "
          + empty
          + " empty, "
          + advances
          + " advances, gaps between advances (ms) "
          + gapsMs
          + ", max staleness "
          + maxStalenessMs
          + " ms";
    }
  }

  private RaftNode awaitLeaderWithValue(String... excluded) {
    List<String> skip = List.of(excluded);
    return await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              for (RaftNode n : nodes.values()) {
                if (!skip.contains(n.selfId())
                    && n.isLeaderReady()
                    && n.majorityAckedSendTime().isPresent()) {
                  return n;
                }
              }
              return null;
            },
            n -> n != null);
  }

  private RaftNode currentLeader() {
    for (RaftNode n : nodes.values()) {
      if (n.isLeader()) {
        return n;
      }
    }
    return null;
  }

  private String[] followersOf(RaftNode leader) {
    return nodes.keySet().stream().filter(id -> !id.equals(leader.selfId())).toArray(String[]::new);
  }

  private boolean followerCaughtUp(RaftNode leader, String follower) {
    Long c = leader.commitIndexes().get(follower);
    return c != null && c >= leader.lastLogIndex() - 1;
  }

  private Map<String, Long> lastIndexes() {
    Map<String, Long> out = new LinkedHashMap<>();
    nodes.forEach((id, n) -> out.put(id, n.lastLogIndex()));
    return out;
  }

  /** Waits until no node's last log index has moved for one second (the term's entries settle). */
  private void awaitIdleLog() {
    AtomicLong since = new AtomicLong(clock.nanoTime());
    Map<String, Long> last = new HashMap<>(lastIndexes());
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              Map<String, Long> now = lastIndexes();
              if (!now.equals(last)) {
                last.clear();
                last.putAll(now);
                since.set(clock.nanoTime());
              }
              return clock.nanoTime() - since.get() >= Duration.ofSeconds(1).toNanos();
            });
  }
}
