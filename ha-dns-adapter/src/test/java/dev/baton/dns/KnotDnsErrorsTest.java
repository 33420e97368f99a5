package dev.baton.dns;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import dev.baton.testing.dns.KnotServer;
import org.junit.jupiter.api.Tag;

/**
 * {@link DnsErrorsContract} against a real Knot DNS. Tagged "knot": the build runs it where {@code
 * knotd} is installed (Debian package knot; profile "knot" in this module's pom).
 */
@Tag("knot")
class KnotDnsErrorsTest extends DnsErrorsContract {
  @Override
  protected AuthoritativeDnsServer startServer(String zone) {
    return KnotServer.start(zone);
  }
}
