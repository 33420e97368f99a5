package dev.baton.lincheck.models;

import dev.baton.lincheck.Model;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The built-in models. Each takes an initial state; each treats operations on different keys as
 * independent (operations without a key all belong to one object). The models with reads take a
 * {@link NilRead}: what a read of {@code nil} means (by default Jepsen's rule, {@link
 * NilRead#UNKNOWN}: consistent with any state).
 *
 * <table>
 *   <caption>Models and their operations</caption>
 *   <tr><th>name</th><th>operations</th><th>default initial</th></tr>
 *   <tr><td>{@code register}</td><td>read, write</td><td>nil (absent)</td></tr>
 *   <tr><td>{@code cas-register}</td><td>read, write, cas [from to]</td><td>nil (absent)</td></tr>
 *   <tr><td>{@code kv}</td><td>get, put, append</td><td>"" (every key)</td></tr>
 *   <tr><td>{@code mutex}</td><td>acquire, release</td><td>false (free)</td></tr>
 *   <tr><td>{@code fenced-register}</td><td>read, write [token value]</td><td>[nil nil]</td></tr>
 * </table>
 */
public final class Models {
  private Models() {}

  /** The names {@link #byName} accepts. */
  public static final List<String> NAMES =
      List.of("register", "cas-register", "kv", "mutex", "fenced-register");

  /**
   * A read/write register starting at {@code initial} ({@code null}: absent), as Jepsen's {@code
   * knossos.model/register}: a read of {@code nil} is consistent with any state.
   */
  public static Model<Object> register(@Nullable Object initial) {
    return register(initial, NilRead.UNKNOWN);
  }

  /** A read/write register starting at {@code initial}; {@code nilRead}: what a nil read means. */
  public static Model<Object> register(@Nullable Object initial, NilRead nilRead) {
    return new RegisterModel(false, initial, nilRead);
  }

  /**
   * A read/write/compare-and-set register starting at {@code initial} ({@code null}: absent), as
   * Jepsen's {@code knossos.model/cas-register}: a read of {@code nil} is consistent with any
   * state.
   */
  public static Model<Object> casRegister(@Nullable Object initial) {
    return casRegister(initial, NilRead.UNKNOWN);
  }

  /**
   * A read/write/compare-and-set register starting at {@code initial}; {@code nilRead}: what a nil
   * read means.
   */
  public static Model<Object> casRegister(@Nullable Object initial, NilRead nilRead) {
    return new RegisterModel(true, initial, nilRead);
  }

  /**
   * A key-value store with get/put/append; every key starts at {@code initial}; a get of {@code
   * nil} is consistent with any value.
   */
  public static Model<Object> kv(@Nullable Object initial) {
    return kv(initial, NilRead.UNKNOWN);
  }

  /** A key-value store; {@code nilRead}: what a get of nil means. */
  public static Model<Object> kv(@Nullable Object initial, NilRead nilRead) {
    return new KvModel(initial, nilRead);
  }

  /** A lock with acquire/release, initially held when {@code locked}. */
  public static Model<Boolean> mutex(boolean locked) {
    return new MutexModel(locked);
  }

  /**
   * A register whose writes carry a fencing token: a write is accepted only if its token is at
   * least the last accepted one.
   *
   * @param initialToken the last accepted token before the history, or {@code null} for none
   * @param initialValue the value before the history
   */
  public static Model<FencedRegisterModel.State> fencedRegister(
      @Nullable Long initialToken, @Nullable Object initialValue) {
    return fencedRegister(initialToken, initialValue, NilRead.UNKNOWN);
  }

  /**
   * A fenced register (see {@link #fencedRegister(Long, Object)}); {@code nilRead}: what a read of
   * nil means.
   */
  public static Model<FencedRegisterModel.State> fencedRegister(
      @Nullable Long initialToken, @Nullable Object initialValue, NilRead nilRead) {
    return new FencedRegisterModel(initialToken, initialValue, nilRead);
  }

  /**
   * The model called {@code name} (one of {@link #NAMES}), with {@code initial} as its initial
   * value, already parsed (an EDN value: {@code nil}, {@code 0}, {@code ""}, {@code [3 nil]}); pass
   * {@link #DEFAULT_INITIAL} for the model's default.
   *
   * @throws IllegalArgumentException for an unknown name or an initial value of the wrong shape
   */
  public static Model<?> byName(String name, @Nullable Object initial) {
    return byName(name, initial, NilRead.UNKNOWN);
  }

  /**
   * As {@link #byName(String, Object)}, with {@code nilRead} for the models that have reads
   * (register, cas-register, kv, fenced-register; the mutex has none and ignores it).
   */
  public static Model<?> byName(String name, @Nullable Object initial, NilRead nilRead) {
    boolean dflt = initial == DEFAULT_INITIAL;
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "register" -> register(dflt ? null : initial, nilRead);
      case "cas-register", "cas" -> casRegister(dflt ? null : initial, nilRead);
      case "kv" -> kv(dflt ? "" : initial, nilRead);
      case "mutex" -> {
        if (dflt || initial == null) {
          yield mutex(false);
        }
        if (initial instanceof Boolean b) {
          yield mutex(b);
        }
        throw new IllegalArgumentException(
            "mutex: the initial state is true (held) or false (free), not " + initial);
      }
      case "fenced-register", "fenced" -> {
        if (dflt || initial == null) {
          yield fencedRegister(null, null, nilRead);
        }
        if (initial instanceof List<?> pair
            && pair.size() == 2
            && (pair.get(0) == null || pair.get(0) instanceof Long)) {
          yield fencedRegister((Long) pair.get(0), pair.get(1), nilRead);
        }
        throw new IllegalArgumentException(
            "fenced-register: the initial state is [token value], e.g. [0 nil], not " + initial);
      }
      default ->
          throw new IllegalArgumentException(
              "unknown model '" + name + "'; known models: " + String.join(", ", NAMES));
    };
  }

  /** Marker for {@link #byName}: use the model's default initial state. */
  public static final Object DEFAULT_INITIAL = new Object();
}
