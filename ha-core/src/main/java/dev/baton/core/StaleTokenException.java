package dev.baton.core;

/**
 * A fenced resource refused an effect because the token it carried is lower than the highest one
 * the resource has accepted: the caller was active once, but a newer active has taken over.
 */
public class StaleTokenException extends BatonException {
  private static final long serialVersionUID = 1L;

  private final String resource;
  private final long offeredToken;
  private final long fencedToken;

  public StaleTokenException(String resource, long offeredToken, long fencedToken) {
    super(
        "stale fencing token for "
            + resource
            + ": offered token "
            + offeredToken
            + " but the fence holds token "
            + fencedToken
            + " (a newer active has taken over)");
    this.resource = resource;
    this.offeredToken = offeredToken;
    this.fencedToken = fencedToken;
  }

  /** The fenced resource that refused. */
  public String resource() {
    return resource;
  }

  /** The token the refused effect carried. */
  public long offeredToken() {
    return offeredToken;
  }

  /** The highest token the resource had accepted when it refused. */
  public long fencedToken() {
    return fencedToken;
  }
}
