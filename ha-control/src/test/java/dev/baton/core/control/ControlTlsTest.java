package dev.baton.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.core.BatonNode;
import dev.baton.core.Maintenance;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.tls.TestCertificates;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * With TLS on, the control API requires a client certificate from the trusted authority, and only
 * clients named in the authorised list may switch-active or change membership.
 */
class ControlTlsTest {
  @TempDir static Path dir;

  private static TestCluster cluster;
  private static ControlServer server;
  private static TestCertificates ca;
  private static TlsConfig serverTls;
  private static final List<AutoCloseable> closeables = new ArrayList<>();
  private static final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeAll
  static void start() {
    ca = TestCertificates.authority(dir, "test-ca");
    cluster = TestCluster.create(1, 0).startAll();
    BatonNode node = cluster.awaitActive(Duration.ofSeconds(30));
    log.start();
    // Everything logged from here on, by any logger, is kept (the key check reads all of it).
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(log);
    serverTls = ca.issue("n1");
    server = ControlServer.builder(node).tls(serverTls, Set.of("ops-admin")).build().start();
  }

  @AfterAll
  static void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(log);
    for (AutoCloseable c : closeables) {
      c.close();
    }
    server.close();
    cluster.close();
  }

  private static BatonClient client(TlsConfig tls) {
    BatonClient c =
        BatonClient.builder()
            .endpoints(server.address())
            .tls(tls)
            .callTimeout(Duration.ofSeconds(5))
            .build();
    closeables.add(c);
    return c;
  }

  @Test
  void anAuthorisedClientMaySwitchActive() {
    BatonClient admin = client(ca.issueClient("ops-admin"));
    long token = admin.switchActive("n1", Duration.ofSeconds(5));
    assertThat(token).isEqualTo(server.node().token()).isPositive();
  }

  @Test
  void anUnauthorisedClientReadsButIsRefusedSwitchActiveAndMembershipAndTheRefusalIsLogged() {
    BatonClient reader = client(ca.issueClient("reader"));
    assertThat(reader.status().getRole()).isEqualTo(Role.ACTIVE);
    assertThat(reader.put("reader/ok", new byte[] {1}).revision()).isPositive();

    assertRefusedToReader(
        () -> reader.switchActive("n1", Duration.ofSeconds(5)), "SwitchActive refused by node n1");
    assertThatThrownBy(() -> reader.removeMember("n1"))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));

    assertThat(log.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains("REFUSED SwitchActive from client [reader]")
                    .contains("127.0.0.1"))
        .anySatisfy(m -> assertThat(m).contains("REFUSED RemoveMember from client [reader]"));
  }

  /**
   * Issue 37: maintenance mode is authorised as switch-active is. The refusal names the client and
   * the authorised list; the change an authorised client makes records its certificate name beside
   * the member asked.
   */
  @Test
  void maintenanceIsAuthorisedLikeSwitchActiveAndRecordsTheClientsCertificateName() {
    BatonClient reader = client(ca.issueClient("reader"));
    assertRefusedToReader(
        () -> reader.maintenance(true, "not mine to set"), "Maintenance refused by node n1");
    assertThat(server.node().cluster().maintenance().on()).isFalse();

    BatonClient admin = client(ca.issueClient("ops-admin"));
    Maintenance on = admin.maintenance(true, "certificate rotation");
    assertThat(on.on()).isTrue();
    assertThat(on.client()).contains("ops-admin");
    assertThat(on.setBy()).contains("n1");
    // Anyone may read it.
    assertThat(reader.maintenance()).isEqualTo(on);
    assertThat(server.node().cluster().maintenance()).isEqualTo(on);
    assertThat(admin.maintenance(false, "").on()).isFalse();
    assertThat(log.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(m -> assertThat(m).contains("REFUSED Maintenance from client [reader]"));
  }

  @Test
  void aClientWithoutACertificateOrFromAnotherAuthorityOrInPlaintextIsRefused() throws Exception {
    // Trusts the server, presents no certificate.
    assertRefused(TlsChannelCredentials.newBuilder().trustManager(ca.caFile().toFile()).build());
    // Presents a certificate from an authority the server does not trust.
    TlsConfig stranger =
        TestCertificates.authority(dir.resolve("other"), "other-ca").issueClient("ops-admin");
    assertRefused(
        TlsChannelCredentials.newBuilder()
            .keyManager(stranger.certificateChain().toFile(), stranger.privateKey().toFile())
            .trustManager(ca.caFile().toFile())
            .build());
    assertRefused(InsecureChannelCredentials.create());
  }

  @Test
  void privateKeysNeverReachTheLog() throws Exception {
    String key = Files.readString(serverTls.privateKey());
    String body = key.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    assertThat(log.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anySatisfy(m -> assertThat(m).contains("control API of n1 listening"))
        .noneMatch(m -> m.contains(body));
  }

  private static void assertRefused(io.grpc.ChannelCredentials creds) throws InterruptedException {
    ManagedChannel channel = Grpc.newChannelBuilder(server.address(), creds).build();
    try {
      assertThatThrownBy(
              () ->
                  BatonControlGrpc.newBlockingStub(channel)
                      .withDeadlineAfter(5, TimeUnit.SECONDS)
                      .status(StatusRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code call} by the client "reader" is refused before it is applied, naming the verb and node
   * ({@code refusal}), the client and the authorised list.
   */
  private static void assertRefusedToReader(
      org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String refusal) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.knownNotApplied()).isTrue();
              assertThat(e.getMessage())
                  .contains(refusal)
                  .contains("client [reader] is not authorised")
                  .contains("tls.authorizedClients lists [ops-admin]");
            });
  }
}
