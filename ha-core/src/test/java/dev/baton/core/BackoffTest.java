package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void ceilingsDoubleFromTheInitialPauseUpToTheMaximum() {
    Backoff b = Backoff.exponential(Duration.ofMillis(200), Duration.ofSeconds(5));
    assertThat(b.ceiling(1)).isEqualTo(Duration.ofMillis(200));
    assertThat(b.ceiling(2)).isEqualTo(Duration.ofMillis(400));
    assertThat(b.ceiling(5)).isEqualTo(Duration.ofMillis(3200));
    assertThat(b.ceiling(6)).isEqualTo(Duration.ofSeconds(5));
    assertThat(b.ceiling(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(5));
    // Without jitter, the pause is the ceiling.
    assertThat(b.delay(3)).isEqualTo(Duration.ofMillis(800));
  }

  @Test
  void hugeInitialsAndRetriesNeverOverflowPastTheMaximum() {
    Backoff b = Backoff.exponential(Duration.ofDays(365), Duration.ofDays(3650));
    for (int retry = 1; retry < 200; retry++) {
      assertThat(b.ceiling(retry)).isPositive().isLessThanOrEqualTo(Duration.ofDays(3650));
    }
    assertThat(b.ceiling(4)).isEqualTo(Duration.ofDays(2920));
  }

  @Test
  void equalJitterDrawsFromTheUpperHalfOfTheCeiling() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), false).withEqualJitter();
    assertThat(b.equalJitter()).isTrue();
    boolean belowCeiling = false;
    for (int i = 0; i < 2_000; i++) {
      Duration d = b.delay(2);
      assertThat(d).isBetween(Duration.ofMillis(100), Duration.ofMillis(200));
      belowCeiling |= d.compareTo(Duration.ofMillis(200)) < 0;
    }
    assertThat(belowCeiling).as("2000 draws are not all the ceiling").isTrue();
  }

  @Test
  void aZeroInitialMeansNoPause() {
    Backoff b = new Backoff(Duration.ZERO, Duration.ZERO, true);
    assertThat(b.delay(1)).isZero();
    assertThat(b.delay(30)).isZero();
  }

  @Test
  void stepPoliciesBackOffWithEqualJitterBetweenTheirBounds() {
    Backoff b = StepPolicy.mustSucceed().backoff();
    assertThat(b).isEqualTo(new Backoff(Duration.ofMillis(200), Duration.ofSeconds(5), true));
  }

  @Test
  void badBoundsAndRetriesAreRefusedByName() {
    assertThatThrownBy(() -> Backoff.exponential(Duration.ofMillis(-1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backoff initial")
        .hasMessageContaining("PT-0.001S");
    assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backoff max (PT1S)")
        .hasMessageContaining("initial (PT2S)");
    assertThatThrownBy(() -> Backoff.exponential(Duration.ZERO, Duration.ZERO).ceiling(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("retry must be at least 1, was 0");
  }
}
