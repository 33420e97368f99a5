package dev.baton.dns;

/**
 * The server refused the operation: {@code REFUSED} (the zone does not allow updates with this key:
 * see {@code allow-update} or {@code update-policy}), {@code NOTAUTH} (the server is not
 * authoritative for the zone) or {@code NOTZONE} (a name lies outside the zone). Retrying does not
 * help: the server's or the adapter's configuration must change.
 */
public class DnsRefusedException extends DnsException {
  private static final long serialVersionUID = 1L;

  public DnsRefusedException(String message, String server, String zone, int rcode) {
    super(message, server, zone, rcode, null);
  }
}
