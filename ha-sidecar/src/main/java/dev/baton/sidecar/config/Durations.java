package dev.baton.sidecar.config;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration grammar of the YAML and the CLI: a whole number and a unit, {@code ms}, {@code
 * s}, {@code m} or {@code h}, with optional spaces between ({@code 500ms}, {@code 2s}, {@code 15
 * m}, {@code 1h}). No fractions, no compound values ({@code 1m30s}), no negative ones.
 */
public final class Durations {
  /** What to tell someone whose value is not a duration. */
  public static final String GRAMMAR = "use a whole number with ms, s, m or h, e.g. 500ms or 2s";

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private Durations() {}

  /** The duration {@code text} spells, or empty when it does not spell one (or is too large). */
  public static Optional<Duration> parse(String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      return Optional.empty();
    }
    try {
      long n = Long.parseLong(m.group(1));
      return Optional.of(
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          });
    } catch (NumberFormatException | ArithmeticException e) {
      return Optional.empty();
    }
  }
}
