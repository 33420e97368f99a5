package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.KvPut;
import dev.baton.core.internal.proto.SetMembers;
import dev.baton.core.testing.RaftOutsider;
import dev.baton.core.testing.RaftOutsider.Attempt;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.logs.LogCapture;
import dev.baton.testing.tls.TestCertificates;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Raft port serves members only. An outsider who knows the cluster id and the members' Raft
 * addresses tries what the issue's probe did (a raw write, a reconfiguration) and what a leader
 * sends to hand over (a leadership transfer, a forced election that skips pre-vote); every attempt
 * is refused and nothing changes: the configuration, the active and its token. The cluster secret
 * (TestCluster's default) and a PKI are the two secure modes; over an insecure transport the admin
 * service and entries the state machine would not accept are still refused. The one admin call the
 * port serves is the read-only groupInfo (a bootstrapping node asks its peers whether the cluster
 * already has a log): with TLS to members only, refused to the outsiders here.
 */
class RaftPortTest {
  @TempDir Path dir;

  @Test
  void anOutsiderWithoutTheClusterSecretIsRefusedEveryCallAndChangesNothing() throws Exception {
    TestCertificates forger = TestCertificates.authority(dir.resolve("forger"), "forger-ca");
    try (TestCluster cluster = TestCluster.create(3, 0).startAll();
        LogCapture log = LogCapture.baton()) {
      try (RaftOutsider outsider = RaftOutsider.plaintext(cluster.clusterId(), cluster.members())) {
        assertRefusedAndNothingChanged(cluster, outsider);
      }
      // A self-made certificate that names a member is no better.
      try (RaftOutsider forged =
          RaftOutsider.withCertificate(
              cluster.clusterId(), cluster.members(), forger.issue("n1"))) {
        assertRefusedAndNothingChanged(cluster, forged);
      }
      assertThat(log.warnings()).anyMatch(w -> w.contains("Raft port") && w.contains("REFUSED"));
    }
  }

  @Test
  void anOutsiderWithACertificateFromTheClusterCaThatNamesNoMemberIsRefusedEveryCall()
      throws Exception {
    TestCertificates ca = TestCertificates.authority(dir.resolve("ca"), "baton-ca");
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.tls(ca.issue(id)))
                .startAll();
        LogCapture log = LogCapture.baton()) {
      // A control-API client's certificate: issued by the same CA, naming a client, not a member.
      try (RaftOutsider outsider =
          RaftOutsider.withCertificate(
              cluster.clusterId(), cluster.members(), ca.issueClient("ops-admin"))) {
        assertRefusedAndNothingChanged(cluster, outsider);
      }
      assertThat(log.warnings())
          .anyMatch(
              w -> w.contains("Raft port") && w.contains("REFUSED") && w.contains("ops-admin"));
    }
  }

  @Test
  void aNodeWhoseCertificateNamesAnotherMemberIsShutOut() {
    TestCertificates ca = TestCertificates.authority(dir.resolve("ca"), "baton-ca");
    try (TestCluster cluster =
            TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                // n3 holds a genuine certificate of the cluster's CA, but for member n1.
                (id, b) -> b.tls(ca.issue(id.equals("n3") ? "n1" : id)));
        LogCapture log = LogCapture.baton()) {
      cluster.startAll();
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      assertThat(active.id()).isIn("n1", "n2");
      BatonNode impostor = cluster.node("n3");
      await()
          .during(active.timing().electionTimeoutMax().multipliedBy(3))
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  !impostor.isActive()
                      && impostor.status().activeNodeId().isEmpty()
                      && impostor.status().highestToken() == 0);
      assertThat(active.kv().put("without-n3", "yes".getBytes()).revision()).isPositive();
      assertThat(log.warnings()).anyMatch(w -> w.contains("Raft port") && w.contains("REFUSED"));
    }
  }

  @Test
  void overAnInsecureTransportTheAdminServiceAndForeignEntriesAreStillRefusedAndCounted()
      throws Exception {
    Map<String, MeterRegistry> meters = new ConcurrentHashMap<>();
    try (TestCluster cluster =
            TestCluster.create(
                    3,
                    0,
                    TestCluster.TIMING,
                    (id, b) ->
                        b.insecureTransport()
                            .meterRegistry(
                                meters.computeIfAbsent(id, k -> new SimpleMeterRegistry())))
                .startAll();
        LogCapture log = LogCapture.baton();
        RaftOutsider outsider = RaftOutsider.plaintext(cluster.clusterId(), cluster.members())) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      long term = active.status().term();
      List<String> followers =
          cluster.running().stream().filter(n -> n != active).map(BatonNode::id).toList();
      List<Attempt> attempts =
          List.of(
              outsider.rawWrite("garbage, not a Baton command".getBytes(StandardCharsets.UTF_8)),
              // Well-formed, but entries only the leader's own process may propose: an activation
              // of another node, and a member list without one member.
              outsider.rawWrite(
                  Command.newBuilder()
                      .setFormatVersion(1)
                      .setActivate(Activate.newBuilder().setNodeId(followers.get(0)).setTerm(term))
                      .build()
                      .toByteArray()),
              outsider.rawWrite(
                  Command.newBuilder()
                      .setFormatVersion(1)
                      .setSetMembers(SetMembers.getDefaultInstance())
                      .build()
                      .toByteArray()),
              outsider.setConfiguration(List.of(active.id(), followers.get(0))),
              outsider.transferLeadership(followers.get(1)),
              outsider.groupList(followers.get(0)));
      assertThat(attempts)
          .as("what the outsider tried: %s", attempts)
          .noneMatch(Attempt::succeeded);
      assertThat(outsider.groupList(active.id()).refused()).as("groupList is admin").isTrue();
      // The one admin call served: read-only groupInfo, which a bootstrapping node asks its peers
      // (BootstrapProbe). Over an insecure transport anyone may ask it, like everything else.
      Attempt info = outsider.groupInfo(active.id());
      assertThat(info.succeeded()).as("groupInfo over an insecure transport: %s", info).isTrue();
      assertThat(
              counter(
                  meters.get(active.id()), "baton.raft.entries.rejected", "reason", "unreadable"))
          .isEqualTo(1.0);
      assertThat(
              counter(
                  meters.get(active.id()), "baton.raft.entries.rejected", "reason", "not-local"))
          .isEqualTo(2.0);
      double adminRefused =
          meters.values().stream()
              .mapToDouble(m -> counter(m, "baton.raft.refused", "kind", "admin"))
              .sum();
      assertThat(adminRefused).isGreaterThanOrEqualTo(2.0);
      assertThat(log.warnings())
          .anyMatch(w -> w.contains("Raft port") && w.contains("REFUSED") && w.contains("admin"))
          .anyMatch(w -> w.contains("REFUSED") && w.contains("only the leader's own process"));
      // Nothing reached the log: no node had an entry to skip when applying.
      for (MeterRegistry m : meters.values()) {
        assertThat(m.find("baton.raft.entries.rejected").tag("stage", "apply").counters())
            .isEmpty();
      }
      assertThat(active.isActive()).isTrue();
      assertThat(active.cluster().members()).hasSize(3);
      assertThat(cluster.running())
          .allSatisfy(
              n ->
                  assertThat(n.status().members())
                      .allMatch(NodeStatus.MemberStatus::inConfiguration)
                      .hasSize(3));
    }
  }

  /**
   * What {@code insecureTransport()} means, asserted so that the docs cannot drift from it: the
   * Raft client service authenticates nobody, so an outsider writes a reserved {@code baton/} key
   * (here the PostgreSQL writer record that pools follow) that the control API would refuse to any
   * client not authorised. docs/operations/deployment.md says so beside the reserved keys.
   */
  @Test
  void overAnInsecureTransportAnOutsiderCanWriteAReservedKey() throws Exception {
    String key = "baton/postgres/orders/writer";
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.insecureTransport())
                .startAll();
        RaftOutsider outsider = RaftOutsider.plaintext(cluster.clusterId(), cluster.members())) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      Attempt write =
          outsider.rawWrite(
              Command.newBuilder()
                  .setFormatVersion(1)
                  .setKvPut(
                      KvPut.newBuilder()
                          .setKey(key)
                          .setValue(
                              com.google.protobuf.ByteString.copyFromUtf8(
                                  "jdbc:postgresql://outsider:5432/orders")))
                  .build()
                  .toByteArray());
      assertThat(write.succeeded()).as("the outsider's write: %s", write).isTrue();
      assertThat(active.kv().get(key))
          .hasValueSatisfying(
              e ->
                  assertThat(new String(e.value(), StandardCharsets.UTF_8))
                      .isEqualTo("jdbc:postgresql://outsider:5432/orders"));
    }
  }

  private static double counter(MeterRegistry registry, String name, String tag, String value) {
    var c = registry.find(name).tag(tag, value).counter();
    return c == null ? 0.0 : c.count();
  }

  /**
   * Tries all four and checks that none succeeded and that the cluster is as it was: all three
   * members in the Raft configuration, the same active with the same token.
   */
  static void assertRefusedAndNothingChanged(TestCluster cluster, RaftOutsider outsider) {
    BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
    long token = active.token();
    long term = active.status().term();
    List<String> followers = new ArrayList<>();
    cluster.running().stream().filter(n -> n != active).forEach(n -> followers.add(n.id()));
    List<String> withoutOne = new ArrayList<>(List.of(active.id(), followers.get(0)));

    List<Attempt> attempts =
        List.of(
            outsider.rawWrite("garbage, not a Baton command".getBytes(StandardCharsets.UTF_8)),
            outsider.setConfiguration(withoutOne),
            outsider.transferLeadership(followers.get(1)),
            outsider.startLeaderElection(followers.get(1), active.id(), term),
            outsider.groupInfo(followers.get(0)),
            outsider.groupList(followers.get(0)));
    assertThat(attempts).as("what the outsider tried: %s", attempts).noneMatch(Attempt::succeeded);

    // Nothing changed, and nothing changes for a while (a forced election would take effect
    // within one election timeout).
    await()
        .during(active.timing().electionTimeoutMax().multipliedBy(2))
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                active.isActive()
                    && active.token() == token
                    && cluster.running().stream()
                        .allMatch(
                            n ->
                                n.status().members().stream()
                                            .filter(NodeStatus.MemberStatus::inConfiguration)
                                            .count()
                                        == 3
                                    && n.status().activeNodeId().equals(Optional.of(active.id()))));
  }
}
