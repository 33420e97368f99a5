package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.BatonNode;
import dev.baton.core.KvEntry;
import dev.baton.core.Member;
import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/baton recover} (docs/operations/disaster-recovery.md): from a stopped cluster's data
 * directory it writes a new cluster's, prints what it did (old cluster, members, highest token,
 * floor, keys kept), and the new cluster's active holds a token above the floor with the KV kept; a
 * non-empty target is refused with status 1, a malformed member with status 2.
 */
class RecoverCommandTest {

  @Test
  void recoverPrintsWhatItDidAndTheNewClusterStartsAboveTheFloor() {
    try (TestCluster old = TestCluster.create(1, 0);
        TestCluster fresh = TestCluster.create(1, 0)) {
      BatonNode n1 = old.start("n1");
      old.awaitActive(Duration.ofSeconds(30));
      n1.kv().put("app/config", "kept".getBytes(StandardCharsets.UTF_8));
      long oldToken = n1.token();
      old.stop("n1");

      Member m = fresh.members().get(0);
      String[] args = {
        "recover",
        "--from",
        old.dataDir("n1").toString(),
        "--to",
        fresh.dataDir(m.id()).toString(),
        "--cluster",
        fresh.clusterId(),
        "--node",
        m.id(),
        "--members",
        m.id() + "=" + m.address(),
        "--fence-token",
        "700",
        "--margin",
        "50",
        "--probe-timeout",
        "500ms"
      };
      SidecarProcessTest.Cli done = SidecarProcessTest.cli(args);
      assertThat(done.status()).as(done.err()).isZero();
      assertThat(done.out())
          .contains("of cluster '" + old.clusterId() + "'")
          .contains("old members (none answered): {n1=" + old.members().get(0).address() + "}")
          .contains("highest token in the copy " + oldToken)
          .contains("highest token the fences hold (given) 700")
          .contains("token floor 750")
          .contains("kept 1 keys");

      SidecarProcessTest.Cli again = SidecarProcessTest.cli(args);
      assertThat(again.status()).isEqualTo(1);
      assertThat(again.err()).contains("refused: ").contains("is not empty");

      String[] bad = args.clone();
      bad[10] = "n1-without-address";
      assertThat(SidecarProcessTest.cli(bad).status()).isEqualTo(2);

      BatonNode recovered = fresh.start(m.id());
      fresh.awaitActive(Duration.ofSeconds(30));
      assertThat(recovered.token()).isGreaterThan(750);
      assertThat(recovered.kv().get("app/config"))
          .get()
          .extracting(KvEntry::valueAsString)
          .isEqualTo("kept");
    }
  }
}
