package dev.baton.lincheck.models;

import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a read that completed {@code ok} with the value {@code nil} (EDN {@code nil}, JSON {@code
 * null}) says about the object.
 */
public enum NilRead {
  /**
   * Jepsen's rule (knossos.model: register, cas-register, multi-register): Jepsen records {@code
   * nil} when a read's value is not known (a crashed or timed-out read, a client that did not
   * record it), so a {@code nil} read is consistent with every state and changes none. The price: a
   * read that found the register absent cannot be told from one whose value is unknown, so a stale
   * read of "absent" is not caught. The default.
   */
  UNKNOWN,

  /**
   * {@code nil} is a value like any other: the read found the object absent. Stricter than Jepsen;
   * for histories whose recorder writes {@code nil} for "absent" and records an unknown read as
   * {@code :info} (Porcupine's etcd logs, Baton's own Jepsen-style suite).
   */
  ABSENT;

  /** The option's spelling on the command line. */
  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * {@code unknown} or {@code absent} (any case).
   *
   * @throws IllegalArgumentException for anything else, naming the value
   */
  public static NilRead parse(String s) {
    for (NilRead n : values()) {
      if (n.cliName().equalsIgnoreCase(s.trim())) {
        return n;
      }
    }
    throw new IllegalArgumentException(
        "--nil-read: expected unknown (Jepsen: a nil read matches any state) or absent (nil is a"
            + " value), got '"
            + s
            + "'");
  }

  /**
   * Whether a read that completed with {@code value} is consistent with {@code state}.
   *
   * @param state the model's value
   * @param value the value read
   */
  boolean readMatches(@Nullable Object state, @Nullable Object value) {
    return (value == null && this == UNKNOWN) || Objects.equals(state, value);
  }
}
