package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import dev.baton.testing.dns.BindServer;
import dev.baton.testing.steps.TestStepContext;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link DnsSwitchContract} against a real BIND 9, plus verification on a real secondary. */
class BindDnsSwitchTest extends DnsSwitchContract {
  @Override
  protected AuthoritativeDnsServer startServer(String zone) {
    return BindServer.builder().zone(zone).start();
  }

  @Test
  void promotionReturnsOnlyOnceTheSecondaryServesTheNewRecords() throws Exception {
    try (BindServer primary = BindServer.start();
        BindServer secondary = BindServer.builder().secondaryOf(primary).start()) {
      primary.notifyAlso(secondary.port());
      DnsSwitch a =
          DnsSwitch.builder()
              .server(primary.host(), primary.port())
              .zone(primary.zone())
              .tsig(ServerKeys.updateKey(primary))
              .address("replicated", "192.0.2.120")
              .verifyOn(primary.host(), primary.port())
              .verifyOn(secondary.host(), secondary.port())
              .build();
      DnsSwitch b =
          DnsSwitch.builder()
              .server(primary.host(), primary.port())
              .zone(primary.zone())
              .tsig(ServerKeys.updateKey(primary))
              .address("replicated", "192.0.2.121")
              .verifyOn(primary.host(), primary.port())
              .verifyOn(secondary.host(), secondary.port())
              .build();

      a.promote(TestStepContext.promote(3, "node-a"));
      // No waiting here: promote returned, so the secondary must already answer the new data.
      assertThat(secondary.dig("replicated." + primary.zone(), "A")).containsExactly("192.0.2.120");

      b.promote(TestStepContext.promote(4, "node-b"));
      assertThat(secondary.dig("replicated." + primary.zone(), "A")).containsExactly("192.0.2.121");
      assertThat(secondary.dig("_baton-fence.replicated." + primary.zone(), "TXT"))
          .containsExactly("\"token=4\" \"node=node-b\"");
    }
  }

  private static DnsSwitch switchVerifiedOnBoth(
      BindServer primary, BindServer secondary, String address, int quorum, Duration timeout) {
    return DnsSwitch.builder()
        .server(primary.host(), primary.port())
        .zone(primary.zone())
        .tsig(ServerKeys.updateKey(primary))
        .address("quorum", address)
        .verifyOn(primary.host(), primary.port())
        .verifyOn(secondary.host(), secondary.port())
        .verifyQuorum(quorum)
        .verifyTimeout(timeout)
        .build();
  }

  /**
   * Issue 32: with one of two verification servers down (a lost region's name server), quorum 1
   * switches, and quorum 2 fails naming the server that did not confirm; a server that does not
   * answer never counts as confirming.
   */
  @Test
  void verificationNeedsItsQuorumAndAServerThatIsDownDoesNotConfirm() throws Exception {
    try (BindServer primary = BindServer.start();
        BindServer secondary = BindServer.builder().secondaryOf(primary).start()) {
      primary.notifyAlso(secondary.port());
      String down = "127.0.0.1:" + secondary.port();
      switchVerifiedOnBoth(primary, secondary, "192.0.2.130", 2, Duration.ofSeconds(10))
          .promote(TestStepContext.promote(3, "node-a"));
      assertThat(secondary.dig("quorum." + primary.zone(), "A")).containsExactly("192.0.2.130");

      secondary.stop();

      long start = System.nanoTime();
      switchVerifiedOnBoth(primary, secondary, "192.0.2.131", 1, Duration.ofSeconds(10))
          .promote(TestStepContext.promote(4, "node-b"));
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("quorum 1 returns on the first confirmation, without waiting for the down server")
          .isLessThan(Duration.ofSeconds(5));
      assertThat(primary.dig("quorum." + primary.zone(), "A")).containsExactly("192.0.2.131");

      DnsSwitch all =
          switchVerifiedOnBoth(primary, secondary, "192.0.2.132", 2, Duration.ofMillis(800));
      assertThatThrownBy(() -> all.promote(TestStepContext.promote(5, "node-c")))
          .isInstanceOfSatisfying(
              DnsVerificationException.class,
              e -> {
                assertThat(e.server()).isEqualTo(down);
                assertThat(e.getMessage())
                    .contains(
                        "applied on 127.0.0.1:" + primary.port(),
                        "needs 2 of 2 (verifyQuorum 2)",
                        "1 did: [127.0.0.1:" + primary.port() + "]",
                        "not confirmed by [" + down + "]",
                        down + " did not answer with it",
                        "it never answered");
              });
      // The update itself went through on the primary.
      assertThat(primary.dig("quorum." + primary.zone(), "A")).containsExactly("192.0.2.132");

      // Pre-flight follows the same quorum: quorum 1 passes with the server down, 2 does not.
      switchVerifiedOnBoth(primary, secondary, "192.0.2.131", 1, Duration.ofSeconds(10))
          .preflight();
      assertThatThrownBy(() -> all.preflight())
          .isInstanceOf(DnsUnreachableException.class)
          .hasMessageContaining(down);
    }
  }

