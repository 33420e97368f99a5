package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.tls.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS on the Raft transport: members with the cluster's CA work; a stranger cannot join. */
class RaftTlsTest {
  @TempDir Path dir;

  @Test
  void membersWithTheClusterCaElectAnActiveAndAForeignCertificateIsShutOut() throws Exception {
    TestCertificates ca =
        TestCertificates.authority(Files.createDirectories(dir.resolve("ca")), "baton-ca");
    TestCertificates otherCa =
        TestCertificates.authority(Files.createDirectories(dir.resolve("other")), "other-ca");
    try (TestCluster cluster =
            TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) -> b.tls(id.equals("n3") ? otherCa.issue(id) : ca.issue(id)));
        BelieverSampler sampler = new BelieverSampler(cluster::allInstances)) {
      cluster.startAll();
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(active.id()).isIn("n1", "n2");
      assertThat(active.kv().put("over-tls", "yes".getBytes()).revision()).isPositive();
      BatonNode stranger = cluster.node("n3");
      // n1 and n2 form the majority over TLS; n3's certificate is not trusted, so it never
      // learns who leads and never applies the activation.
      await()
          .during(active.timing().electionTimeoutMax().multipliedBy(3))
          .atMost(Duration.ofSeconds(15))
          .until(
              () ->
                  !stranger.isActive()
                      && stranger.status().activeNodeId().isEmpty()
                      && stranger.status().highestToken() == 0);
      sampler.close();
      assertThat(sampler.violations()).isEmpty();
    }
  }
}
