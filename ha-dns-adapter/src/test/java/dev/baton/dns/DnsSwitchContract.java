package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import dev.baton.testing.steps.TestStepContext;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/**
 * The switch against a real authoritative server (BIND 9, Knot): names move, the fence only grows,
 * stale and delayed updates change nothing. Each test uses its own names, so one server serves the
 * class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DnsSwitchContract {
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

  private DnsSwitch.Builder switchFor(String name, String... addresses) {
    return DnsSwitch.builder()
        .server(dns.host(), dns.port())
        .zone(dns.zone())
        .tsig(ServerKeys.updateKey(dns))
        .address(name, addresses);
  }

  private String abs(String relative) {
    return relative + "." + dns.zone();
  }

  @Test
  void firstSwitchCreatesTheFenceAndPointsTheName() throws Exception {
    DnsSwitch a = switchFor("first", "192.0.2.10").build();
    assertThat(a.fence().currentToken()).isZero();

    a.promote(TestStepContext.promote(3, "node-a"));

    assertThat(dns.dig(abs("first"), "A")).containsExactly("192.0.2.10");
    assertThat(dns.dig("_baton-fence." + abs("first"), "TXT"))
        .containsExactly("\"token=3\" \"node=node-a\"");
    assertThat(Lookups.rdata(dns, abs("first"), Type.A)).containsExactly("192.0.2.10");
    assertThat(Lookups.fenceToken(dns, a.fenceRecordName())).isEqualTo(3);
    assertThat(a.fence().currentToken()).isEqualTo(3);
    // The default TTL is short, because it bounds how long resolvers keep the old answer.
    assertThat(Lookups.records(dns, abs("first"), Type.A))
        .extracting(Record::getTTL)
        .containsExactly(30L);
  }

  @Test
  void preflightReadsWithoutChangingAnything() throws Exception {
    DnsSwitch a = switchFor("preflight", "192.0.2.30").build();

    a.preflight();
    a.fence().preflight();

    assertThat(dns.dig(abs("preflight"), "A")).isEmpty();
    assertThat(dns.dig("_baton-fence." + abs("preflight"), "TXT")).isEmpty();
    a.promote(TestStepContext.promote(5, "node-a"));
    a.preflight();
    assertThat(a.fence().currentToken()).isEqualTo(5);
  }

  @Test
  void promotionMovesTheNameToTheNewActive() throws Exception {
    DnsSwitch a = switchFor("move", "192.0.2.11").build();
    DnsSwitch b = switchFor("move", "192.0.2.12").build();
    a.promote(TestStepContext.promote(3, "node-a"));
    long serialAfterA = dns.soaSerial();

    b.promote(TestStepContext.promote(7, "node-b"));

    assertThat(dns.dig(abs("move"), "A")).containsExactly("192.0.2.12");
    assertThat(Lookups.rdata(dns, abs("move"), Type.A)).containsExactly("192.0.2.12");
    assertThat(Lookups.fenceToken(dns, b.fenceRecordName())).isEqualTo(7);
    assertThat(a.fence().currentToken()).isEqualTo(7);
    assertThat(dns.soaSerial()).isGreaterThan(serialAfterA);
  }

  @Test
  void repeatingAPromotionWithTheSameTokenChangesNothing() throws Exception {
    DnsSwitch a = switchFor("again", "192.0.2.13").build();
    a.promote(TestStepContext.promote(5, "node-a"));
    Set<String> before = Lookups.rdata(dns, abs("again"), Type.A);

    a.promote(TestStepContext.promote(5, "node-a"));

    assertThat(Lookups.rdata(dns, abs("again"), Type.A)).isEqualTo(before);
    assertThat(a.fence().currentToken()).isEqualTo(5);
  }

  @Test
  void aStaleTokenIsRefusedBeforeAnythingIsSent() throws Exception {
    DnsSwitch a = switchFor("stale", "192.0.2.14").build();
    DnsSwitch b = switchFor("stale", "192.0.2.15").build();
    b.promote(TestStepContext.promote(7, "node-b"));
    long serial = dns.soaSerial();

    assertThatThrownBy(() -> a.promote(TestStepContext.promote(5, "node-a")))
        .isInstanceOfSatisfying(
            DnsStaleTokenException.class,
            e -> {
              assertThat(e.offeredToken()).isEqualTo(5);
              assertThat(e.fencedToken()).isEqualTo(7);
              assertThat(e.prerequisiteRcode()).isEmpty();
              assertThat(e.getMessage())
                  .contains("offered token 5", "holds token 7", "refused before sending");
            });

    assertThat(dns.dig(abs("stale"), "A")).containsExactly("192.0.2.15");
    assertThat(b.fence().currentToken()).isEqualTo(7);
    assertThat(dns.soaSerial()).isEqualTo(serial);
  }

  @Test
  void aDelayedUpdateFromAStaleActiveFailsItsPrerequisiteAndChangesNothing() throws Exception {
    DnsSwitch a = switchFor("delayed", "192.0.2.16").build();
    DnsSwitch b = switchFor("delayed", "192.0.2.17").build();
    a.promote(TestStepContext.promote(3, "node-a"));
    // Node a, active with token 5, reads the fence (token 3) and builds its update...
    FenceCompareAndSet.Prepared late =
        a.cas().prepare(5, "node-a", true, Deadline.in(Duration.ofSeconds(10)));
    // ...then pauses while node b takes over with token 7...
    b.promote(TestStepContext.promote(7, "node-b"));
    long serial = dns.soaSerial();

    // ...and sends it when it wakes up.
    assertThatThrownBy(() -> a.cas().commit(late, Deadline.in(Duration.ofSeconds(10))))
        .isInstanceOfSatisfying(
            DnsStaleTokenException.class,
            e -> {
              assertThat(e.prerequisiteRcodeName()).isEqualTo("NXRRSET");
              assertThat(e.expectedToken()).hasValue(3);
              assertThat(e.offeredToken()).isEqualTo(5);
              assertThat(e.fencedToken()).isEqualTo(7);
              assertThat(e.getMessage())
                  .contains("NXRRSET", "token=3", "offered token 5", "token=7", "stale");
            });

    assertThat(dns.dig(abs("delayed"), "A")).containsExactly("192.0.2.17");
    assertThat(Lookups.fenceToken(dns, a.fenceRecordName())).isEqualTo(7);
    assertThat(dns.soaSerial()).isEqualTo(serial);
  }

  @Test
  void aDelayedFirstUpdateFailsItsDoesNotExistPrerequisite() throws Exception {
    DnsSwitch a = switchFor("delayed-first", "192.0.2.18").build();
    DnsSwitch b = switchFor("delayed-first", "192.0.2.19").build();
    FenceCompareAndSet.Prepared late =
        a.cas().prepare(5, "node-a", true, Deadline.in(Duration.ofSeconds(10)));
    assertThat(late.seen.absent()).isTrue();
    b.promote(TestStepContext.promote(7, "node-b"));

    assertThatThrownBy(() -> a.cas().commit(late, Deadline.in(Duration.ofSeconds(10))))
        .isInstanceOfSatisfying(
            DnsStaleTokenException.class,
            e -> {
              assertThat(e.prerequisiteRcodeName()).isEqualTo("YXRRSET");
              assertThat(e.expectedToken()).isEmpty();
              assertThat(e.getMessage()).contains("YXRRSET", "no fence record", "token=7");
            });
    assertThat(dns.dig(abs("delayed-first"), "A")).containsExactly("192.0.2.19");
  }

  @Test
  void aHigherTokenOvertakesALowerWriterThatSlippedInBetweenReadAndUpdate() throws Exception {
    DnsSwitch a = switchFor("overtake", "192.0.2.20").build();
    DnsSwitch c = switchFor("overtake", "192.0.2.21").build();
    FenceCompareAndSet.Prepared p =
        a.cas().prepare(9, "node-a", true, Deadline.in(Duration.ofSeconds(10)));
    c.promote(TestStepContext.promote(4, "node-c"));

    // The prerequisite fails, but the fence moved only to 4 < 9: not stale, read again.
    assertThat(a.cas().commit(p, Deadline.in(Duration.ofSeconds(10)))).isFalse();
    assertThat(dns.dig(abs("overtake"), "A")).containsExactly("192.0.2.21");

    a.promote(TestStepContext.promote(9, "node-a"));
    assertThat(dns.dig(abs("overtake"), "A")).containsExactly("192.0.2.20");
    assertThat(a.fence().currentToken()).isEqualTo(9);
  }

  @Test
  void switchesSeveralNamesAddressFamiliesAndCnamesInOneUpdate() throws Exception {
    DnsSwitch a =
        switchFor("multi", "192.0.2.30", "192.0.2.31", "2001:db8::30")
            .cname("multi-www", "multi")
            .build();
    DnsSwitch b = switchFor("multi", "192.0.2.40").cname("multi-www", "lb-b.example.net.").build();

    a.promote(TestStepContext.promote(3, "node-a"));
    assertThat(dns.dig(abs("multi"), "A")).containsExactlyInAnyOrder("192.0.2.30", "192.0.2.31");
    assertThat(dns.dig(abs("multi"), "AAAA")).containsExactly("2001:db8::30");
    assertThat(dns.dig(abs("multi-www"), "CNAME")).containsExactly(abs("multi"));

    b.promote(TestStepContext.promote(4, "node-b"));
    assertThat(dns.dig(abs("multi"), "A")).containsExactly("192.0.2.40");
    // Node b has no IPv6 address: node a's AAAA must not survive next to b's A.
    assertThat(dns.dig(abs("multi"), "AAAA")).isEmpty();
    assertThat(dns.dig(abs("multi-www"), "CNAME")).containsExactly("lb-b.example.net.");
  }

  @Test
  void aNameCanMoveBetweenACnameAndAddresses() throws Exception {
    DnsSwitch a = switchFor("unused-a", "192.0.2.50").build();
    DnsSwitch viaCname =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.zone())
            .tsig(ServerKeys.updateKey(dns))
            .cname("svc", "lb-a.example.net.")
            .build();
    DnsSwitch viaAddress = switchFor("svc", "192.0.2.51").build();
    assertThat(a.fenceRecordName()).isNotEqualTo(viaCname.fenceRecordName());
    assertThat(viaCname.fenceRecordName()).isEqualTo(viaAddress.fenceRecordName());

    viaCname.promote(TestStepContext.promote(2, "node-a"));
    assertThat(dns.dig(abs("svc"), "CNAME")).containsExactly("lb-a.example.net.");

    viaAddress.promote(TestStepContext.promote(3, "node-b"));
    assertThat(dns.dig(abs("svc"), "CNAME")).isEmpty();
    assertThat(dns.dig(abs("svc"), "A")).containsExactly("192.0.2.51");

    viaCname.promote(TestStepContext.promote(4, "node-a"));
    // dig +short shows the CNAME chain for an A query; node b's address must be gone.
    assertThat(dns.dig(abs("svc"), "A")).containsExactly("lb-a.example.net.");
    assertThat(dns.dig(abs("svc"), "CNAME")).containsExactly("lb-a.example.net.");
  }

  @Test
  void theFenceAloneAdvancesWithoutTouchingTheNamesAndRefusesLowerTokens() throws Exception {
    DnsSwitch a = switchFor("fence-only", "192.0.2.60").build();
    DnsFence fence = a.fence();
    assertThat(fence.name()).isEqualTo("dns-fence");

    fence.advance(4, TestStepContext.promote(4, "node-a"));
    assertThat(fence.currentToken()).isEqualTo(4);
    assertThat(dns.dig(abs("fence-only"), "A")).isEmpty();

    long serial = dns.soaSerial();
    fence.advance(4, TestStepContext.promote(4, "node-a"));
    assertThat(dns.soaSerial()).as("advancing to the held token sends nothing").isEqualTo(serial);

    assertThatThrownBy(() -> fence.advance(3, TestStepContext.promote(3, "node-old")))
        .isInstanceOf(DnsStaleTokenException.class)
        .hasMessageContaining("offered token 3")
        .hasMessageContaining("holds token 4");

    // The plan's later DNS step with the same token now only moves the names.
    a.promote(TestStepContext.promote(4, "node-a"));
    assertThat(dns.dig(abs("fence-only"), "A")).containsExactly("192.0.2.60");
    assertThat(fence.currentToken()).isEqualTo(4);
  }

  @ParameterizedTest
  @EnumSource(TsigAlgorithm.class)
  void signsWithEveryCommonTsigAlgorithm(TsigAlgorithm algorithm) throws Exception {
    String name = "alg-" + algorithm.bindName();
    DnsSwitch s =
        DnsSwitch.builder()
            .server(dns.host(), dns.port())
            .zone(dns.zone())
            .tsigKeyFile(dns.keyFile(algorithm.bindName()))
            .address(name, "192.0.2.70")
            .build();

    s.promote(TestStepContext.promote(11, "node-a"));

    assertThat(dns.dig(abs(name), "A")).containsExactly("192.0.2.70");
    assertThat(s.fence().currentToken()).isEqualTo(11);
  }

  @Test
  void verifiesOnTheServersTheZonesNsRecordsName() throws Exception {
    DnsSwitch s =
        switchFor("ns-verified", "192.0.2.80")
            .verifyOnZoneNameServers(dns.port())
            .ttl(Duration.ofSeconds(5))
            .build();

    s.promote(TestStepContext.promote(2, "node-a"));

    assertThat(Lookups.records(dns, abs("ns-verified"), Type.A))
        .extracting(Record::getTTL)
        .containsExactly(5L);
  }

  @Test
  void verificationFailsClearlyWhenAnAuthoritativeServerDoesNotShowTheChange() throws Exception {
    // A second server for the same zone that never receives the update: a secondary that lags.
    try (AuthoritativeDnsServer lagging = startServer(dns.zone())) {
      DnsSwitch s =
          switchFor("lagging", "192.0.2.90")
              .verifyOn(dns.host(), dns.port())
              .verifyOn(lagging.host(), lagging.port())
              .verifyTimeout(Duration.ofMillis(800))
              .build();

      assertThatThrownBy(() -> s.promote(TestStepContext.promote(6, "node-a")))
          .isInstanceOfSatisfying(
              DnsVerificationException.class,
              e -> {
                assertThat(e.server()).isEqualTo("127.0.0.1:" + lagging.port());
                assertThat(e.getMessage())
                    .contains(
                        "applied on 127.0.0.1:" + dns.port(),
                        "127.0.0.1:" + lagging.port(),
                        "lagging." + dns.zone() + " A [] (expected [192.0.2.90])",
                        "no fence record (expected token=6)");
              });
      // The update itself went through on the primary.
      assertThat(dns.dig(abs("lagging"), "A")).containsExactly("192.0.2.90");
    }
  }

  @Test
  void demoteLeavesTheRecordsForTheNextActiveToOverwrite() throws Exception {
    DnsSwitch a = switchFor("demote", "192.0.2.100").build();
    a.promote(TestStepContext.promote(3, "node-a"));
    long serial = dns.soaSerial();

    a.demote(TestStepContext.promote(3, "node-a"));

    assertThat(dns.dig(abs("demote"), "A")).containsExactly("192.0.2.100");
    assertThat(dns.soaSerial()).isEqualTo(serial);
  }

  @Test
  void aCustomFenceRecordNameIsUsed() throws Exception {
    DnsSwitch a =
        switchFor("custom", "192.0.2.110").fenceRecord("_fences.custom-deployment").build();
    assertThat(a.fenceRecordName()).isEqualTo("_fences.custom-deployment." + dns.zone());

    a.promote(TestStepContext.promote(8, "node-a"));

    assertThat(dns.dig("_fences.custom-deployment." + dns.zone(), "TXT"))
        .containsExactly("\"token=8\" \"node=node-a\"");
    assertThat(dns.dig("_baton-fence." + abs("custom"), "TXT")).isEqualTo(List.of());
  }
}
