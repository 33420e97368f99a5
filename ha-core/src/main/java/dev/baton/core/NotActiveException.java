package dev.baton.core;

/** The operation needs this node to be active, and it is not (or its activation is over). */
public class NotActiveException extends BatonException {
  private static final long serialVersionUID = 1L;

  public NotActiveException(String message) {
    super(message);
  }
}
