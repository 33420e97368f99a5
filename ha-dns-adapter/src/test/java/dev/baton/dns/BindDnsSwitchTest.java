package dev.baton.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.dns.testing.AuthoritativeDnsServer;
import dev.baton.dns.testing.BindServer;
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
              .tsig(primary.key())
              .address("replicated", "192.0.2.120")
              .verifyOn(primary.host(), primary.port())
              .verifyOn(secondary.host(), secondary.port())
              .build();
      DnsSwitch b =
          DnsSwitch.builder()
              .server(primary.host(), primary.port())
              .zone(primary.zone())
              .tsig(primary.key())
              .address("replicated", "192.0.2.121")
              .verifyOn(primary.host(), primary.port())
              .verifyOn(secondary.host(), secondary.port())
              .build();

      a.promote(TestContext.promote(3, "node-a"));
      // No waiting here: promote returned, so the secondary must already answer the new data.
      assertThat(secondary.dig("replicated." + primary.zone(), "A")).containsExactly("192.0.2.120");

      b.promote(TestContext.promote(4, "node-b"));
      assertThat(secondary.dig("replicated." + primary.zone(), "A")).containsExactly("192.0.2.121");
      assertThat(secondary.dig("_baton-fence.replicated." + primary.zone(), "TXT"))
          .containsExactly("\"token=4\" \"node=node-b\"");
    }
  }
}
