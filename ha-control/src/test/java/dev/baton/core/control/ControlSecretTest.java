package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.testing.cluster.TestCluster;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * In a cluster that runs on a cluster secret, the control API asks for the secret too (issue 28,
 * item 3): a client that does not prove it holds the secret is refused in the TLS handshake, before
 * any call, so it can neither switch the active nor change the membership nor write reserved keys;
 * a client that does may do everything. On the old code the same server, built the same way without
 * credentials, served plaintext to anyone: {@link #aClientWithoutTheSecretCannotSwitchTheActive}
 * switched the active there.
 */
class ControlSecretTest {
  private static TestCluster cluster;
  private static final Map<String, ControlServer> servers = new LinkedHashMap<>();
  private static ClusterSecretCredentials credentials;
  private static final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void start() {
    cluster = TestCluster.create(2, 0).startAll();
    cluster.awaitActive(Duration.ofSeconds(30));
    credentials =
        ClusterSecretCredentials.of(
            cluster.clusterId(), cluster.secretBase64().getBytes(), "the test cluster's secret");
    Map<String, String> addresses = new LinkedHashMap<>();
    for (String id : List.of("n1", "n2")) {
      addresses.put(id, "127.0.0.1:" + TestCluster.freePort());
    }
    for (String id : addresses.keySet()) {
      BatonNode node = cluster.node(id);
      String port = addresses.get(id).substring("127.0.0.1:".length());
      servers.put(
          id,
          ControlServer.builder(node)
              .listen("127.0.0.1", Integer.parseInt(port))
              .peerControlAddresses(addresses)
              .probeInterval(Duration.ofMillis(200))
              .clusterSecret(credentials)
              .build()
              .start());
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    for (ControlServer s : servers.values()) {
      s.close();
    }
    cluster.close();
  }

  private static List<String> endpoints() {
    return servers.values().stream().map(ControlServer::address).toList();
  }

  /**
   * A client that gives up quickly: a refused call fails at once, but the client retries it until
   * its call deadline, so each refused call below waits out that deadline.
   */
  private static BatonClient client(BatonClient.Builder b) {
    return build(b.callTimeout(Duration.ofMillis(500)).attemptTimeout(Duration.ofMillis(500)));
  }

  private static BatonClient build(BatonClient.Builder b) {
    BatonClient c = b.endpoints(endpoints()).build();
    closeables.add(c);
    return c;
  }

  private static String standby() {
    return servers.keySet().stream()
        .filter(id -> !cluster.node(id).isActive())
        .findFirst()
        .orElseThrow();
  }

  @Test
  void aClientWithoutTheSecretCannotSwitchTheActive() {
    BatonClient plaintext = client(BatonClient.builder());
    String target = standby();
    assertThatThrownBy(() -> plaintext.switchActive(target, Duration.ofSeconds(1)))
        .isInstanceOfSatisfying(ControlException.class, ControlSecretTest::refusedBeforeAnyCall);
    assertThatThrownBy(() -> plaintext.put("baton/x/writer", new byte[] {1}))
        .isInstanceOfSatisfying(ControlException.class, ControlSecretTest::refusedBeforeAnyCall);
    assertThatThrownBy(() -> plaintext.removeMember(target))
        .isInstanceOfSatisfying(ControlException.class, ControlSecretTest::refusedBeforeAnyCall);
    assertThatThrownBy(plaintext::status)
        .isInstanceOfSatisfying(ControlException.class, ControlSecretTest::refusedBeforeAnyCall);
    // Nothing reached the nodes: the membership is whole, the key was never written.
    assertThat(cluster.node(target).cluster().members()).hasSize(2);
    assertThat(cluster.node(target).kv().get("baton/x/writer")).isEmpty();
  }

  /** The call never reached the service: the connection itself failed (no TLS, no secret). */
  private static void refusedBeforeAnyCall(ControlException e) {
    assertThat(e.code()).as(e.getMessage()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aClientWithAnotherSecretIsRefusedInTheHandshake() {
    byte[] other = Base64.getEncoder().encode(TestCluster.newClusterSecret());
    BatonClient stranger =
        client(
            BatonClient.builder()
                .clusterSecret(
                    ClusterSecretCredentials.of(cluster.clusterId(), other, "another secret"),
                    "ops"));
    assertThatThrownBy(stranger::status).isInstanceOf(ControlException.class);
    assertThatThrownBy(() -> stranger.switchActive(standby(), Duration.ofSeconds(1)))
        .isInstanceOf(ControlException.class);
  }

  @Test
  void theSameSecretForAnotherClusterIsRefused() {
    BatonClient wrongCluster =
        client(
            BatonClient.builder()
                .clusterSecret(
                    ClusterSecretCredentials.of(
                        "another-cluster", cluster.secretBase64().getBytes(), "same secret"),
                    "ops"));
    assertThatThrownBy(wrongCluster::status).isInstanceOf(ControlException.class);
  }

  @Test
  void aHolderOfTheSecretMayDoEverythingAndTheNodesProbeEachOther() {
    BatonClient admin = build(BatonClient.builder().clusterSecret(credentials, "ops"));
    assertThat(admin.status().getRole()).isIn(Role.ACTIVE, Role.STANDBY);
    assertThat(admin.put("baton/test/record", new byte[] {7}).revision()).isPositive();
    String target = standby();
    BatonClient slow =
        build(
            BatonClient.builder()
                .clusterSecret(credentials, "ops")
                .callTimeout(Duration.ofSeconds(20))
                .attemptTimeout(Duration.ofSeconds(15)));
    long token = slow.switchActive(target, Duration.ofSeconds(10));
    assertThat(cluster.node(target).isActive()).isTrue();
    assertThat(cluster.node(target).token()).isEqualTo(token);
    // Each node's health probe of the other passes the handshake with the member's own key.
    await("each node sees the other REACHABLE")
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                servers.values().stream()
                    .allMatch(
                        s ->
                            s.status().getMembersList().stream()
                                .map(MemberStatus::getHealth)
                                .allMatch(h -> h == Health.SELF || h == Health.REACHABLE)));
  }

  @Test
  void aWeakSecretIsRefusedNamingItsSource() {
    assertThatThrownBy(
            () ->
                ClusterSecretCredentials.of(
                    cluster.clusterId(), "short".getBytes(), "variable BATON_SECRET"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("variable BATON_SECRET")
        .hasMessageNotContaining("short");
  }
}
