package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.InsiderKeys;
import dev.baton.core.testing.RaftOutsider;
import dev.baton.core.testing.RaftOutsider.Attempt;
import dev.baton.testing.cluster.BelieverSampler;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import dev.baton.testing.tls.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leadership change Baton did not ask for (a forced election that skips pre-vote) ends the role
 * at once: {@code isActive()} is false from the moment the node no longer leads the term it
 * activated in, not only when its lease runs out or its controller next looks.
 */
class ForcedLeaderChangeTest {

  @Test
  void isActiveIsFalseFromTheMomentTheActiveNoLongerLeadsTheTermOfItsActivation() throws Exception {
    // Only an insecure transport lets anyone force an election; this test needs one to happen.
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.insecureTransport())
                .startAll();
        RaftOutsider outsider = RaftOutsider.plaintext(cluster.clusterId(), cluster.members())) {
      List<String> violations = new CopyOnWriteArrayList<>();
      for (int round = 0; round < 8; round++) {
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
        long term = active.status().term();
        String target =
            cluster.running().stream().filter(n -> n != active).findFirst().orElseThrow().id();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler =
            new Thread(
                () -> {
                  while (sampling.get()) {
                    // Read Raft's view first: if it already shows another term or leader, the node
                    // cannot be leading the term of its activation when isActive() is asked next.
                    NodeStatus s = active.status();
                    boolean believes = active.isActive();
                    if (believes
                        && (s.term() != term || !s.leaderId().equals(Optional.of(active.id())))) {
                      violations.add(
                          active.id()
                              + " answered isActive() = true after Raft showed term "
                              + s.term()
                              + " leader "
                              + s.leaderId().orElse("none")
                              + " (activated in term "
                              + term
                              + ")");
                    }
                  }
                },
                "leadership-sampler");
        sampler.start();
        try {
          Attempt forced = outsider.startLeaderElection(target, active.id(), term);
          assertThat(forced.succeeded()).as("%s", forced).isTrue();
          await()
              .atMost(Duration.ofSeconds(20))
              .until(() -> active.status().term() > term && !active.isActive());
        } finally {
          sampling.set(false);
          sampler.join();
        }
      }
      assertThat(violations).isEmpty();
    }
  }

  /*
   * Issue 28, item 3: Ratis accepts a StartLeaderElection from the current leader of the term, and
   * the target then wins the next term without pre-vote. With the leader cut off (so it does not
   * hear of the new term for up to an election timeout), a forged request in the leader's name
   * would let another node activate while the old one's lease still runs. Who can forge it decides
   * whether I2 holds: in PKI mode only the leader's own key can; in cluster-secret mode every
   * holder of the secret can (docs/lease.md, "Who can force an election").
   */

  @TempDir Path dir;

  /**
   * PKI mode: a genuine certificate of the cluster's CA that names another member, or a client,
   * cannot speak in the leader's name: the request is refused (the member's in the Raft port's
   * guard, the client's in the handshake), and no two nodes believe they are active throughout,
   * although the cut-off leader loses the role the ordinary way meanwhile.
   */
  @Test
  void inPkiModeAForgedElectionRequestInTheLeadersNameIsRefused() throws Exception {
    TestCertificates ca = TestCertificates.authority(dir.resolve("ca"), "baton-ca");
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.tls(ca.issue(id)))
                .startAll();
        NetworkPartition partition = NetworkPartition.create();
        LogCapture log = LogCapture.baton();
        BelieverSampler sampler = new BelieverSampler(cluster::running)) {
      List<String> ids = cluster.running().stream().map(BatonNode::id).toList();
      BatonNode leader = cluster.awaitActive(Duration.ofSeconds(60));
      List<String> others = ids.stream().filter(id -> !id.equals(leader.id())).toList();
      String target = others.get(0);
      for (TlsConfig certificate : List.of(ca.issue(others.get(1)), ca.issueClient("ops-admin"))) {
        BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
        long term = active.status().term();
        String to = active.id().equals(target) ? others.get(1) : target;
        try (RaftOutsider forger =
            RaftOutsider.withCertificate(cluster.clusterId(), cluster.members(), certificate)) {
          partition.isolate(active.id(), ids).letElectionRequestsThrough(active.id(), to);
          Attempt forged = forger.startLeaderElection(to, active.id(), term);
          assertThat(forged.succeeded()).as("%s", forged).isFalse();
        } finally {
          partition.heal();
        }
      }
      cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(sampler.violations()).isEmpty();
      // The member's certificate got through the handshake and its request was refused; the
      // client's certificate was refused in the handshake.
      assertThat(log.warnings())
          .anyMatch(
              w ->
                  w.contains("REFUSED")
                      && w.contains("startLeaderElection in the name of member")
                      && w.contains(others.get(1)))
          .anyMatch(w -> w.contains("REFUSED") && w.contains("ops-admin"));
    }
  }

  /**
   * Cluster-secret mode: whoever holds the secret derives the leader's own key, so a request forged
   * in its name is accepted and starts an election past the partitioned leader. This is asserted as
   * the insider's power the docs say the secret gives (docs/lease.md): the secret is a root
   * credential, and PKI mode is the answer when members must not be able to impersonate each other.
   * A round whose target started its own election first (its timeout ran out before the forged
   * request arrived, so the term moved on) is tried again.
   */
  @Test
  void withTheClusterSecretAnInsiderCanForceAnElectionPastAPartitionedLeader() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        NetworkPartition partition = NetworkPartition.create()) {
      byte[] secret = Base64.getDecoder().decode(cluster.secretBase64());
      List<String> ids = cluster.running().stream().map(BatonNode::id).toList();
      List<Attempt> attempts = new CopyOnWriteArrayList<>();
      for (int round = 0; round < 4 && attempts.stream().noneMatch(Attempt::succeeded); round++) {
        BatonNode leader = cluster.awaitActive(Duration.ofSeconds(60));
        long term = leader.status().term();
        BatonNode target =
            cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow();
        InsiderKeys.Identity asLeader =
            InsiderKeys.of(cluster.clusterId(), secret, leader.id(), "127.0.0.1");
        try (RaftOutsider insider =
            RaftOutsider.withKey(
                cluster.clusterId(),
                cluster.members(),
                asLeader.privateKey(),
                asLeader.certificate())) {
          partition.isolate(leader.id(), ids).letElectionRequestsThrough(leader.id(), target.id());
          Attempt forged = insider.startLeaderElection(target.id(), leader.id(), term);
          attempts.add(forged);
          if (forged.succeeded()) {
            await("the forged election made " + target.id() + " leader in a later term")
                .atMost(Duration.ofSeconds(20))
                .until(
                    () ->
                        target.status().term() > term
                            && target.status().leaderId().equals(Optional.of(target.id())));
          }
        } finally {
          partition.heal();
        }
      }
      assertThat(attempts)
          .as("a holder of the cluster secret can speak in the leader's name")
          .anyMatch(Attempt::succeeded);
    }
  }
}
