package dev.baton.dns;

import dev.baton.dns.testing.AuthoritativeDnsServer;
import dev.baton.dns.testing.BindServer;

/** {@link DnsErrorsContract} against a real BIND 9. */
class BindDnsErrorsTest extends DnsErrorsContract {
  @Override
  protected AuthoritativeDnsServer startServer(String zone) {
    return BindServer.builder().zone(zone).start();
  }
}
