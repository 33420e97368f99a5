package dev.baton.core;

import org.jspecify.annotations.Nullable;

/** The root of the exceptions Baton throws. Unchecked: callers decide what to catch. */
public class BatonException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BatonException(String message) {
    super(message);
  }

  public BatonException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
