package dev.baton.sidecar.demo;

/** The demo cannot go on: the message says which step gave up and why. */
final class DemoFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  DemoFailure(String message) {
    super(message);
  }
}
