package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonException;
import dev.baton.core.KvEntry;
import dev.baton.core.internal.proto.Query;
import dev.baton.testing.cluster.NetworkPartition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Linearizable reads on the leader by read index with a fresh round (issue 40, {@link
 * RaftNode#read}), on three real Ratis nodes with no role controller. The read notes the commit
 * index when it arrives and answers only after a majority acknowledged an AppendEntries round sent
 * after that; it appends nothing to the log.
 */
class ReadIndexTest {
  private static final Logger LOG = LoggerFactory.getLogger(ReadIndexTest.class);
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(5);
  private static final int ROUNDS = 3;

  private RaftTrio trio;
  private Map<String, RaftNode> nodes;
  private final NetworkPartition partition = NetworkPartition.create();

  @BeforeEach
  void start() throws IOException {
    trio = RaftTrio.start("ri", OPERATION_TIMEOUT, MonotonicClock.system());
    nodes = trio.nodes;
  }

  @AfterEach
  void stop() throws Exception {
    partition.close();
    trio.close();
  }

  @Test
  void aReadOnTheLeaderSeesTheLastWriteAndAppendsNothing() {
    RaftNode leader = awaitReadyLeader();
    KvStore kv = new KvStore(leader);
    kv.put("x", bytes("one"));
    long before = leader.lastLogIndex();
    for (int i = 0; i < 20; i++) {
      assertThat(value(kv.get("x"))).isEqualTo("one");
    }
    // Through the log, the 20 reads would have appended 20 entries. With Ratis's log metadata off
    // (RaftSettings) no commit-index entry follows the put's commit either: nothing at all.
    assertThat(leader.lastLogIndex()).isEqualTo(before);
    kv.put("x", bytes("two"));
    assertThat(value(kv.get("x"))).isEqualTo("two");
  }

  /**
   * The leader is cut off after the read arrived (its read index noted) and before its round
   * completes, and the majority side elects a new leader and commits a new value meanwhile. The
   * read must be refused or see the new value; the old one is a stale read. A read that answered at
   * once from the applied state, skipping the round, returns the old value here.
   */
  @Test
  void aLeaderCutOffAfterTheReadArrivedNeverAnswersFromTheOldState() {
    List<String> stale = new ArrayList<>();
    List<String> outcomes = new ArrayList<>();
    for (int round = 0; round < ROUNDS; round++) {
      RaftNode a = awaitReadyLeader();
      String old = "old-" + round;
      String fresh = "new-" + round;
      new KvStore(a).put("x", bytes(old));
      assertThat(value(new KvStore(a).get("x"))).isEqualTo(old);

      RaftNode b = nodes.values().stream().filter(n -> n != a).findFirst().orElseThrow();
      Query get = Query.newBuilder().setGet("x").build();
      String seen;
      try {
        var r =
            a.read(
                get,
                () -> {
                  partition.isolate(a.selfId(), nodes.keySet());
                  await("a write through the majority side")
                      .atMost(WAIT)
                      .ignoreExceptions()
                      .until(() -> new KvStore(b).put("x", bytes(fresh)).revision() > 0);
                });
        seen =
            r.getEntriesCount() == 0
                ? null
                : r.getEntries(0).getValue().toString(StandardCharsets.UTF_8);
        outcomes.add("round " + round + ": answered '" + seen + "'");
        if (!fresh.equals(seen)) {
          stale.add("round " + round + ": " + a.selfId() + " read '" + seen + "' after " + fresh);
        }
      } catch (BatonException e) {
        outcomes.add("round " + round + ": refused (" + e.getMessage() + ")");
      }
      partition.heal();
      await(a.selfId() + " has caught up")
          .atMost(WAIT)
          .ignoreExceptions()
          .until(
              () -> {
                RaftNode leader = awaitReadyLeader();
                return fresh.equals(value(new KvStore(leader).get("x")))
                    && fresh.equals(
                        a.stateMachine().localValue("x").map(ReadIndexTest::string).orElse(null));
              });
    }
    LOG.info("cut-off reads: {}", outcomes);
    assertThat(stale).as("stale reads; outcomes %s", outcomes).isEmpty();
  }

  private RaftNode awaitReadyLeader() {
    return await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              for (RaftNode n : nodes.values()) {
                if (n.isLeaderReady() && n.majorityAckedSendTime().isPresent()) {
                  return n;
                }
              }
              return null;
            },
            n -> n != null);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static String value(Optional<KvEntry> e) {
    return e.map(x -> string(x.value())).orElse(null);
  }
}
