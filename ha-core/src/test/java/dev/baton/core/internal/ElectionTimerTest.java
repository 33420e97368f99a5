package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.core.Timing;
import dev.baton.testing.cluster.NetworkPartition;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The follower's election timer (issue 33) against real Ratis 3.3 servers, three nodes and no role
 * controller: it starts an election through Ratis's own check and its own pre-vote election, only
 * once the follower has heard nothing from a leader for its timeout, and never while heartbeats
 * arrive. Each test runs a second timer on one follower whose range is {@code [min, min]}, so it is
 * due before Ratis's own timer (which draws from {@code [min, max]}) and its elections can be
 * counted; the nodes' own timers run as in production.
 */
class ElectionTimerTest {
  private static final Timing TIMING = Timing.DEFAULTS;
  private static final long MIN = TIMING.electionTimeoutMin().toNanos();
  private static final Pattern STARTED =
      Pattern.compile("no leader heard for (\\d+) ms \\(timeout (\\d+) ms");

  private RaftTrio trio;
  private Map<String, RaftNode> nodes;
  private final NetworkPartition partition = NetworkPartition.create();
  private final Logger timerLog = (Logger) LoggerFactory.getLogger(ElectionTimer.class);
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeEach
  void start() throws Exception {
    log.start();
    timerLog.addAppender(log);
    trio = RaftTrio.start("timer", Duration.ofSeconds(5), MonotonicClock.system());
    nodes = trio.nodes;
  }

  @AfterEach
  void stop() throws Exception {
    partition.heal();
    timerLog.detachAppender(log);
    trio.close();
  }

  @Test
  void whileHeartbeatsArriveNoTimerStartsAnElection() throws Exception {
    RaftNode leader = awaitLeader();
    RaftNode follower = followers(leader).get(0);
    long term = leader.info().getCurrentTerm();
    // The nodes' own timers started the first elections (no leader yet); none may start another.
    Map<String, Long> before = new HashMap<>();
    nodes.forEach((id, n) -> before.put(id, n.electionsStartedByTimer()));
    try (ElectionTimer eager = eagerTimer(follower)) {
      eager.start();
      // Three seconds: more than three times the eager timer's timeout. Any sample that finds the
      // leader not leader fails at once (a leadership regained later would also show as a new
      // term, asserted below).
      await(leader.selfId() + " stays leader while heartbeats arrive")
          .failFast(leader.selfId() + " lost leadership", () -> !leader.info().isLeader())
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> leader.info().isLeader());
      assertThat(eager.electionsStarted()).isZero();
    }
    for (RaftNode n : nodes.values()) {
      assertThat(n.electionsStartedByTimer()).as(n.selfId()).isEqualTo(before.get(n.selfId()));
      assertThat(n.info().getCurrentTerm()).as(n.selfId()).isEqualTo(term);
    }
  }

  @Test
  void aFollowerCutOffFromTheLeaderStartsPreVoteElectionsOnlyAfterMinOfSilence() throws Exception {
    RaftNode leader = awaitLeader();
    RaftNode follower = followers(leader).get(0);
    long term = leader.info().getCurrentTerm();
    try (ElectionTimer eager = eagerTimer(follower)) {
      eager.start();
      partition.cut(leader.selfId(), follower.selfId());
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(20))
          .until(() -> eager.electionsStarted() >= 2);
    }
    // The other follower still hears the leader and refuses the pre-votes, so no term moved: the
    // elections the timer started were pre-vote elections, as Ratis's own timer's are.
    assertThat(leader.info().isLeader()).isTrue();
    assertThat(leader.info().getCurrentTerm()).isEqualTo(term);
    List<String> lines;
    synchronized (log) {
      lines = log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
    List<String> started = lines.stream().filter(l -> l.contains("starting an election")).toList();
    assertThat(started).isNotEmpty();
    for (String l : started) {
      Matcher m = STARTED.matcher(l);
      assertThat(m.find()).as(l).isTrue();
      long silentMs = Long.parseLong(m.group(1));
      long timeoutMs = Long.parseLong(m.group(2));
      // Never before min of silence (docs/lease.md, step 2), whichever timer started it.
      assertThat(silentMs).as(l).isGreaterThanOrEqualTo(TIMING.electionTimeoutMin().toMillis());
      assertThat(timeoutMs)
          .as(l)
          .isBetween(
              TIMING.electionTimeoutMin().toMillis(), TIMING.electionTimeoutMax().toMillis());
      assertThat(silentMs).as(l).isGreaterThanOrEqualTo(timeoutMs);
    }
  }

  /** A second timer on {@code node} whose timeout is always {@code min}. */
  private static ElectionTimer eagerTimer(RaftNode node) {
    return new ElectionTimer(node.selfId() + "-eager", MIN, MIN, node::divisionOrNull);
  }

  private RaftNode awaitLeader() {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> nodes.values().stream().filter(RaftNode::isLeaderReady).count() == 1);
    return nodes.values().stream().filter(RaftNode::isLeaderReady).findFirst().orElseThrow();
  }

  private List<RaftNode> followers(RaftNode leader) {
    return nodes.values().stream().filter(n -> n != leader).toList();
  }
}
