package dev.baton.dns;

import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * {@link DnsSwitch}'s reads: authoritative queries of one zone, and the fence record parsed from
 * them. Shared by the compare-and-set ({@link FenceCompareAndSet}) and the verification ({@link
 * ZoneVerifier}).
 */
final class ZoneReader {
  /** The record types a switched name may hold; a switch replaces all three. */
  static final int[] MANAGED_TYPES = {Type.A, Type.AAAA, Type.CNAME};

  private final DnsClient client;
  private final Name zone;
  private final Name fenceName;
  private final Endpoint primary;
  private final int attempts;

  ZoneReader(DnsClient client, Name zone, Name fenceName, Endpoint primary, int attempts) {
    this.client = client;
    this.zone = zone;
    this.fenceName = fenceName;
    this.primary = primary;
    this.attempts = attempts;
  }

  Name zone() {
    return zone;
  }

  Name fenceName() {
    return fenceName;
  }

  Endpoint primary() {
    return primary;
  }

  int attempts() {
    return attempts;
  }

  /** The fence record on the primary, for a stale-token error. */
  String fenceResource() {
    return "DNS fence " + fenceName + " TXT in zone " + zone + " on " + primary;
  }

  FenceState readFence(Endpoint server, boolean sign, Deadline deadline)
      throws InterruptedException {
    return readFence(server, sign, attempts, deadline);
  }

  FenceState readFence(Endpoint server, boolean sign, int tries, Deadline deadline)
      throws InterruptedException {
    return readFence(server, sign, tries, deadline, "");
  }

  /** {@code purpose} ends the description of the read in messages, e.g. " to point x at ...". */
  FenceState readFence(Endpoint server, boolean sign, int tries, Deadline deadline, String purpose)
      throws InterruptedException {
    List<Record> answer =
        query(server, fenceName, Type.TXT, sign, tries, deadline, "the fence read", purpose);
    List<TXTRecord> records = new ArrayList<>();
    for (Record r : answer) {
      records.add((TXTRecord) r);
    }
    if (records.isEmpty()) {
      return FenceState.ABSENT;
    }
    if (records.size() > 1) {
      throw unexpectedFence(server, records);
    }
    long token = -1;
    for (String s : records.get(0).getStrings()) {
      if (s.startsWith("token=")) {
        try {
          token = Long.parseLong(s.substring("token=".length()));
        } catch (NumberFormatException e) {
          throw unexpectedFence(server, records);
        }
      }
    }
    if (token < 0) {
      throw unexpectedFence(server, records);
    }
    return new FenceState(token, List.copyOf(records));
  }

  private DnsException unexpectedFence(Endpoint server, List<TXTRecord> records) {
    // Refusing is the safe choice: overwriting data we do not understand could lower the fence.
    return new DnsException(
        "fence record "
            + fenceName
            + " TXT on "
            + server
            + " holds data this adapter did not write: "
            + records
            + " (expected one TXT record \"token=<n>\"); fix or delete it by hand",
        server.toString(),
        zone.toString(),
        -1,
        null);
  }

  /** The answer's records of exactly this name and type, from an authoritative answer. */
  List<Record> query(
      Endpoint server, Name name, int type, boolean sign, int tries, Deadline deadline, String what)
      throws InterruptedException {
    return query(server, name, type, sign, tries, deadline, what, "");
  }

  private List<Record> query(
      Endpoint server,
      Name name,
      int type,
      boolean sign,
      int tries,
      Deadline deadline,
      String what,
      String purpose)
      throws InterruptedException {
    Message q = Message.newQuery(Record.newRecord(name, type, DClass.IN));
    q.getHeader().unsetFlag(Flags.RD);
    String description = what + " of " + name + " " + Type.string(type) + purpose;
    Message response = client.exchange(server, q, sign, tries, deadline, description);
    int rcode = response.getRcode();
    if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
      throw new DnsException(
          server + " answered " + description + " with " + Rcode.string(rcode),
          server.toString(),
          zone.toString(),
          rcode,
          null);
    }
    if (!response.getHeader().getFlag(Flags.AA)) {
      // Only an authoritative answer says what the zone holds; a cached one may be stale.
      throw new DnsRefusedException(
          server
              + " answered "
              + description
              + " without the authoritative (AA) flag: it is not authoritative for zone "
              + zone,
          server.toString(),
          zone.toString(),
          Rcode.NOTAUTH);
    }
    List<Record> out = new ArrayList<>();
    for (Record r : response.getSection(Section.ANSWER)) {
      if (r.getType() == type && r.getName().equals(name)) {
        out.add(r);
      }
    }
    return out;
  }
}
