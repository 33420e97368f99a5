package dev.baton.dns;

import org.xbill.DNS.Rcode;

/**
 * The server did not accept the TSIG signature ({@code BADSIG}: the secret differs from the
 * server's key of that name; {@code BADKEY}: the server knows no key of that name and algorithm;
 * {@code BADTIME}: the clocks differ by more than the allowed fudge), or a reply that should have
 * been signed with the key was not. Retrying does not help: the configuration must change.
 */
public class DnsAuthenticationException extends DnsException {
  private static final long serialVersionUID = 1L;

  public DnsAuthenticationException(String message, String server, String zone, int rcode) {
    super(message, server, zone, rcode, null);
  }

  /** The TSIG error as text: {@code BADSIG}, {@code BADKEY}, {@code BADTIME} or {@code NOTAUTH}. */
  @Override
  public String rcodeName() {
    // TSIG errors share numbers with extended rcodes (16 is both BADVERS and BADSIG).
    return rcode().isPresent() ? Rcode.TSIGstring(rcode().getAsInt()) : "none";
  }
}
