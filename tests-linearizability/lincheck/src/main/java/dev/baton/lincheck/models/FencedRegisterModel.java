package dev.baton.lincheck.models;

import dev.baton.lincheck.Keyword;
import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Values;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A register guarded by fencing tokens, the safety property of Baton's fenced writes: a write
 * carries a token and the register accepts it only if the token is at least the last accepted one.
 *
 * <ul>
 *   <li>{@code write [token value]} completed {@code ok}: accepted, so {@code token} must be at
 *       least the last accepted token; the state becomes (token, value). If the completion's value
 *       is {@code false}, {@code :rejected} or {@code "rejected"}, the write was <em>rejected</em>
 *       by the fence, which is correct only if {@code token} is below the last accepted token; the
 *       state is unchanged.
 *   <li>{@code write} that failed: did not happen (a rejection reported as {@code fail} is not
 *       checked). With an unknown outcome: accepted (if the token allows) or not, at any time.
 *   <li>{@code read}: the completion's value is the register's value; a read of {@code nil} is what
 *       {@link NilRead} says (by default, as in Jepsen's registers: consistent with any state).
 * </ul>
 */
public final class FencedRegisterModel implements Model<FencedRegisterModel.State> {

  /**
   * The register: the last accepted token ({@code null} before any) and the value.
   *
   * @param token last accepted token, or {@code null}
   * @param value current value
   */
  public record State(@Nullable Long token, @Nullable Object value) {}

  private final State initial;
  private final NilRead nilRead;

  FencedRegisterModel(@Nullable Long initialToken, @Nullable Object initialValue, NilRead nilRead) {
    this.initial = new State(initialToken, Values.normalize(initialValue));
    this.nilRead = Objects.requireNonNull(nilRead, "nilRead");
  }

  @Override
  public String name() {
    return "fenced-register";
  }

  @Override
  public State initialState() {
    return initial;
  }

  @Override
  public @Nullable Object partitionKey(Operation op) {
    return op.key();
  }

  @Override
  public List<State> step(State state, Operation op) {
    switch (op.f()) {
      case "read":
        return op.isUnknown() || nilRead.readMatches(state.value(), op.output())
            ? List.of(state)
            : List.of();
      case "write":
        if (!(op.input() instanceof List<?> tv)
            || tv.size() != 2
            || !(tv.get(0) instanceof Long token)) {
          throw new IllegalArgumentException(
              "a fenced write takes [token value] with an integer token, got "
                  + Values.format(op.input()));
        }
        boolean allowed = state.token() == null || token >= state.token();
        if (op.isOk() && isRejection(op.output())) {
          return allowed ? List.of() : List.of(state);
        }
        return allowed ? List.of(new State(token, tv.get(1))) : List.of();
      default:
        throw new IllegalArgumentException("fenced-register has read, write; not " + op.f());
    }
  }

  private static boolean isRejection(@Nullable Object output) {
    return Boolean.FALSE.equals(output)
        || new Keyword("rejected").equals(output)
        || "rejected".equals(output);
  }

  @Override
  public String describe(State state) {
    return "[token "
        + Values.format(state.token())
        + ", value "
        + Values.format(state.value())
        + "]";
  }
}
