package dev.baton.dns;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import dev.baton.testing.dns.BindServer;

/** {@link DnsErrorsContract} against a real BIND 9. */
class BindDnsErrorsTest extends DnsErrorsContract {
  @Override
  protected AuthoritativeDnsServer startServer(String zone) {
    return BindServer.builder().zone(zone).start();
  }
}
