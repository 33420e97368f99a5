package dev.baton.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The one duration grammar of the YAML and the CLI. */
class DurationsTest {
  @Test
  void everyUnitAndOptionalSpaces() {
    assertThat(Durations.parse("500ms")).contains(Duration.ofMillis(500));
    assertThat(Durations.parse("2s")).contains(Duration.ofSeconds(2));
    assertThat(Durations.parse(" 15 m ")).contains(Duration.ofMinutes(15));
    assertThat(Durations.parse("1h")).contains(Duration.ofHours(1));
    assertThat(Durations.parse("0s")).contains(Duration.ZERO);
  }

  @Test
  void whatIsNotADurationIsEmptyNotAnException() {
    for (String bad :
        new String[] {
          "", "5", "1 sec", "1.5s", "-1s", "1m30s", "2d", "ms", "99999999999999999999s"
        }) {
      assertThat(Durations.parse(bad)).as("'%s'", bad).isEqualTo(Optional.empty());
    }
    // Fits a long, but not a Duration in hours.
    assertThat(Durations.parse(Long.MAX_VALUE + "h")).isEmpty();
  }
}
