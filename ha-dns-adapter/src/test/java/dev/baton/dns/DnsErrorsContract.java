package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.testing.dns.AuthoritativeDnsServer;
import dev.baton.testing.steps.TestStepContext;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/** Every way a real server (BIND 9, Knot) can say no, and what the caller is told. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DnsErrorsContract {
  protected AuthoritativeDnsServer dns;

  /** Starts the server under test with {@code zone} as its dynamic zone. */
  protected abstract AuthoritativeDnsServer startServer(String zone);

  @BeforeAll
  void startServer() {
    dns = startServer("baton.test.");
  }

  @AfterAll
  void stopServer() {
    if (dns != null) {
      dns.close();
    }
  }

  private DnsSwitch.Builder switchFor(String name) {
    return DnsSwitch.builder()
        .server(dns.host(), dns.port())
        .zone(dns.zone())
        .tsig(ServerKeys.updateKey(dns))
        .address(name, "192.0.2.1");
  }

  private String abs(String relative) {
    return relative + "." + dns.zone();
  }

  private static String otherSecret() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  @Test
  void aWrongSecretIsBadsigAndChangesNothing() throws Exception {
    String wrong = otherSecret();
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.zone())
            .tsig(ServerKeys.updateKey(dns).withSecret(wrong))
            .address("bad-secret", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsAuthenticationException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("BADSIG");
              assertThat(e.server()).isEqualTo("127.0.0.1:" + dns.port());
              assertThat(e.getMessage())
                  .contains(
                      "BADSIG",
                      "'baton-hmac-sha256.'",
                      "127.0.0.1:" + dns.port(),
                      "zone " + dns.zone())
                  .doesNotContain(wrong);
            });
    assertThat(dns.dig("_baton-fence." + abs("bad-secret"), "TXT")).isEmpty();
    assertThat(dns.dig(abs("bad-secret"), "A")).isEmpty();
  }

  @Test
  void preflightWithAWrongSecretFailsNamingTheKeyAndTheServer() {
    String wrong = otherSecret();
    DnsSwitch s =
        switchFor("preflight-bad-secret").tsig(ServerKeys.updateKey(dns).withSecret(wrong)).build();

    assertThatThrownBy(s::preflight)
        .isInstanceOfSatisfying(
            DnsAuthenticationException.class,
            e ->
                assertThat(e.getMessage())
                    .contains("'baton-hmac-sha256.'", "127.0.0.1:" + dns.port())
                    .doesNotContain(wrong));
  }

  @Test
  void aKeyTheServerDoesNotKnowIsBadkey() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.zone())
            .tsig("no-such-key", "hmac-sha256", otherSecret())
            .address("bad-key", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsAuthenticationException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("BADKEY");
              assertThat(e.getMessage()).contains("BADKEY", "'no-such-key.'", "check the key name");
            });
  }

  @Test
  void aKnownKeyWithoutUpdateRightsIsRefused() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.zone())
            .tsig(ServerKeys.keyWithoutUpdateRights(dns))
            .address("no-rights", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              // BIND: REFUSED. Knot: NOTAUTH with TSIG BADKEY after the key verified on the read.
              assertThat(e.rcodeName()).isIn("REFUSED", "NOTAUTH");
              assertThat(e.getMessage())
                  .contains(
                      "refused the update of zone " + dns.zone(),
                      "127.0.0.1:" + dns.port(),
                      "allow-update");
            });
    assertThat(dns.dig(abs("no-rights"), "A")).isEmpty();
  }

  @Test
  void aZoneThatAllowsNoUpdatesIsRefused() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.staticZone())
            .tsig(ServerKeys.updateKey(dns))
            .address("app", "192.0.2.2")
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              assertThat(e.rcodeName()).isIn("REFUSED", "NOTAUTH");
              assertThat(e.zone()).isEqualTo(dns.staticZone());
              assertThat(e.getMessage())
                  .contains("refused the update of zone " + dns.staticZone(), "allow-update");
            });
    assertThat(dns.dig("app." + dns.staticZone(), "A")).containsExactly("192.0.2.80");
  }

  @Test
  void aZoneTheServerDoesNotServeIsReported() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone("elsewhere.test")
            .tsig(ServerKeys.updateKey(dns))
            .address("app", "192.0.2.3")
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              assertThat(e.zone()).isEqualTo("elsewhere.test.");
              assertThat(e.getMessage()).contains("elsewhere.test.", "127.0.0.1:" + dns.port());
            });
  }

  @Test
  void anUnreachableServerIsRetriedThenNamedInTheError() {
    AuthoritativeDnsServer down = startServer("baton.test.");
    int port = down.port();
    down.close();
    DnsSwitch s =
        DnsSwitch.builder()
            .server("127.0.0.1", port)
            .zone("baton.test")
            .tsig(ServerKeys.updateKey(dns))
            .address("app", "192.0.2.4")
            .attempts(3)
            .retryBackoff(Duration.ofMillis(100))
            .build();

    long start = System.nanoTime();
    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsUnreachableException.class,
            e -> {
              assertThat(e.attempts()).isEqualTo(3);
              assertThat(e.server()).isEqualTo("127.0.0.1:" + port);
              assertThat(e.getMessage())
                  .contains("127.0.0.1:" + port, "zone baton.test.", "after 3 attempts");
            });
    // Two pauses between three attempts: 100 ms, then 200 ms.
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
  }

  @Test
  void anUnreachableServerOverUdpTimesOutAndIsNamed() {
    AuthoritativeDnsServer down = startServer("baton.test.");
    int port = down.port();
    down.close();
    DnsSwitch s =
        DnsSwitch.builder()
            .server("127.0.0.1", port)
            .zone("baton.test")
            .tsig(ServerKeys.updateKey(dns))
            .address("app", "192.0.2.4")
            .tcp(false)
            .queryTimeout(Duration.ofMillis(300))
            .attempts(2)
            .retryBackoff(Duration.ofMillis(50))
            .build();

    assertThatThrownBy(() -> s.promote(TestStepContext.promote(3, "node-a")))
        .isInstanceOf(DnsUnreachableException.class)
        .hasMessageContaining("127.0.0.1:" + port)
        .hasMessageContaining("after 2 attempts");
  }

  @Test
  void aServerThatComesBackWithinTheRetriesIsUpdated() throws Exception {
    try (AuthoritativeDnsServer flaky = startServer("baton.test.")) {
      DnsSwitch s =
          DnsSwitch.builder()
              .server(flaky.host(), flaky.port())
              .zone(flaky.zone())
              .tsig(ServerKeys.updateKey(flaky))
              .address("back", "192.0.2.5")
              .attempts(40)
              .retryBackoff(Duration.ofMillis(50))
              .build();
      flaky.stop();
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<?> promotion =
            pool.submit(
                () -> {
                  s.promote(TestStepContext.promote(3, "node-a"));
                  return null;
                });
        // The promotion is retrying against a dead server; bring it back.
        flaky.restart();
        await().atMost(Duration.ofSeconds(30)).until(promotion::isDone);
        promotion.get();
      } finally {
        pool.shutdownNow();
      }
      assertThat(flaky.dig("back." + flaky.zone(), "A")).containsExactly("192.0.2.5");
    }
  }

  @Test
  void theSecretNeverAppearsInLogsMessagesOrToString() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.classic.Logger xbill = ctx.getLogger("org.xbill");
    ch.qos.logback.classic.Logger baton = ctx.getLogger("dev.baton");
    Level xbillLevel = xbill.getLevel();
    Level batonLevel = baton.getLevel();
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    root.addAppender(events);
    xbill.setLevel(Level.TRACE);
    baton.setLevel(Level.TRACE);
    String secret = secretOf(ServerKeys.updateKey(dns));
    String wrong = otherSecret();
    try {
      DnsSwitch good = switchFor("quiet").build();
      good.promote(TestStepContext.promote(3, "node-a"));
      DnsSwitch bad =
          DnsSwitch.builder()
              .server(dns.host(), dns.port())
              .zone(dns.zone())
              .tsig(ServerKeys.updateKey(dns).withSecret(wrong))
              .address("quiet", "192.0.2.9")
              .build();
      Throwable failure =
          CompletableFuture.supplyAsync(
                  () -> {
                    try {
                      bad.promote(TestStepContext.promote(4, "node-b"));
                      return null;
                    } catch (Exception e) {
                      return e;
                    }
                  })
              .get();
      assertThat(failure).isInstanceOf(DnsAuthenticationException.class);

      assertThat(events.list).isNotEmpty();
      for (ILoggingEvent e : events.list) {
        assertThat(e.getFormattedMessage()).doesNotContain(secret).doesNotContain(wrong);
      }
      assertThat(failure.getMessage()).doesNotContain(secret).doesNotContain(wrong);
      assertThat(good.toString()).doesNotContain(secret).contains("redacted");
      assertThat(ServerKeys.updateKey(dns).toString()).doesNotContain(secret);
    } finally {
      root.detachAppender(events);
      xbill.setLevel(xbillLevel);
      baton.setLevel(batonLevel);
    }
  }

  /** The base64 secret as the key file holds it, to search the logs for. */
  private String secretOf(TsigKey key) throws Exception {
    String file = java.nio.file.Files.readString(dns.keyFile(key.algorithm().bindName()));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("secret \"([^\"]+)\"").matcher(file);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }
}
