package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.proto.Role;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.tls.TestCertificates;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An embedder's control server on a node whose Raft port runs on PKI certificates (issue 28,
 * follow-up of item 3a): built with no {@code tls(...)}, it is refused at {@code build()} with a
 * message naming {@code tls(...)} and {@code insecurePlaintext()}, instead of serving plaintext. On
 * the old code the same server started in plaintext with a WARN only, and {@link
 * #withoutTlsTheServerIsRefusedRatherThanServePlaintext} failed because a client with no
 * certificate switched the active through it. Given the node's own {@code TlsConfig}, the server
 * serves a client certificate from the same authority and lets the authorised one switch; plaintext
 * beside such a node takes an explicit {@code insecurePlaintext()}.
 */
class ControlTlsDefaultTest {
  @TempDir static Path dir;

  private static TestCertificates ca;
  private static final Map<String, TlsConfig> memberTls = new ConcurrentHashMap<>();
  private static TestCluster cluster;
  private static final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void start() {
    ca = TestCertificates.authority(dir, "baton-ca");
    cluster =
        TestCluster.create(
                2,
                0,
                TestCluster.TIMING,
                (id, b) -> b.tls(memberTls.computeIfAbsent(id, ca::issue)))
            .startAll();
    cluster.awaitActive(Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    cluster.close();
  }

  private static <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  private static String standby() {
    return List.of("n1", "n2").stream()
        .filter(id -> !cluster.node(id).isActive())
        .findFirst()
        .orElseThrow();
  }

  private static BatonClient client(String address, TlsConfig tls) {
    BatonClient.Builder b =
        BatonClient.builder()
            .endpoints(List.of(address))
            .callTimeout(Duration.ofSeconds(5))
            .attemptTimeout(Duration.ofSeconds(2));
    if (tls != null) {
      b.tls(tls);
    }
    return closeLater(b.build());
  }

  @Test
  void withoutTlsTheServerIsRefusedRatherThanServePlaintext() {
    BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
    // What an embedder writes who forgets the control API: no tls(...), no insecurePlaintext().
    List<ControlServer> started = new ArrayList<>();
    Throwable refused =
        catchThrowable(() -> started.add(ControlServer.builder(active).build().start()));
    if (refused == null) {
      // The old behaviour: the server listens in plaintext. Show what that lets anyone do.
      ControlServer open = closeLater(started.get(0));
      String target = standby();
      Throwable switched =
          catchThrowable(
              () -> client(open.address(), null).switchActive(target, Duration.ofSeconds(20)));
      fail(
          "the control server of "
              + active.id()
              + ", whose Raft port runs on certificates, started with no tls(...) and serves"
              + " plaintext: a client with no certificate switched the active to "
              + target
              + (switched == null ? ": it succeeded" : ": it failed with " + switched));
    }
    assertThat(refused)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("control server of " + active.id())
        .hasMessageContaining("TLS certificates")
        .hasMessageContaining("tls(tlsConfig, authorizedClients)")
        .hasMessageContaining("insecurePlaintext()");
    assertThat(active.isActive()).isTrue();
  }

  @Test
  void withTheNodesOwnTlsConfigOnlyAnAuthorisedClientSwitches() {
    BatonNode node = cluster.node("n1");
    ControlServer server =
        closeLater(
            ControlServer.builder(node)
                .tls(memberTls.get("n1"), Set.of("ops-admin"))
                .build()
                .start());
    // No certificate: refused in the handshake, before any call.
    Throwable plaintext =
        catchThrowable(
            () -> client(server.address(), null).switchActive(standby(), Duration.ofSeconds(2)));
    assertThat(plaintext)
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(Status.Code.UNAVAILABLE));
    // A certificate of the same authority that is not authorised: reads, but no switch.
    BatonClient reader = client(server.address(), ca.issueClient("reader"));
    assertThat(reader.status().getRole()).isIn(Role.ACTIVE, Role.STANDBY);
    assertThat(catchThrowable(() -> reader.switchActive(standby(), Duration.ofSeconds(2))))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
    // The authorised one switches.
    BatonClient admin = client(server.address(), ca.issueClient("ops-admin"));
    String target = standby();
    admin.switchActive(target, Duration.ofSeconds(20));
    await().atMost(Duration.ofSeconds(30)).until(() -> cluster.node(target).isActive());
  }

  @Test
  void plaintextBesideACertificateNodeIsAnExplicitOptOut() {
    try (ControlServer open =
        ControlServer.builder(cluster.node("n2")).insecurePlaintext().build().start()) {
      assertThat(client(open.address(), null).status().getRole()).isIn(Role.ACTIVE, Role.STANDBY);
    }
  }
}
