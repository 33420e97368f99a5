package dev.baton.dns;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Address;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TextParseException;

/**
 * The names a {@link DnsSwitch} rewrites and its fence record's name, checked and turned into
 * records when the builder builds. Every problem is added to the caller's list, prefixed with the
 * setting it concerns, so that {@link DnsSwitch.Builder#build()} reports them all at once.
 */
final class SwitchedNames {
  private SwitchedNames() {}

  /** {@code address(name, address)}: one address of a name, as given (null when none was). */
  record NameAddress(String name, @Nullable String address) {}

  /** {@code cname(name, target)}: a name and its target, as given. */
  record NameAlias(String name, String target) {}

  /**
   * The records each switched name gets, from {@code address(...)} and {@code cname(...)}: into
   * {@code names}, by absolute name; each problem into {@code errors}, prefixed with its setting.
   */
  static void build(
      List<NameAddress> addresses,
      List<NameAlias> cnames,
      Name zone,
      long ttlSeconds,
      Map<Name, List<Record>> names,
      List<String> errors) {
    Map<Name, String> kinds = new LinkedHashMap<>();
    for (NameAddress a : addresses) {
      Name n = inZone("address", a.name(), zone, errors);
      if (n == null) {
        continue;
      }
      if (a.address() == null || a.address().isBlank()) {
        errors.add("address: no address given for '" + a.name() + "'");
        continue;
      }
      String literal = a.address().trim();
      Record r;
      if (Address.isDottedQuad(literal)) {
        r = new ARecord(n, DClass.IN, ttlSeconds, ipLiteral(literal, Address.IPv4));
      } else if (Address.toByteArray(literal, Address.IPv6) != null) {
        r = new AAAARecord(n, DClass.IN, ttlSeconds, ipLiteral(literal, Address.IPv6));
      } else {
        errors.add(
            "address: '" + a.address() + "' for '" + a.name() + "' is not an IPv4 or IPv6 literal");
        continue;
      }
      if ("cname".equals(kinds.get(n))) {
        errors.add("address: '" + n + "' already has a CNAME; a CNAME name holds nothing else");
        continue;
      }
      kinds.put(n, "address");
      List<Record> list = names.computeIfAbsent(n, k -> new ArrayList<>());
      if (list.stream().noneMatch(x -> x.equals(r))) {
        list.add(r);
      }
    }
    for (NameAlias c : cnames) {
      Name n = inZone("cname", c.name(), zone, errors);
      if (n == null) {
        continue;
      }
      if (n.equals(zone)) {
        errors.add("cname: the zone apex " + zone + " cannot hold a CNAME (it holds SOA and NS)");
        continue;
      }
      if (kinds.containsKey(n)) {
        errors.add(
            "cname: '" + n + "' already has " + kinds.get(n) + " records; a CNAME stands alone");
        continue;
      }
      if (c.target() == null || c.target().isBlank()) {
        errors.add("cname: no target given for '" + c.name() + "'");
        continue;
      }
      Name target;
      try {
        target = resolveName(c.target(), zone);
      } catch (TextParseException e) {
        errors.add("cname: target '" + c.target() + "' is not a valid DNS name: " + e.getMessage());
        continue;
      }
      kinds.put(n, "cname");
      names.put(n, new ArrayList<>(List.of(new CNAMERecord(n, DClass.IN, ttlSeconds, target))));
    }
    names.replaceAll((k, v) -> List.copyOf(v));
  }

  /**
   * The fence record's name: {@code fenceRecord} when given, else {@code _baton-fence.} before the
   * first switched name.
   */
  static @Nullable Name fence(
      @Nullable String fenceRecord, Name zone, Map<Name, List<Record>> names, List<String> errors) {
    Name fence;
    if (fenceRecord != null) {
      fence = inZone("fenceRecord", fenceRecord, zone, errors);
    } else if (!names.isEmpty()) {
      Name first = names.keySet().iterator().next();
      try {
        fence = Name.concatenate(Name.fromConstantString("_baton-fence"), first);
      } catch (org.xbill.DNS.NameTooLongException e) {
        errors.add("fenceRecord: _baton-fence." + first + " is too long; set fenceRecord(...)");
        return null;
      }
    } else {
      return null;
    }
    if (fence != null && names.containsKey(fence)) {
      errors.add("fenceRecord: " + fence + " is also one of the switched names");
    }
    return fence;
  }

  private static @Nullable Name inZone(
      String setting, String text, Name zone, List<String> errors) {
    if (text == null || text.isBlank()) {
      errors.add(setting + ": name must not be blank");
      return null;
    }
    Name n;
    try {
      n = resolveName(text, zone);
    } catch (TextParseException e) {
      errors.add(setting + ": '" + text + "' is not a valid DNS name: " + e.getMessage());
      return null;
    }
    if (!n.subdomain(zone)) {
      errors.add(setting + ": '" + n + "' is outside zone " + zone);
      return null;
    }
    return n;
  }

  /**
   * Absolute if it ends with a dot or already ends with the zone's name (so that "app.example.com"
   * does not become "app.example.com.example.com."), else relative to the zone.
   */
  static Name resolveName(String text, Name zone) throws TextParseException {
    String t = text.trim();
    if (t.equals("@")) {
      return zone;
    }
    if (t.endsWith(".")) {
      return Name.fromString(t);
    }
    Name absolute = Name.fromString(t, Name.root);
    if (absolute.subdomain(zone)) {
      return absolute;
    }
    return Name.fromString(t, zone);
  }

  private static InetAddress ipLiteral(String literal, int family) {
    try {
      // A literal: getByAddress never consults DNS.
      return InetAddress.getByAddress(Address.toByteArray(literal, family));
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
