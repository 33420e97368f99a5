package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.core.BatonException;
import dev.baton.testing.steps.TestStepContext;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Configuration is checked at build time, with messages that name the setting. No server. */
class DnsSwitchBuilderTest {
  private static final String SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM=";

  private static DnsSwitch.Builder valid() {
    return DnsSwitch.builder()
        .server("127.0.0.1", 5353)
        .zone("example.test")
        .tsig("baton-key", "hmac-sha256", SECRET)
        .address("app", "192.0.2.1");
  }

  @Test
  void anEmptyBuilderNamesEveryMissingSetting() {
    assertThatThrownBy(() -> DnsSwitch.builder().build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("server: required")
        .hasMessageContaining("zone: required")
        .hasMessageContaining("tsig: required")
        .hasMessageContaining("address/cname: at least one name");
  }

  @Test
  void badValuesAreReportedWithTheirSetting() {
    assertThatThrownBy(
            () ->
                DnsSwitch.builder()
                    .server("127.0.0.1", 70000)
                    .zone("example..test")
                    .tsig("k", "hmac-sha3", SECRET)
                    .address("app", "not-an-ip")
                    .ttl(Duration.ofSeconds(-1))
                    .attempts(0)
                    .queryTimeout(Duration.ZERO)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("server: port must be 1..65535, was 70000")
        .hasMessageContaining("zone: 'example..test' is not a valid DNS name")
        .hasMessageContaining("tsig: unknown TSIG algorithm 'hmac-sha3'")
        .hasMessageContaining("ttl: must be whole seconds")
        .hasMessageContaining("attempts: must be at least 1")
        .hasMessageContaining("queryTimeout: must be positive");
  }

  @Test
  void aVerifyQuorumOfZeroOrAboveTheServersIsRefusedNamingTheSettingAndValue() {
    assertThatThrownBy(
            () ->
                valid()
                    .verifyOn("127.0.0.1", 5301)
                    .verifyOn("127.0.0.1", 5302)
                    .verifyQuorum(0)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("verifyQuorum: must be at least 1 (a server that confirms), was 0");
    assertThatThrownBy(
            () ->
                valid()
                    .verifyOn("127.0.0.1", 5301)
                    .verifyOn("127.0.0.1", 5302)
                    .verifyQuorum(3)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "verifyQuorum: 3 is more than the 2 verification servers [127.0.0.1:5301,"
                + " 127.0.0.1:5302]");
    assertThatThrownBy(() -> valid().verifyQuorum(2).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "verifyQuorum: 2 is more than the 1 verification server (the primary");
  }

  @Test
  void theVerifyQuorumDefaultsToAllAndCanBeAMajority() {
    DnsSwitch all = valid().verifyOn("127.0.0.1", 5301).verifyOn("127.0.0.1", 5302).build();
    assertThat(all.verifier().quorumOf(2)).isEqualTo(2);
    DnsSwitch one =
        valid().verifyOn("127.0.0.1", 5301).verifyOn("127.0.0.1", 5302).verifyQuorum(1).build();
    assertThat(one.verifier().quorumOf(2)).isEqualTo(1);
    DnsSwitch majority = valid().verifyQuorumMajority().build();
    assertThat(majority.verifier().quorumOf(2)).isEqualTo(2);
    assertThat(majority.verifier().quorumOf(3)).isEqualTo(2);
  }

  @Test
  void aConvergerNeedsAPositiveBackoffAndAMaximumNotBelowIt() {
    DnsSwitch dns = valid().build();
    assertThatThrownBy(() -> DnsConverger.of(dns, Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("convergeBackoff: must be positive, was PT0S");
    assertThatThrownBy(() -> DnsConverger.of(dns, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("convergeMaxBackoff: must be at least convergeBackoff (PT2S), was PT1S");
    try (DnsConverger c = DnsConverger.of(dns, Duration.ofSeconds(1), Duration.ofSeconds(1))) {
      assertThat(c.name()).isEqualTo("dns");
      assertThat(c.pending()).isFalse();
      assertThat(c.converged()).isFalse();
    }
  }

  @Test
  void anInvalidSecretIsReportedWithoutEchoingIt() {
    String bad = "this is not base64 !!! s3cr3t";
    assertThatThrownBy(() -> valid().tsig("baton-key", "hmac-sha256", bad).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tsig: tsig secret for key 'baton-key.' is not valid base64")
        .hasMessageNotContaining("s3cr3t");
  }

  @Test
  void namesOutsideTheZoneAndConflictingRecordsAreRejected() {
    assertThatThrownBy(
            () ->
                valid()
                    .address("app.other.test.", "192.0.2.2")
                    .address("both", "192.0.2.3")
                    .cname("both", "app")
                    .cname("@", "app")
                    .fenceRecord("_fence.other.test.")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("address: 'app.other.test.' is outside zone example.test.")
        .hasMessageContaining("cname: 'both.example.test.' already has address records")
        .hasMessageContaining("cname: the zone apex example.test. cannot hold a CNAME")
        .hasMessageContaining("fenceRecord: '_fence.other.test.' is outside zone example.test.");
  }

  @Test
  void verifyOnAndNameServerDiscoveryExcludeEachOther() {
    assertThatThrownBy(() -> valid().verifyOn("127.0.0.1", 53).verifyOnZoneNameServers(53).build())
        .hasMessageContaining("verifyOn / verifyOnZoneNameServers: set one or the other");
  }

  @Test
  void namesAreRelativeToTheZoneUnlessTheyAlreadyEndWithIt() {
    DnsSwitch s =
        valid()
            .address("app.example.test", "192.0.2.4")
            .address("api.example.test.", "2001:db8::1")
            .address("svc", "192.0.2.5")
            .build();

    assertThat(s.zone()).isEqualTo("example.test.");
    assertThat(s.names())
        .containsExactly("app.example.test.", "api.example.test.", "svc.example.test.");
    assertThat(s.fenceRecordName()).isEqualTo("_baton-fence.app.example.test.");
    assertThat(s.name()).isEqualTo("dns");
    assertThat(s.fence().name()).isEqualTo("dns-fence");
    assertThat(s.server()).isEqualTo("127.0.0.1:5353");
  }

  @Test
  void toStringShowsTheKeyNameButNeverTheSecret() {
    DnsSwitch s = valid().build();
    assertThat(s.toString())
        .contains("baton-key.", "hmac-sha256", "redacted")
        .doesNotContain(SECRET);
  }

  @Test
  void aBindKeyFileAsTsigKeygenWritesItParses() {
    TsigKey key =
        TsigKey.parseBindKey(
            "key \"baton-key\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + SECRET + "\";\n};\n");
    assertThat(key.name()).isEqualTo("baton-key.");
    assertThat(key.algorithm()).isEqualTo(TsigAlgorithm.HMAC_SHA512);
    assertThat(key).isEqualTo(TsigKey.of("baton-key", TsigAlgorithm.HMAC_SHA512, SECRET));
    assertThat(key.toString()).doesNotContain(SECRET);
  }

  @Test
  void algorithmsParseInTheSpellingsServersUse() {
    assertThat(TsigAlgorithm.parse("HMAC-MD5.SIG-ALG.REG.INT.")).isEqualTo(TsigAlgorithm.HMAC_MD5);
    assertThat(TsigAlgorithm.parse("hmac_sha224")).isEqualTo(TsigAlgorithm.HMAC_SHA224);
    assertThat(TsigAlgorithm.parse("HMAC-SHA384")).isEqualTo(TsigAlgorithm.HMAC_SHA384);
    assertThatThrownBy(() -> TsigAlgorithm.parse("rsa"))
        .hasMessageContaining("accepted: hmac-md5, hmac-sha1");
  }

  @Test
  void aNonPositiveTokenIsRefusedBeforeAnyNetworkTraffic() {
    DnsSwitch s = valid().server("127.0.0.1", 9).build();
    assertThatThrownBy(() -> s.promote(TestStepContext.promote(0, "node-a")))
        .isInstanceOf(BatonException.class)
        .hasMessageContaining("fencing token must be positive, was 0");
  }

  @Test
  void aPassedDeadlineIsRefusedBeforeAnyNetworkTraffic() {
    DnsSwitch s = valid().build();
    assertThatThrownBy(
            () -> s.promote(TestStepContext.promote(3, "node-a").withDeadline(Duration.ZERO)))
        .isInstanceOf(DnsException.class)
        .hasMessageContaining("deadline has already passed");
  }
}
