package dev.baton.core;

/** The root of the exceptions Baton throws. Unchecked: callers decide what to catch. */
public class BatonException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BatonException(String message) {
    super(message);
  }

  public BatonException(String message, Throwable cause) {
    super(message, cause);
  }
}
