package dev.baton.dns;

import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Name;
import org.xbill.DNS.TSIG;

/** The TSIG (RFC 8945) HMAC algorithms Baton can sign updates with. */
public enum TsigAlgorithm {
  HMAC_MD5("hmac-md5", TSIG.HMAC_MD5),
  HMAC_SHA1("hmac-sha1", TSIG.HMAC_SHA1),
  HMAC_SHA224("hmac-sha224", TSIG.HMAC_SHA224),
  HMAC_SHA256("hmac-sha256", TSIG.HMAC_SHA256),
  HMAC_SHA384("hmac-sha384", TSIG.HMAC_SHA384),
  HMAC_SHA512("hmac-sha512", TSIG.HMAC_SHA512);

  private final String bindName;
  private final Name wireName;

  TsigAlgorithm(String bindName, Name wireName) {
    this.bindName = bindName;
    this.wireName = wireName;
  }

  /** The name BIND's configuration and {@code tsig-keygen -a} use, e.g. {@code hmac-sha256}. */
  public String bindName() {
    return bindName;
  }

  Name wireName() {
    return wireName;
  }

  /**
   * Parses an algorithm as BIND, Knot or nsupdate spell it: {@code hmac-sha256}, {@code
   * HMAC-SHA256}, {@code hmac_sha256}, {@code hmac-md5.sig-alg.reg.int}.
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static TsigAlgorithm parse(@Nullable String text) {
    if (text == null) {
      throw new IllegalArgumentException("TSIG algorithm is missing");
    }
    String t = text.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    if (t.endsWith(".")) {
      t = t.substring(0, t.length() - 1);
    }
    if (t.equals("hmac-md5.sig-alg.reg.int")) {
      return HMAC_MD5;
    }
    for (TsigAlgorithm a : values()) {
      if (a.bindName.equals(t)) {
        return a;
      }
    }
    throw new IllegalArgumentException(
        "unknown TSIG algorithm '"
            + text
            + "' (accepted: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384,"
            + " hmac-sha512)");
  }

  @Override
  public String toString() {
    return bindName;
  }
}
