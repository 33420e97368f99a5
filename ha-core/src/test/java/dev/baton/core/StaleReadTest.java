package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Linearizable reads are never stale. A leader cut off right after a read believes it leads until
 * it notices (up to about two election timeouts); Ratis 3.3's read-index answered at once when no
 * entry had committed since its last acknowledged round, so such a leader served the old value
 * after the new leader had committed a newer one. The sequence, repeated: read on A, cut A off at
 * once, write through the new leader, read on A again. The second read must see the new value or
 * fail; the old value is a violation.
 */
class StaleReadTest {
  private static final int ROUNDS = 8;

  @Test
  void aLeaderCutOffRightAfterAReadNeverServesTheOldValueAgain() {
    List<String> stale = new ArrayList<>();
    int answered = 0;
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        NetworkPartition partition = NetworkPartition.create()) {
      List<String> ids = cluster.running().stream().map(BatonNode::id).toList();
      for (int round = 0; round < ROUNDS; round++) {
        BatonNode a = cluster.awaitActive(Duration.ofSeconds(60));
        String old = "old-" + round;
        a.kv().put("x", bytes(old));
        assertThat(value(a.kv().get("x"))).isEqualTo(old);

        partition.isolate(a.id(), ids);
        String fresh = "new-" + round;
        BatonNode b = cluster.running().stream().filter(n -> n != a).findFirst().orElseThrow();
        await("a write through the majority side")
            .atMost(Duration.ofSeconds(90))
            .ignoreExceptions()
            .until(() -> b.kv().put("x", bytes(fresh)).revision() > 0);
        try {
          String seen = value(a.kv().get("x"));
          answered++;
          if (!fresh.equals(seen)) {
            stale.add(
                "round " + round + ": " + a.id() + " read '" + seen + "' after '" + fresh + "'");
          }
        } catch (BatonException e) {
          // Refusing to answer is correct; answering with the old value is not.
        }
        partition.heal();
        // Before the next round cuts off another node, the healed one must have caught up: its log
        // repaired (the entries it appended alone replaced by the leader's) and the new
        // activation applied, or the next majority would wait for that repair.
        await(a.id() + " has caught up with the new active")
            .atMost(Duration.ofSeconds(90))
            .ignoreExceptions()
            .until(
                () -> {
                  Optional<BatonNode> now = cluster.active();
                  return now.isPresent()
                      && a.status().highestToken() >= now.get().token()
                      && fresh.equals(value(a.kv().get("x")));
                });
      }
    }
    assertThat(stale)
        .as("stale reads (%d of %d rounds answered)", stale.size(), answered)
        .isEmpty();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String value(Optional<KvEntry> e) {
    return e.map(x -> new String(x.value(), StandardCharsets.UTF_8)).orElse(null);
  }
}
