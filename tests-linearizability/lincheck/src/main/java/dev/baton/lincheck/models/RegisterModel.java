package dev.baton.lincheck.models;

import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Values;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A register, optionally with compare-and-set, with Jepsen's semantics (knossos.model/register and
 * knossos.model/cas-register):
 *
 * <ul>
 *   <li>{@code read}: the completion's value is the value read. A read of {@code nil} is what
 *       {@link NilRead} says: by default (Jepsen) consistent with any state; with {@link
 *       NilRead#ABSENT}, a read that found the register absent.
 *   <li>{@code write v}: sets the value.
 *   <li>{@code cas [from to]}: an {@code ok} cas found {@code from} and set {@code to}; a failed
 *       one did not happen (the checker drops it); one with an unknown outcome either found {@code
 *       from} and set {@code to}, or did nothing.
 * </ul>
 *
 * The state is the value itself ({@code null} for absent).
 */
final class RegisterModel implements Model<Object> {
  private final boolean cas;
  private final @Nullable Object initial;
  private final NilRead nilRead;

  RegisterModel(boolean cas, @Nullable Object initial, NilRead nilRead) {
    this.cas = cas;
    this.initial = Values.normalize(initial);
    this.nilRead = Objects.requireNonNull(nilRead, "nilRead");
  }

  @Override
  public String name() {
    return cas ? "cas-register" : "register";
  }

  // The state is the value, null for an absent one: Model<S> cannot say that S may be null
  // without JSpecify's generics, which NullAway checks only in its JSpecify mode.
  @SuppressWarnings("NullAway")
  @Override
  public @Nullable Object initialState() {
    return initial;
  }

  @Override
  public @Nullable Object partitionKey(Operation op) {
    return op.key();
  }

  @Override
  public List<Object> step(@Nullable Object state, Operation op) {
    switch (op.f()) {
      case "read":
        return op.isUnknown() || nilRead.readMatches(state, op.output()) ? one(state) : List.of();
      case "write":
        return one(op.input());
      case "cas":
        if (cas) {
          if (!(op.input() instanceof List<?> fromTo) || fromTo.size() != 2) {
            throw new IllegalArgumentException("cas takes [from to], got " + op.input());
          }
          return Objects.equals(state, fromTo.get(0)) ? one(fromTo.get(1)) : List.of();
        }
      // fall through: a plain register has no cas
      default:
        throw new IllegalArgumentException(
            name() + " has read, write" + (cas ? ", cas" : "") + "; not " + op.f());
    }
  }

  /** A singleton list that may hold nil (List.of refuses null). */
  static List<@Nullable Object> one(@Nullable Object state) {
    return Collections.singletonList(state);
  }
}
