package dev.baton.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The CLI reads durations with the YAML's grammar, hours included, and names a bad value. */
class DurationConverterTest {
  private final DurationConverter converter = new DurationConverter();

  @Test
  void theYamlsGrammarHoursIncluded() {
    assertThat(converter.convert("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(converter.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(converter.convert("15 s")).isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void aBadValueIsNamedWithTheGrammar() {
    assertThatThrownBy(() -> converter.convert("99999999999999999999s"))
        .isInstanceOf(CommandLine.TypeConversionException.class)
        .hasMessage(
            "'99999999999999999999s' is not a duration; use a whole number with ms, s, m or h,"
                + " e.g. 500ms or 2s");
  }
}
