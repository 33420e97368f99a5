package dev.baton.core;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One key and its value, with the revision of the write that set it (the Raft log index: it only
 * grows) and the revision that created the key.
 */
public record KvEntry(String key, byte[] value, long revision, long createRevision) {

  public KvEntry {
    value = value.clone();
  }

  @Override
  public byte[] value() {
    return value.clone();
  }

  /** The value decoded as UTF-8. */
  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KvEntry other
        && key.equals(other.key)
        && Arrays.equals(value, other.value)
        && revision == other.revision
        && createRevision == other.createRevision;
  }

  @Override
  public int hashCode() {
    return (key.hashCode() * 31 + Arrays.hashCode(value)) * 31 + Long.hashCode(revision);
  }

  @Override
  public String toString() {
    return "KvEntry[" + key + "@" + revision + ", " + value.length + " bytes]";
  }
}
