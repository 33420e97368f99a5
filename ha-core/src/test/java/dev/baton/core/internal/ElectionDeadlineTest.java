package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The follower's election deadline (issue 33): due between {@code min} and {@code max} of silence
 * after the last leader RPC, drawn anew for each silence, never before {@code min}; after a late
 * look, due a fresh timeout later. Time is moved by hand.
 */
class ElectionDeadlineTest {
  private static final long MS = 1_000_000L;
  private static final long MIN = 800 * MS;
  private static final long MAX = 1200 * MS;

  @Test
  void theElectionIsDueBetweenMinAndMaxOfSilenceAndNeverBeforeMin() {
    Random random = new Random(33);
    ElectionDeadline d = new ElectionDeadline(MIN, MAX, random::nextLong);
    for (int i = 0; i < 10_000; i++) {
      Object rpc = new Object();
      // Looked at right after the RPC: wait until the drawn timeout.
      long wait = d.waitNanos(rpc, 0);
      assertThat(wait).isBetween(MIN, MAX);
      assertThat(d.dueAtSilence()).isEqualTo(wait);
      // Looked at again later in the same silence: the same deadline, counted from the RPC.
      assertThat(d.waitNanos(rpc, 300 * MS)).isEqualTo(wait - 300 * MS);
      assertThat(d.waitNanos(rpc, MIN - 1)).isPositive();
      assertThat(d.waitNanos(rpc, wait)).isZero();
    }
  }

  @Test
  void theDrawnTimeoutsCoverTheRangeUniformly() {
    Random random = new Random(7);
    ElectionDeadline d = new ElectionDeadline(MIN, MAX, random::nextLong);
    int[] buckets = new int[4];
    for (int i = 0; i < 40_000; i++) {
      long t = d.waitNanos(new Object(), 0);
      buckets[(int) Math.min(3, (t - MIN) / ((MAX - MIN) / 4))]++;
    }
    for (int b : buckets) {
      assertThat(b).isBetween(9_000, 11_000);
    }
  }

  @Test
  void aNewRpcDrawsANewDeadlineCountedFromIt() {
    long[] draws = {0, 400 * MS};
    int[] n = {0};
    ElectionDeadline d = new ElectionDeadline(MIN, MAX, () -> draws[n[0]++ % 2]);
    Object first = new Object();
    assertThat(d.waitNanos(first, 0)).isEqualTo(MIN);
    assertThat(d.waitNanos(first, 700 * MS)).isEqualTo(100 * MS);
    // A heartbeat arrived: silence starts again, with a new draw.
    Object second = new Object();
    assertThat(d.waitNanos(second, 10 * MS)).isEqualTo(MIN + 400 * MS - 10 * MS);
  }

  @Test
  void aLateLookIsFollowedByAFreshTimeoutFromThatLook() {
    ElectionDeadline d = new ElectionDeadline(MIN, MAX, () -> 0);
    Object rpc = new Object();
    assertThat(d.waitNanos(rpc, 0)).isEqualTo(MIN);
    // The thread woke 900 ms after it should have (a pause): no election now, one MIN later.
    d.deferFrom(MIN + 900 * MS);
    assertThat(d.waitNanos(rpc, MIN + 900 * MS)).isEqualTo(MIN);
    assertThat(d.dueAtSilence()).isEqualTo(2 * MIN + 900 * MS);
  }

  @Test
  void equalMinAndMaxGiveThatTimeoutAndABadRangeIsRefused() {
    ElectionDeadline d = new ElectionDeadline(MIN, MIN, () -> 12345);
    assertThat(d.waitNanos(new Object(), 0)).isEqualTo(MIN);
    assertThatThrownBy(() -> new ElectionDeadline(MAX, MIN, () -> 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("min <= max");
    assertThatThrownBy(() -> new ElectionDeadline(0, MIN, () -> 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
