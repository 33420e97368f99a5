package dev.baton.sidecar.cli;

import dev.baton.sidecar.config.Durations;
import java.time.Duration;
import picocli.CommandLine;

/**
 * The YAML's duration grammar ({@link Durations}) for options: {@code 500ms}, {@code 15s}, {@code
 * 2m}, {@code 1h}.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    return Durations.parse(value)
        .orElseThrow(
            () ->
                new CommandLine.TypeConversionException(
                    "'" + value + "' is not a duration; " + Durations.GRAMMAR));
  }
}
