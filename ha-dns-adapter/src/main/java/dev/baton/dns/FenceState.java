package dev.baton.dns;

import java.util.List;
import org.xbill.DNS.TXTRecord;

/**
 * The fence TXT RRset as one server answered it: the token it holds (0 when absent) and the exact
 * records, which a compare-and-set update quotes back as its prerequisite.
 */
record FenceState(long token, List<TXTRecord> records) {
  static final FenceState ABSENT = new FenceState(0, List.of());

  boolean absent() {
    return records.isEmpty();
  }

  String describe() {
    return absent() ? "no fence record" : "token=" + token;
  }
}
