package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A leader that is handing its leadership over refuses writes until the transfer ends (Ratis's
 * LeaderSteppingDownException, which the Ratis client does not retry). Seen as a failed
 * switch-active in NoTwoBelieversTest at load 29: "write failed: LeaderSteppingDownException: n1 is
 * stepping down". The entry was never appended, so Baton sends it again within the operation
 * timeout.
 */
class LeaderSteppingDownTest {

  @Test
  void writesDuringALeadershipTransferWaitForItToEndInsteadOfFailing() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode leader = cluster.awaitActive(Duration.ofSeconds(60));
      BatonNode target =
          cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow();
      // Everything the leader sends the target arrives 400 ms late, while writes keep coming: the
      // target answers (it is up) but is never quite caught up, so the switch's leadership transfer
      // to it stays pending, and the leader "steps down", for the transfer's whole timeout.
      partition.slow(leader.id(), target.id(), Duration.ofMillis(400));
      AtomicBoolean stop = new AtomicBoolean();
      List<String> failed = new CopyOnWriteArrayList<>();
      AtomicInteger written = new AtomicInteger();
      Thread writer =
          new Thread(
              () -> {
                while (!stop.get()) {
                  try {
                    leader.kv().put("k-" + written.get(), bytes("v"));
                    written.incrementAndGet();
                  } catch (BatonException e) {
                    failed.add(e.getMessage());
                  }
                }
              },
              "stepping-down-writer");
      writer.start();
      String switched;
      try {
        switched =
            "switched to "
                + target.id()
                + " with token "
                + leader.cluster().switchActive(target.id(), Duration.ofSeconds(10));
      } catch (RuntimeException e) {
        switched = "switch failed: " + e.getMessage();
      }
      stop.set(true);
      writer.join(30_000);
      System.out.println(
          "LeaderSteppingDownTest: " + switched + "; written " + written + ", failed " + failed);
      assertThat(failed).as("writes refused while the leader was stepping down").isEmpty();
      assertThat(written.get()).isPositive();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
