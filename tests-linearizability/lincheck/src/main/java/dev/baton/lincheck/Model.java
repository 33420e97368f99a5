package dev.baton.lincheck;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A sequential specification: what a single, atomic copy of the object would do. The checker
 * searches for an order of the history's operations that this specification accepts.
 *
 * <p>States must be immutable and implement {@code equals} and {@code hashCode} by value (records
 * do): the checker memoises (set of linearised operations, state) pairs, and two equal states must
 * be interchangeable.
 *
 * <p>{@link #step} is called with operations that completed {@code ok} (their {@link
 * Operation#output()} is the observed result and must be checked) and with operations whose outcome
 * is unknown ({@link Operation#isUnknown()}: their output says nothing, and the step should return
 * every state the operation could have led to if it took effect). Failed operations are never
 * passed: they did not happen.
 *
 * <p>Built-in models are in {@link dev.baton.lincheck.models.Models}. A user model:
 *
 * <pre>{@code
 * Model<Long> counter = new Model<>() {
 *   public String name() { return "counter"; }
 *   public Long initialState() { return 0L; }
 *   public List<Long> step(Long n, Operation op) {
 *     return switch (op.f()) {
 *       case "add" -> List.of(n + (Long) op.input());
 *       case "read" -> op.isUnknown() || n.equals(op.output()) ? List.of(n) : List.of();
 *       default -> throw new IllegalArgumentException("counter has no " + op.f());
 *     };
 *   }
 * };
 * }</pre>
 *
 * @param <S> the state type
 */
public interface Model<S> {

  /** A short name used in reports. */
  String name();

  /** The state before any operation. */
  S initialState();

  /**
   * The states the object can be in after {@code op} is applied atomically in {@code state}.
   *
   * @return the empty list when {@code op} cannot take effect in {@code state} with the result that
   *     was observed; one state for a deterministic object; several when the specification allows
   *     several outcomes
   * @throws IllegalArgumentException when the model does not know {@code op.f()} or its value has
   *     the wrong shape
   */
  List<S> step(S state, Operation op);

  /**
   * The independent part of the object that {@code op} touches, or {@code null} when operations are
   * not independent. Operations on different keys must commute and never observe each other; the
   * checker then checks each key's sub-history on its own, from {@link #initialState()}, which is
   * exact (linearizability is local: Herlihy &amp; Wing 1990) and far cheaper.
   */
  default @Nullable Object partitionKey(Operation op) {
    return null;
  }

  /** Renders a state for explanations; by default its {@code toString}. */
  default String describe(S state) {
    return Values.format(state);
  }
}
