package dev.baton.lincheck;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Canonical forms for operation values, so that a value read from EDN, from JSON or passed to the
 * recorder compares equal whatever its origin: every integral number becomes a {@link Long} (or a
 * {@link BigInteger} when it does not fit), every floating number a {@link Double}, and collections
 * become unmodifiable lists, sets and maps of canonical values.
 */
public final class Values {
  private Values() {}

  /** Returns the canonical form of {@code value} (see the class comment). */
  public static @Nullable Object normalize(@Nullable Object value) {
    if (value == null
        || value instanceof Long
        || value instanceof String
        || value instanceof Boolean
        || value instanceof Keyword) {
      return value;
    }
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    if (value instanceof BigInteger big) {
      return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }
    if (value instanceof Float f) {
      return f.doubleValue();
    }
    if (value instanceof BigDecimal dec) {
      return dec.doubleValue();
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object o : list) {
        out.add(normalize(o));
      }
      return Collections.unmodifiableList(out);
    }
    if (value instanceof Set<?> set) {
      Set<Object> out = new LinkedHashSet<>();
      for (Object o : set) {
        out.add(normalize(o));
      }
      return Collections.unmodifiableSet(out);
    }
    if (value instanceof Map<?, ?> map) {
      Map<Object, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        out.put(normalize(e.getKey()), normalize(e.getValue()));
      }
      return Collections.unmodifiableMap(out);
    }
    if (value instanceof Object[] array) {
      return normalize(java.util.Arrays.asList(array));
    }
    return value;
  }

  /** Renders a value the way EDN (and Jepsen's logs) write it: {@code nil}, {@code [1 2]}, … */
  public static String format(@Nullable Object value) {
    StringBuilder sb = new StringBuilder();
    format(value, sb);
    return sb.toString();
  }

  private static void format(@Nullable Object value, StringBuilder sb) {
    if (value == null) {
      sb.append("nil");
    } else if (value instanceof String s) {
      sb.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"' -> sb.append("\\\"");
          case '\\' -> sb.append("\\\\");
          case '\n' -> sb.append("\\n");
          case '\r' -> sb.append("\\r");
          case '\t' -> sb.append("\\t");
          default -> sb.append(c);
        }
      }
      sb.append('"');
    } else if (value instanceof List<?> list) {
      sb.append('[');
      appendAll(list.iterator(), sb);
      sb.append(']');
    } else if (value instanceof Set<?> set) {
      sb.append("#{");
      appendAll(set.iterator(), sb);
      sb.append('}');
    } else if (value instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        format(e.getKey(), sb);
        sb.append(' ');
        format(e.getValue(), sb);
      }
      sb.append('}');
    } else if (value instanceof BigInteger big) {
      sb.append(big).append('N');
    } else {
      sb.append(value);
    }
  }

  private static void appendAll(Iterator<?> it, StringBuilder sb) {
    boolean first = true;
    while (it.hasNext()) {
      if (!first) {
        sb.append(' ');
      }
      first = false;
      format(it.next(), sb);
    }
  }
}
