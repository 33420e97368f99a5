package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.TlsConfig;
import dev.baton.sidecar.SidecarProcessTest.Cli;
import dev.baton.testing.tls.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar with TLS in its config (control API and Raft transport): the CLI needs a certificate
 * from the trusted authority, and only the client named in tls.authorizedClients may switch-active
 * or set maintenance mode; the refusal is logged, the private key never is.
 */
class SidecarTlsTest {
  @TempDir Path dir;
  private Process sidecar;

  @AfterEach
  void stop() throws InterruptedException {
    if (sidecar != null) {
      sidecar.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void onlyAnAuthorisedClientMaySwitchActiveAndTheRefusalIsLogged() throws Exception {
    TestCertificates ca = TestCertificates.authority(dir.resolve("pki"), "baton-ca");
    TlsConfig node = ca.issue("n1");
    TlsConfig admin = ca.issueClient("ops-admin");
    TlsConfig reader = ca.issueClient("reader");
    int raft = SidecarProcesses.freePort();
    int control = SidecarProcesses.freePort();
    int http = SidecarProcesses.freePort();
    Path config = dir.resolve("n1.yaml");
    Files.writeString(
        config,
        """
        cluster: tls-test
        node: n1
        dataDir: data
        bootstrap: true
        members:
          - id: n1
            raft: 127.0.0.1:%d
            control: 127.0.0.1:%d
        http:
          listen: 127.0.0.1:%d
          tls:
            certificateChain: %s
            privateKey: %s
        tls:
          certificateChain: %s
          privateKey: %s
          trustedCertificates: %s
          authorizedClients: [ops-admin]
        """
            .formatted(
                raft,
                control,
                http,
                node.certificateChain(),
                node.privateKey(),
                node.certificateChain(),
                node.privateKey(),
                node.trustedCertificates()));
    Path log = dir.resolve("n1.log");
    sidecar = SidecarProcesses.launch(log, "sidecar", "--config", config.toString());
    String endpoint = "127.0.0.1:" + control;

    Cli status =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> cli(endpoint, reader, "status"), c -> c.out().contains("ACTIVE"));
    assertThat(status.status()).isZero();
    // A KV write goes through the node's Raft client, over the Raft transport's TLS.
    Cli put = cli(endpoint, reader, "kv", "put", "tls/check", "ok");
    assertThat(put.status()).as(put.err()).isZero();

    Cli refused = cli(endpoint, reader, "switch-active", "--to", "n1");
    assertThat(refused.status()).isEqualTo(1);
    assertThat(refused.err())
        .contains("PERMISSION_DENIED")
        .contains("client [reader] is not authorised")
        .contains("tls.authorizedClients lists [ops-admin]");
    // Maintenance mode is authorised as switch-active is (issue 37), and records who set it.
    Cli notMine = cli(endpoint, reader, "maintenance", "on", "--reason", "not mine to set");
    assertThat(notMine.status()).isEqualTo(1);
    assertThat(notMine.err())
        .contains("PERMISSION_DENIED")
        .contains("Maintenance refused by node n1: client [reader] is not authorised")
        .contains("tls.authorizedClients lists [ops-admin]");
    Cli maintenance =
        cli(endpoint, admin, "maintenance", "on", "--reason", "rotating certificates");
    assertThat(maintenance.status()).as(maintenance.err()).isZero();
    assertThat(maintenance.out())
        .startsWith("maintenance ON, set by ops-admin via n1 at ")
        .endsWith("(that member's clock): rotating certificates\n");
    assertThat(cli(endpoint, reader, "status").out().lines().findFirst().orElseThrow())
        .contains("; MAINTENANCE ON, set by ops-admin via n1 at ")
        .endsWith(": rotating certificates");

    Cli allowed = cli(endpoint, admin, "switch-active", "--to", "n1");
    assertThat(allowed.status()).as(allowed.err()).isZero();
    assertThat(allowed.out()).contains("n1 is active with token");

    // The HTTP endpoints are served over HTTPS with the configured certificate.
    assertThat(httpsGet(http, "/active", node)).isEqualTo(200);
    assertThat(httpsGet(http, "/health", node)).isEqualTo(200);
    // The status page too, with the maintenance banner set above; and it is read-only.
    var page = https(http, "GET", "/", node);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body())
        .contains("id=\"maintenance\"")
        .contains("rotating certificates")
        .doesNotContainIgnoringCase("<script");
    assertThat(https(http, "POST", "/", node).statusCode()).isEqualTo(405);

    Cli plaintext = cli(endpoint, null, "status");
    assertThat(plaintext.status()).isEqualTo(1);
    assertThat(plaintext.out()).contains("no node answered");

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                Files.readString(log).contains("REFUSED SwitchActive from client [reader]")
                    && Files.readString(log).contains("REFUSED Maintenance from client [reader]"));
    String key = Files.readString(node.privateKey());
    String keyBody = key.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    assertThat(Files.readString(log)).doesNotContain(keyBody);
  }

  private static int httpsGet(int port, String path, TlsConfig trust) throws Exception {
    return https(port, "GET", path, trust).statusCode();
  }

  private static java.net.http.HttpResponse<String> https(
      int port, String method, String path, TlsConfig trust) throws Exception {
    java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    try (var in = Files.newInputStream(trust.trustedCertificates())) {
      ts.setCertificateEntry(
          "ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(
            javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ts);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().sslContext(ctx).build();
    return client.send(
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("https://127.0.0.1:" + port + path))
            .method(method, java.net.http.HttpRequest.BodyPublishers.noBody())
            .build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private static Cli cli(String endpoint, TlsConfig tls, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--endpoints", endpoint, "--timeout", "5s"));
    if (tls != null) {
      all.addAll(
          List.of(
              "--tls-cert",
              tls.certificateChain().toString(),
              "--tls-key",
              tls.privateKey().toString(),
              "--tls-ca",
              tls.trustedCertificates().toString()));
    }
    return SidecarProcessTest.cli(all.toArray(String[]::new));
  }
}
