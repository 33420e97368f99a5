package dev.baton.lincheck;

import java.util.Objects;

/**
 * An EDN keyword such as {@code :timed-out}, as it appears in the values of Jepsen histories. Kept
 * distinct from strings so that {@code :nil} and {@code "nil"} never compare equal.
 *
 * @param name the keyword without its leading colon
 */
public record Keyword(String name) {
  public Keyword {
    Objects.requireNonNull(name, "name");
  }

  public static Keyword of(String name) {
    return new Keyword(name.startsWith(":") ? name.substring(1) : name);
  }

  @Override
  public String toString() {
    return ":" + name;
  }
}
