package dev.baton.dns;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.xbill.DNS.Cache;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** What a client resolving through dnsjava sees, asking the test server directly. */
final class Lookups {
  private Lookups() {}

  /** The records of this name and type, through dnsjava's Lookup with a fresh cache. */
  static List<Record> records(AuthoritativeDnsServer bind, String name, int type)
      throws IOException {
    SimpleResolver resolver = new SimpleResolver(bind.address());
    resolver.setTimeout(Duration.ofSeconds(2));
    Lookup lookup = new Lookup(Name.fromString(name, Name.root), type);
    lookup.setResolver(resolver);
    // A fresh cache: each call must see the server's current answer, not an earlier one.
    lookup.setCache(new Cache());
    Record[] answer = lookup.run();
    if (answer == null) {
      return List.of();
    }
    return List.of(answer).stream().filter(r -> r.getType() == type).collect(Collectors.toList());
  }

  /** The rdata of this name and type as text, sorted. */
  static Set<String> rdata(AuthoritativeDnsServer bind, String name, int type) throws IOException {
    Set<String> out = new TreeSet<>();
    for (Record r : records(bind, name, type)) {
      out.add(r.rdataToString());
    }
    return out;
  }

  /** The fence token a dnsjava lookup sees, or 0 when there is no fence record. */
  static long fenceToken(AuthoritativeDnsServer bind, String fenceName) throws IOException {
    List<Record> txt = records(bind, fenceName, Type.TXT);
    if (txt.isEmpty()) {
      return 0;
    }
    for (String s : ((TXTRecord) txt.get(0)).getStrings()) {
      if (s.startsWith("token=")) {
        return Long.parseLong(s.substring(6));
      }
    }
    throw new AssertionError("fence record without token: " + txt);
  }
}
