package dev.baton.dns;

import dev.baton.dns.testing.AuthoritativeDnsServer;
import dev.baton.dns.testing.BindServer;

/** {@link DnsSwitchContract} against a real BIND 9. */
class BindDnsSwitchTest extends DnsSwitchContract {
  @Override
  protected AuthoritativeDnsServer startServer(String zone) {
    return BindServer.builder().zone(zone).start();
  }
}
