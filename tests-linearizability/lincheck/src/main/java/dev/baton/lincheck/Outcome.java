package dev.baton.lincheck;

/** How an operation ended. */
public enum Outcome {
  /** Completed and took effect; its result is known. */
  OK,
  /** Definitely did not take effect: the checker ignores it. */
  FAIL,
  /** Ended with {@code info}: it may have taken effect, at any time after its invoke. */
  INFO,
  /** Never ended (still open when the history stops): treated exactly like {@link #INFO}. */
  OPEN
}
