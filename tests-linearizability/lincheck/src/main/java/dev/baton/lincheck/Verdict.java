package dev.baton.lincheck;

/** The answer of a check. */
public enum Verdict {
  /** Some order of the operations is accepted by the model. */
  LINEARIZABLE,
  /** No order is: the explanation shows where every order breaks. */
  NOT_LINEARIZABLE,
  /** The budget ran out (or the check was interrupted) before an answer was found. */
  UNKNOWN
}
