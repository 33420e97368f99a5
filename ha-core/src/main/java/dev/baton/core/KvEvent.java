package dev.baton.core;

/** A change to a watched key: a put (with the new entry) or a delete (with the last entry). */
public record KvEvent(Type type, KvEntry entry) {

  /** What happened to the key. */
  public enum Type {
    PUT,
    DELETE
  }
}
