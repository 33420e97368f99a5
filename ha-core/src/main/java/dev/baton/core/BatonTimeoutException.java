package dev.baton.core;

/**
 * An operation did not complete within its time limit. Whether it took effect is unknown: a command
 * submitted through Raft may still be committed after this is thrown, and a switch-active may still
 * complete. Retry only what is idempotent, or read the state first.
 */
public class BatonTimeoutException extends BatonException {
  private static final long serialVersionUID = 1L;

  public BatonTimeoutException(String message) {
    super(message);
  }

  public BatonTimeoutException(String message, Throwable cause) {
    super(message, cause);
  }
}
