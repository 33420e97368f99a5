package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.baton.dns.testing.BindServer;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Every way the server can say no, against a real BIND 9, and what the caller is told. */
class DnsErrorsTest {
  private static BindServer bind;

  @BeforeAll
  static void startBind() {
    bind = BindServer.start();
  }

  @AfterAll
  static void stopBind() {
    if (bind != null) {
      bind.close();
    }
  }

  private static DnsSwitch.Builder switchFor(String name) {
    return DnsSwitch.builder()
        .server(bind.host(), bind.port())
        .zone(bind.zone())
        .tsig(bind.key())
        .address(name, "192.0.2.1");
  }

  private static String abs(String relative) {
    return relative + "." + bind.zone();
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
            .server(bind.host(), bind.port())
            .zone(bind.zone())
            .tsig(bind.key().withSecret(wrong))
            .address("bad-secret", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsAuthenticationException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("BADSIG");
              assertThat(e.server()).isEqualTo("127.0.0.1:" + bind.port());
              assertThat(e.getMessage())
                  .contains(
                      "BADSIG",
                      "'baton-hmac-sha256.'",
                      "127.0.0.1:" + bind.port(),
                      "zone " + bind.zone())
                  .doesNotContain(wrong);
            });
    assertThat(bind.dig("_baton-fence." + abs("bad-secret"), "TXT")).isEmpty();
    assertThat(bind.dig(abs("bad-secret"), "A")).isEmpty();
  }

  @Test
  void aKeyTheServerDoesNotKnowIsBadkey() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone(bind.zone())
            .tsig("no-such-key", "hmac-sha256", otherSecret())
            .address("bad-key", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsAuthenticationException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("BADKEY");
              assertThat(e.getMessage())
                  .contains("BADKEY", "'no-such-key.'", "no key of that name");
            });
  }

  @Test
  void aKnownKeyWithoutUpdateRightsIsRefused() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone(bind.zone())
            .tsig(bind.keyWithoutUpdateRights())
            .address("no-rights", "192.0.2.1")
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("REFUSED");
              assertThat(e.getMessage())
                  .contains(
                      "refused the update of zone " + bind.zone(),
                      "127.0.0.1:" + bind.port(),
                      "allow-update");
            });
    assertThat(bind.dig(abs("no-rights"), "A")).isEmpty();
  }

  @Test
  void aZoneThatAllowsNoUpdatesIsRefused() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone(bind.staticZone())
            .tsig(bind.key())
            .address("app", "192.0.2.2")
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              assertThat(e.rcodeName()).isEqualTo("REFUSED");
              assertThat(e.zone()).isEqualTo(bind.staticZone());
              assertThat(e.getMessage())
                  .contains("refused the update of zone " + bind.staticZone(), "allow-update");
            });
    assertThat(bind.dig("app." + bind.staticZone(), "A")).containsExactly("192.0.2.80");
  }

  @Test
  void aZoneTheServerDoesNotServeIsReported() {
    DnsSwitch s =
        DnsSwitch.builder()
            .server(bind.host(), bind.port())
            .zone("elsewhere.test")
            .tsig(bind.key())
            .address("app", "192.0.2.3")
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOfSatisfying(
            DnsRefusedException.class,
            e -> {
              assertThat(e.zone()).isEqualTo("elsewhere.test.");
              assertThat(e.getMessage()).contains("elsewhere.test.", "127.0.0.1:" + bind.port());
            });
  }

  @Test
  void anUnreachableServerIsRetriedThenNamedInTheError() {
    BindServer down = BindServer.start();
    int port = down.port();
    down.close();
    DnsSwitch s =
        DnsSwitch.builder()
            .server("127.0.0.1", port)
            .zone("baton.test")
            .tsig(bind.key())
            .address("app", "192.0.2.4")
            .attempts(3)
            .retryBackoff(Duration.ofMillis(100))
            .build();

    long start = System.nanoTime();
    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
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
    BindServer down = BindServer.start();
    int port = down.port();
    down.close();
    DnsSwitch s =
        DnsSwitch.builder()
            .server("127.0.0.1", port)
            .zone("baton.test")
            .tsig(bind.key())
            .address("app", "192.0.2.4")
            .tcp(false)
            .queryTimeout(Duration.ofMillis(300))
            .attempts(2)
            .retryBackoff(Duration.ofMillis(50))
            .build();

    assertThatThrownBy(() -> s.promote(TestContext.promote(3, "node-a")))
        .isInstanceOf(DnsUnreachableException.class)
        .hasMessageContaining("127.0.0.1:" + port)
        .hasMessageContaining("after 2 attempts");
  }

  @Test
  void aServerThatComesBackWithinTheRetriesIsUpdated() throws Exception {
    try (BindServer flaky = BindServer.start()) {
      DnsSwitch s =
          DnsSwitch.builder()
              .server(flaky.host(), flaky.port())
              .zone(flaky.zone())
              .tsig(flaky.key())
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
                  s.promote(TestContext.promote(3, "node-a"));
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
    String secret = secretOf(bind.key());
    String wrong = otherSecret();
    try {
      DnsSwitch good = switchFor("quiet").build();
      good.promote(TestContext.promote(3, "node-a"));
      DnsSwitch bad =
          DnsSwitch.builder()
              .server(bind.host(), bind.port())
              .zone(bind.zone())
              .tsig(bind.key().withSecret(wrong))
              .address("quiet", "192.0.2.9")
              .build();
      Throwable failure =
          CompletableFuture.supplyAsync(
                  () -> {
                    try {
                      bad.promote(TestContext.promote(4, "node-b"));
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
      assertThat(bind.key().toString()).doesNotContain(secret);
    } finally {
      root.detachAppender(events);
      xbill.setLevel(xbillLevel);
      baton.setLevel(batonLevel);
    }
  }

  /** The base64 secret as the key file holds it, to search the logs for. */
  private static String secretOf(TsigKey key) throws Exception {
    String file = java.nio.file.Files.readString(bind.keyFile(key.algorithm()));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("secret \"([^\"]+)\"").matcher(file);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }
}
