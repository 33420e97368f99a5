package dev.baton.dns;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/**
 * {@link DnsSwitch}'s write: one RFC 2136 UPDATE whose prerequisite quotes the fence record exactly
 * as read, so that the server applies it only if the fence has not moved (see {@link DnsSwitch}'s
 * class comment for why that keeps invariant I3 without any timing assumption).
 */
final class FenceCompareAndSet {
  private static final int MAX_CAS_ROUNDS = 8;

  private final ZoneReader reader;
  private final Endpoint primary;
  private final Name zone;
  private final Name fenceName;
  private final int attempts;
  private final DnsClient client;
  private final String keyName;
  private final Map<Name, List<Record>> names;
  private final long ttlSeconds;
  private final String movePurpose;

  FenceCompareAndSet(
      ZoneReader reader,
      DnsClient client,
      String keyName,
      Map<Name, List<Record>> names,
      long ttlSeconds) {
    this.reader = reader;
    this.primary = reader.primary();
    this.zone = reader.zone();
    this.fenceName = reader.fenceName();
    this.attempts = reader.attempts();
    this.client = client;
    this.keyName = keyName;
    this.names = names;
    this.ttlSeconds = ttlSeconds;
    List<String> moved = new ArrayList<>();
    names.keySet().forEach(n -> moved.add(n.toString()));
    this.movePurpose = " to point " + String.join(", ", moved) + " at this node";
  }

  /** A read of the fence and the update built from it, not yet sent. */
  static final class Prepared {
    final long token;
    final FenceState seen;
    final Message update;
    final String purpose;

    Prepared(long token, FenceState seen, Message update, String purpose) {
      this.token = token;
      this.seen = seen;
      this.update = update;
      this.purpose = purpose;
    }
  }

  /**
   * Runs the compare-and-set until it is applied. Returns the fence state it replaced, or null when
   * only the fence was to move and it already held {@code token}.
   */
  @Nullable FenceState compareAndSet(
      long token, String nodeId, boolean moveNames, Deadline deadline, Logger log)
      throws InterruptedException {
    for (int round = 1; ; round++) {
      Prepared p = prepare(token, nodeId, moveNames, deadline);
      if (p == null) {
        return null;
      }
      if (commit(p, deadline)) {
        return p.seen;
      }
      if (round >= MAX_CAS_ROUNDS || deadline.expired()) {
        throw new DnsException(
            "fence record "
                + fenceName
                + " on "
                + primary
                + " kept changing under tokens lower than "
                + token
                + " for "
                + round
                + " compare-and-set rounds; giving up this attempt",
            primary.toString(),
            zone.toString(),
            -1,
            null);
      }
      log.info(
          "dns: fence {} moved (to a token <= {}) between read and update; retrying",
          fenceName,
          token);
    }
  }

  /**
   * Reads the fence on the primary and builds the update, or returns null when only the fence is to
   * move and it already holds {@code token}.
   *
   * @throws DnsStaleTokenException when the fence holds a higher token: nothing is sent
   */
  @Nullable Prepared prepare(long token, String nodeId, boolean moveNames, Deadline deadline)
      throws InterruptedException {
    // What the read is for goes into every error about it, so that a primary that does not answer
    // is reported with the names that could not move.
    String purpose = moveNames ? movePurpose : " to advance the fence to token=" + token;
    FenceState seen = reader.readFence(primary, true, attempts, deadline, purpose);
    if (seen.token() > token) {
      throw new DnsStaleTokenException(
          reader.fenceResource(),
          token,
          seen.token(),
          -1,
          -1,
          "refused before sending any update: "
              + primary
              + " answered "
              + fenceName
              + " TXT token="
              + seen.token());
    }
    if (!moveNames && seen.token() == token) {
      return null;
    }
    Update update = new Update(zone);
    if (seen.absent()) {
      // The first switch ever: "RRset does not exist" makes two first-time writers race safely.
      update.absent(fenceName, Type.TXT);
    } else {
      // Value-dependent prerequisite: the server compares the whole RRset with these records.
      for (TXTRecord r : seen.records()) {
        update.present(
            Record.newRecord(fenceName, Type.TXT, DClass.IN, 0, r.rdataToWireCanonical()));
      }
    }
    update.delete(fenceName, Type.TXT);
    update.add(new TXTRecord(fenceName, DClass.IN, ttlSeconds, fenceStrings(token, nodeId)));
    if (moveNames) {
      for (Map.Entry<Name, List<Record>> e : names.entrySet()) {
        // All three types go, so that no A, AAAA or CNAME of a previous active survives next to
        // this node's records.
        for (int type : ZoneReader.MANAGED_TYPES) {
          update.delete(e.getKey(), type);
        }
        for (Record r : e.getValue()) {
          update.add(r);
        }
      }
    }
    return new Prepared(token, seen, update, purpose);
  }

  /**
   * Sends a prepared update. Returns true when applied, false when its prerequisite failed because
   * the fence moved to a token that is not higher than ours (the caller reads again and retries).
   *
   * @throws DnsStaleTokenException when the prerequisite failed and the fence now holds a higher
   *     token: the update was delayed past a newer active's
   */
  boolean commit(Prepared p, Deadline deadline) throws InterruptedException {
    Message response;
    try {
      response =
          client.exchange(primary, p.update, true, attempts, deadline, "the update" + p.purpose);
    } catch (DnsAuthenticationException e) {
      if (e.rcode().orElse(-1) != Rcode.BADKEY) {
        throw e;
      }
      // The same key just signed the fence read and the server verified it, so the server knows
      // the key: BADKEY here is how Knot says its ACL does not let this key update the zone.
      throw new DnsRefusedException(
          primary
              + " refused the update of zone "
              + zone
              + " (NOTAUTH, TSIG BADKEY after the same key was accepted for the fence read): the"
              + " zone does not accept dynamic updates signed with TSIG key '"
              + keyName
              + "'; allow them on the server (Knot: an acl with action update for this key on"
              + " the zone; BIND: allow-update or update-policy)",
          primary.toString(),
          zone.toString(),
          Rcode.NOTAUTH);
    }
    int rcode = response.getRcode();
    if (rcode == Rcode.NOERROR) {
      return true;
    }
    if (rcode != Rcode.NXRRSET && rcode != Rcode.YXRRSET) {
      throw new DnsException(
          primary + " answered the update of zone " + zone + " with " + Rcode.string(rcode),
          primary.toString(),
          zone.toString(),
          rcode,
          null);
    }
    FenceState now = reader.readFence(primary, true, deadline);
    if (now.token() > p.token) {
      String expected =
          p.seen.absent()
              ? "no fence record " + fenceName + " TXT (first switch)"
              : "the fence record " + fenceName + " TXT to hold token=" + p.seen.token();
      throw new DnsStaleTokenException(
          reader.fenceResource(),
          p.token,
          now.token(),
          rcode,
          p.seen.absent() ? -1 : p.seen.token(),
          "the server rejected the update's prerequisite with "
              + Rcode.string(rcode)
              + ": it expected "
              + expected
              + ", but it now holds token="
              + now.token()
              + "; nothing was changed (a delayed update from a stale active)");
    }
    return false;
  }

  private static List<String> fenceStrings(long token, String nodeId) {
    List<String> strings = new ArrayList<>();
    strings.add("token=" + token);
    if (nodeId != null && !nodeId.isBlank()) {
      String n = nodeId.length() > 200 ? nodeId.substring(0, 200) : nodeId;
      strings.add("node=" + n);
    }
    return strings;
  }
}
