package dev.baton.lincheck.models;

import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Values;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A key-value store where each key holds a string: {@code get} returns it (the completion's value),
 * {@code put v} replaces it, {@code append v} concatenates {@code v} to it. Keys are independent,
 * so the checker checks each key on its own and the state here is one key's value.
 *
 * <p>Appending to an absent (nil) value gives {@code v}, as appending to the empty string does. A
 * {@code get} of {@code nil} is what {@link NilRead} says (by default, as in Jepsen's registers:
 * the value is unknown, consistent with any state).
 */
final class KvModel implements Model<Object> {
  private final @Nullable Object initial;
  private final NilRead nilRead;

  KvModel(@Nullable Object initial, NilRead nilRead) {
    this.initial = Values.normalize(initial);
    this.nilRead = Objects.requireNonNull(nilRead, "nilRead");
  }

  @Override
  public String name() {
    return "kv";
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
    return switch (op.f()) {
      case "get", "read" ->
          op.isUnknown() || nilRead.readMatches(state, op.output())
              ? RegisterModel.one(state)
              : List.of();
      case "put", "write" -> RegisterModel.one(op.input());
      case "append" -> RegisterModel.one((state == null ? "" : text(state)) + text(op.input()));
      default -> throw new IllegalArgumentException("kv has get, put, append; not " + op.f());
    };
  }

  private static String text(@Nullable Object v) {
    return v instanceof String s ? s : Values.format(v);
  }
}
