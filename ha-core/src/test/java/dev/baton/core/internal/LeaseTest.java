package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.core.Timing;
import java.time.Duration;
import java.util.List;
import java.util.Random;
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

  /**
   * Whatever the order and the lateness of the acknowledgements, the lease is never valid at or
   * after {@code length} past the send time of the latest round a majority acknowledged, and never
   * has more than {@code length} left: the bound step 1 of docs/lease.md rests on.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L, 42L})
  void neverValidLongerThanTheLengthAfterTheLatestAcknowledgedRound(long seed) {
    Random random = new Random(seed);
    long origin = Long.MAX_VALUE - 2_000 * MS; // the ticker wraps during the run
    Lease l = lease(origin);
    l.start(origin);
    long latestSent = origin;
    boolean lapsed = false;
    for (int i = 0; i < 2_000; i++) {
      now.addAndGet(random.nextInt(5) * MS);
      if (random.nextInt(500) == 0) {
        now.addAndGet(800 * MS); // a pause longer than the lease
      }
      if (random.nextBoolean()) {
        // A round sent up to 400 ms ago, acknowledged now (rounds may be acknowledged out of
        // order).
        long sent = now.get() - random.nextInt(400) * MS;
        if (l.renew(sent)) {
          latestSent = sent;
        }
      }
      lapsed |= !l.isValid();
      assertThat(l.remaining()).isLessThanOrEqualTo(LENGTH);
      if (l.isValid()) {
        assertThat(now.get() - latestSent).isLessThan(LENGTH.toNanos());
        assertThat(l.end()).isEqualTo(latestSent + LENGTH.toNanos());
        assertThat(lapsed).as("valid again after it lapsed").isFalse();
      }
    }
  }

  /**
   * The length the node gives its lease is {@code min * (1 - drift) - margin} (DESIGN.md), no more.
   */
  @Test
  void theLengthIsWhatTheArgumentAllows() {
    for (Timing t :
        List.of(
            Timing.DEFAULTS,
            Timing.scaledTo(Duration.ofMillis(100), Duration.ofMillis(150)),
            Timing.scaledTo(Duration.ofMillis(3000), Duration.ofMillis(4500)))) {
      double allowed =
          t.electionTimeoutMin().toMillis() * (1 - t.clockDrift()) - t.leaseMargin().toMillis();
      assertThat((double) t.lease().toMillis()).as("lease of " + t).isLessThanOrEqualTo(allowed);
      assertThat(t.lease()).as("lease of " + t).isPositive();
      assertThat(new Lease(clock, t.lease()).lengthNanos()).isEqualTo(t.lease().toNanos());
    }
  }

  @Test
  void aLeaseMustHaveALength() {
    assertThatThrownBy(() -> new Lease(clock, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("longer than zero");
  }
}
