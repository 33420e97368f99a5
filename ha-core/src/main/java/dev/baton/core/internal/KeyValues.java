package dev.baton.core.internal;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.internal.proto.KvEntryProto;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/** Validation and conversion of key-value entries, shared by the client side and the state. */
public final class KeyValues {
  private KeyValues() {}

  /** The reason a key or value size is not allowed, or null when both are fine. */
  public static @Nullable String validate(@Nullable String key, int valueBytes) {
    if (key == null || key.isEmpty()) {
      return "key must not be empty";
    }
    int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
    if (keyBytes > KeyValueStore.MAX_KEY_BYTES) {
      return "key '"
          + abbreviate(key)
          + "' is "
          + keyBytes
          + " bytes; at most "
          + KeyValueStore.MAX_KEY_BYTES
          + " are allowed";
    }
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (Character.isISOControl(c)) {
        return "key '"
            + abbreviate(key)
            + "' contains control character U+"
            + String.format("%04X", (int) c)
            + " at position "
            + i;
      }
    }
    if (valueBytes > KeyValueStore.MAX_VALUE_BYTES) {
      return "value for key '"
          + abbreviate(key)
          + "' is "
          + valueBytes
          + " bytes; at most "
          + KeyValueStore.MAX_VALUE_BYTES
          + " are allowed";
    }
    return null;
  }

  /** Throws IllegalArgumentException when {@link #validate} finds a problem. */
  public static void check(@Nullable String key, byte @Nullable [] value) {
    String error = validate(key, value == null ? 0 : value.length);
    if (error != null) {
      throw new IllegalArgumentException(error);
    }
  }

  public static KvEntry toEntry(KvEntryProto p) {
    return new KvEntry(
        p.getKey(), p.getValue().toByteArray(), p.getRevision(), p.getCreateRevision());
  }

  private static String abbreviate(String key) {
    String printable = key.replaceAll("\\p{Cntrl}", "?");
    return printable.length() > 40 ? printable.substring(0, 40) + "..." : printable;
  }
}
