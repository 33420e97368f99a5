package dev.baton.dns;

import org.jspecify.annotations.Nullable;

/**
 * The update was accepted, but an authoritative server did not answer with the new records and
 * fence token before the verification deadline. The message says what the server still answered.
 */
public class DnsVerificationException extends DnsException {
  private static final long serialVersionUID = 1L;

  public DnsVerificationException(
      String message, String server, String zone, @Nullable Throwable cause) {
    super(message, server, zone, -1, cause);
  }
}
