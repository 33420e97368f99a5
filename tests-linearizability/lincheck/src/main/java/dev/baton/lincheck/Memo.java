package dev.baton.lincheck;

import java.util.Arrays;

/**
 * The set of explored configurations (linearized set, model state) of one search, packed into a few
 * flat arrays: the bitsets side by side in one {@code long[]}, the states in an {@code Object[]},
 * and an open-addressing table of indices. Compared with a {@code HashSet} of small objects this
 * holds several times more configurations in the same memory, keeps the garbage collector's work
 * small, and makes the memory budget an actual count of bytes allocated.
 */
final class Memo {
  private final int words;
  private long[] bits;
  private Object[] states;
  private int[] hashes;
  private int[] table; // index + 1 of a configuration, 0 when empty
  private int size;

  Memo(int words) {
    this.words = Math.max(1, words);
    int capacity = 1024;
    bits = new long[capacity * this.words];
    states = new Object[capacity];
    hashes = new int[capacity];
    table = new int[capacity * 2];
  }

  int size() {
    return size;
  }

  /** Bytes held by the arrays (the states themselves are counted by the caller). */
  long bytes() {
    return 8L * bits.length + 8L * states.length + 4L * hashes.length + 4L * table.length;
  }

  /** Bytes that the next growth would hold, so that the caller can refuse it beforehand. */
  long bytesAfterGrowth() {
    return 2 * bytes();
  }

  /** True when the next {@link #add} of a new configuration has to grow the arrays. */
  boolean full() {
    return size == states.length;
  }

  /**
   * Adds the configuration ({@code set}, {@code state}) whose combined hash is {@code hash}.
   *
   * @return false if it was already there
   */
  boolean add(long[] set, Object state, int hash) {
    int mask = table.length - 1;
    int slot = mix(hash) & mask;
    while (true) {
      int at = table[slot];
      if (at == 0) {
        break;
      }
      int i = at - 1;
      if (hashes[i] == hash
          && Arrays.equals(bits, i * words, i * words + words, set, 0, words)
          && states[i].equals(state)) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    if (size == states.length) {
      grow();
      return add(set, state, hash); // the table was rebuilt: find the slot again
    }
    System.arraycopy(set, 0, bits, size * words, words);
    states[size] = state;
    hashes[size] = hash;
    size++;
    table[slot] = size;
    return true;
  }

  private void grow() {
    int capacity = states.length * 2;
    if ((long) capacity * words > Integer.MAX_VALUE - 16) {
      throw new OutOfMemoryError("memo larger than an array can hold");
    }
    bits = Arrays.copyOf(bits, capacity * words);
    states = Arrays.copyOf(states, capacity);
    hashes = Arrays.copyOf(hashes, capacity);
    table = new int[capacity * 2];
    int mask = table.length - 1;
    for (int i = 0; i < size; i++) {
      int slot = mix(hashes[i]) & mask;
      while (table[slot] != 0) {
        slot = (slot + 1) & mask;
      }
      table[slot] = i + 1;
    }
  }

  private static int mix(int h) {
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }
}