  /**
   * Issue 32, {@code mode: wait}: a server that does not answer at all (frozen with SIGSTOP: the
   * kernel still accepts the TCP connection, nothing comes back, as with a hung server or a lost
   * region whose packets vanish) holds a switch back only within its bounds. A frozen verification
   * server does not delay a quorum-1 switch; a frozen primary fails the step by {@code
   * operationTimeout}, with an error naming the server and the name it could not move, so that the
   * plan's retry and failure rules apply; and nothing changed.
   */
  @Test
  void aServerThatDoesNotAnswerHoldsTheSwitchOnlyWithinItsBoundsAndIsNamed() throws Exception {
    try (BindServer primary = BindServer.start();
        BindServer secondary = BindServer.builder().secondaryOf(primary).start()) {
      primary.notifyAlso(secondary.port());
      String name = "frozen." + primary.zone();
      String primaryAddress = "127.0.0.1:" + primary.port();

      secondary.pause();
      long start = System.nanoTime();
      DnsSwitch.builder()
          .server(primary.host(), primary.port())
          .zone(primary.zone())
          .tsig(ServerKeys.updateKey(primary))
          .address("frozen", "192.0.2.140")
          .verifyOn(primary.host(), primary.port())
          .verifyOn(secondary.host(), secondary.port())
          .verifyQuorum(1)
          .queryTimeout(Duration.ofSeconds(5))
          .build()
          .promote(TestStepContext.promote(3, "node-a"));
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("quorum 1 returns on the primary's confirmation, not after the frozen server's 5 s")
          .isLessThan(Duration.ofSeconds(3));
      secondary.resume();

      primary.pause();
      DnsSwitch blocked =
          DnsSwitch.builder()
              .server(primary.host(), primary.port())
              .zone(primary.zone())
              .tsig(ServerKeys.updateKey(primary))
              .address("frozen", "192.0.2.141")
              .verifyOn(primary.host(), primary.port())
              .verifyOn(secondary.host(), secondary.port())
              .verifyQuorum(1)
              .operationTimeout(Duration.ofSeconds(3))
              .build();
      long blockedStart = System.nanoTime();
      assertThatThrownBy(() -> blocked.promote(TestStepContext.promote(4, "node-b")))
          .isInstanceOfSatisfying(
              DnsUnreachableException.class,
              e -> {
                assertThat(e.server()).isEqualTo(primaryAddress);
                assertThat(e.getMessage())
                    .contains(
                        "DNS server " + primaryAddress,
                        "did not answer",
                        "to point " + name + " at this node",
                        "SocketTimeoutException");
              });
      Duration blockedFor = Duration.ofNanos(System.nanoTime() - blockedStart);
      assertThat(blockedFor)
          .as("the step fails at operationTimeout (3 s), not later")
          .isGreaterThanOrEqualTo(Duration.ofMillis(2_500))
          .isLessThan(Duration.ofMillis(4_500));
      primary.resume();
      assertThat(primary.dig(name, "A")).containsExactly("192.0.2.140");
      assertThat(primary.dig("_baton-fence." + name, "TXT"))
          .containsExactly("\"token=3\" \"node=node-a\"");
    }
  }
}
