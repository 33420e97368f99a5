package dev.baton.dns;

import org.jspecify.annotations.Nullable;

/**
 * The server did not answer (connection refused, timeout, network unreachable) on any of the
 * configured attempts. The message names {@code host:port}, the zone, the number of attempts, the
 * time spent and the last error.
 */
public class DnsUnreachableException extends DnsException {
  private static final long serialVersionUID = 1L;

  private final int attempts;

  public DnsUnreachableException(
      String message, String server, String zone, int attempts, @Nullable Throwable cause) {
    super(message, server, zone, -1, cause);
    this.attempts = attempts;
  }

  /** How many times the message was sent before giving up. */
  public int attempts() {
    return attempts;
  }
}
