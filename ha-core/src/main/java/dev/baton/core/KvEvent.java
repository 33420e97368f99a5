package dev.baton.core;

/**
 * A change to a watched key.
 *
 * @param type a put or a delete
 * @param entry the new entry (put) or the last entry before the key was deleted (delete)
 * @param revision the revision of this change (for a delete, the revision of the delete itself)
 */
public record KvEvent(Type type, KvEntry entry, long revision) {

  /** What happened to the key. */
  public enum Type {
    PUT,
    DELETE
  }
}
