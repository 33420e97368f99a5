package dev.baton.dns;

import dev.baton.core.StaleTokenException;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.xbill.DNS.Rcode;

/**
 * The DNS fence refused this node's token: the fence TXT record holds a higher one, so a newer
 * active has taken over.
 *
 * <p>Two ways to get here. Either the adapter read the fence first, saw the higher token, and sent
 * nothing ({@link #prerequisiteRcode()} is empty). Or the update was sent with a prerequisite that
 * the fence still held the token read before, and the server rejected it ({@code NXRRSET} when the
 * fence record had changed, {@code YXRRSET} when it had been created meanwhile): this is a delayed
 * update from a stale active, and the server applied none of it.
 */
public class DnsStaleTokenException extends StaleTokenException {
  private static final long serialVersionUID = 1L;

  private final int prerequisiteRcode;
  private final long expectedToken;
  private final String detail;

  DnsStaleTokenException(
      String resource,
      long offeredToken,
      long fencedToken,
      int prerequisiteRcode,
      long expectedToken,
      String detail) {
    super(resource, offeredToken, fencedToken);
    this.prerequisiteRcode = prerequisiteRcode;
    this.expectedToken = expectedToken;
    this.detail = detail;
  }

  /**
   * The response code with which the server rejected the update's prerequisite ({@code NXRRSET} or
   * {@code YXRRSET}), or empty when the adapter refused before sending.
   */
  public OptionalInt prerequisiteRcode() {
    return prerequisiteRcode < 0 ? OptionalInt.empty() : OptionalInt.of(prerequisiteRcode);
  }

  /**
   * The fence token the rejected update's prerequisite expected (empty when it expected no fence
   * record, or when nothing was sent).
   */
  public OptionalLong expectedToken() {
    return expectedToken < 0 ? OptionalLong.empty() : OptionalLong.of(expectedToken);
  }

  /** The response code as text ({@code "NXRRSET"}), or {@code "none"} when nothing was sent. */
  public String prerequisiteRcodeName() {
    return prerequisiteRcode < 0 ? "none" : Rcode.string(prerequisiteRcode);
  }

  @Override
  public String getMessage() {
    return super.getMessage() + "; " + detail;
  }
}
