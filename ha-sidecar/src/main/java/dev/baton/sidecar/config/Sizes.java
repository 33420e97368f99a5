package dev.baton.sidecar.config;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The size grammar of the config (docs/sidecar-config.md), as {@link Durations} is for durations.
 */
final class Sizes {
  private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*(B|kB|MB|GB|KiB|MiB|GiB)?");

  private Sizes() {}

  /**
   * A size in bytes: a whole number, optionally with B, kB, MB, GB (powers of 1000) or KiB, MiB,
   * GiB (powers of 1024), e.g. {@code 16MiB}.
   */
  static long bytes(Yaml.Section s, String key, long dflt) {
    Optional<String> v = s.string(key);
    if (v.isEmpty()) {
      return dflt;
    }
    Matcher m = SIZE.matcher(v.get().trim());
    if (!m.matches()) {
      s.report(
          key,
          "'"
              + v.get()
              + "' is not a size; use a whole number of bytes, optionally with B, kB,"
              + " MB, GB, KiB, MiB or GiB, e.g. 16MiB");
      return dflt;
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2);
    long factor =
        switch (unit) {
          case "kB" -> 1000L;
          case "MB" -> 1000L * 1000;
          case "GB" -> 1000L * 1000 * 1000;
          case "KiB" -> 1024L;
          case "MiB" -> 1024L * 1024;
          case "GiB" -> 1024L * 1024 * 1024;
          default -> 1L;
        };
    return Math.multiplyExact(n, factor);
  }
}
