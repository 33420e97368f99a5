package dev.baton.dns;

import dev.baton.core.BatonException;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Rcode;

/**
 * A DNS operation of the adapter failed. The message names the server ({@code host:port}), the zone
 * and, when the server answered, its response code; it never contains the TSIG secret. Subclasses
 * tell the common causes apart.
 */
public class DnsException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final String server;
  private final String zone;
  private final int rcode;

  public DnsException(
      String message, String server, String zone, int rcode, @Nullable Throwable cause) {
    super(message, cause);
    this.server = server;
    this.zone = zone;
    this.rcode = rcode;
  }

  /** The server as {@code host:port}. */
  public String server() {
    return server;
  }

  /** The zone, with the trailing dot. */
  public String zone() {
    return zone;
  }

  /**
   * The DNS response code (or TSIG error) the server answered with, if it answered: for example
   * {@code REFUSED}, {@code NOTAUTH}, {@code BADSIG}.
   */
  public OptionalInt rcode() {
    return rcode < 0 ? OptionalInt.empty() : OptionalInt.of(rcode);
  }

  /** The response code as text, or {@code "none"}. */
  public String rcodeName() {
    return rcode < 0 ? "none" : Rcode.string(rcode);
  }
}
