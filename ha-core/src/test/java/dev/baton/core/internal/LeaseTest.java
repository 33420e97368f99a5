package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The lease arithmetic of docs/lease.md step 1 on a ticker the test moves by hand: from the time a
 * round was sent, forward only, never revived, and indifferent to where the ticker's origin is
 * (values near {@code Long.MAX_VALUE} wrap).
 */
class LeaseTest {
  private static final Duration LENGTH = Duration.ofMillis(692);
  private static final long MS = 1_000_000L;

  private final AtomicLong now = new AtomicLong();
  private final MonotonicClock clock = MonotonicClock.of(now::get);

  private Lease lease(long origin) {
    now.set(origin);
    return new Lease(clock, LENGTH);
  }

  @ParameterizedTest(name = "ticker origin {0}")
  @ValueSource(longs = {0L, -5_000_000_000L, Long.MAX_VALUE - 300 * MS})
  void runsFromTheTimeTheRoundWasSentNotFromTheAcknowledgement(long origin) {
    Lease l = lease(origin);
    assertThat(l.isValid()).as("lapsed until started").isFalse();
    long sent = origin;
    now.set(origin + 200 * MS); // the activation entry committed 200 ms after it was sent
    l.start(sent);
    assertThat(l.isValid()).isTrue();
    assertThat(l.remaining()).isEqualTo(Duration.ofMillis(492));
    now.set(sent + LENGTH.toNanos() - 1);
    assertThat(l.isValid()).isTrue();
    now.set(sent + LENGTH.toNanos());
    assertThat(l.isValid()).as("ends exactly at sent + length").isFalse();
    assertThat(l.remaining()).isEqualTo(Duration.ZERO);
  }

  @ParameterizedTest(name = "ticker origin {0}")
  @ValueSource(longs = {0L, Long.MAX_VALUE - 300 * MS})
  void aRenewalMovesTheEndForwardAndALateAcknowledgementOfAnOlderRoundNeverMovesItBack(
      long origin) {
    Lease l = lease(origin);
    l.start(origin);
    now.set(origin + 300 * MS);
    assertThat(l.renew(origin + 150 * MS)).isTrue();
    assertThat(l.end()).isEqualTo(origin + 150 * MS + LENGTH.toNanos());
    // The acknowledgement of a round sent before the one that last renewed arrives late.
    assertThat(l.renew(origin + 100 * MS)).isFalse();
    assertThat(l.end()).isEqualTo(origin + 150 * MS + LENGTH.toNanos());
  }

  @Test
  void aLapsedLeaseIsNeverRevivedEvenByARoundSentWhileItWasValid() {
    Lease l = lease(0);
    l.start(0);
    now.set(LENGTH.toNanos() + 50 * MS); // a pause: the acknowledgement arrives after the end
    assertThat(l.isValid()).isFalse();
    assertThat(l.renew(LENGTH.toNanos() - 10 * MS)).isFalse();
    assertThat(l.isValid()).isFalse();
    // Only a new activation starts a lease again.
    l.start(now.get());
    assertThat(l.isValid()).isTrue();
  }

  @Test
  void theDemotionReserveIsMeasuredFromTheEnd() {
    Lease l = lease(0);
    l.start(0);
    long reserve = 250 * MS;
    assertThat(l.endsWithin(LENGTH.toNanos() - reserve - 1, reserve)).isFalse();
    assertThat(l.endsWithin(LENGTH.toNanos() - reserve + 1, reserve)).isTrue();
    assertThat(l.endsWithin(LENGTH.toNanos() + 1, reserve)).isTrue();
  }

  @Test
  void aLeaseMustHaveALength() {
    assertThatThrownBy(() -> new Lease(clock, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longer than zero");
  }
}
