package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules of the heartbeat lease's source ({@link HeartbeatAcks}) on a ticker moved by hand: a
 * majority counting the leader, this term only, never backwards, joint configurations, wrapping
 * readings. The same source on real Ratis nodes: {@code HeartbeatAcksClusterTest}.
 */
class HeartbeatAcksTest {
  private static final long MS = 1_000_000L;
  private static final List<String> THREE = List.of("n1", "n2", "n3");
  private static final List<String> FIVE = List.of("n1", "n2", "n3", "n4", "n5");

  private final AtomicLong now = new AtomicLong();
  private final HeartbeatAcks acks = new HeartbeatAcks(MonotonicClock.of(now::get), "n1");

  private OptionalLong value(long term, List<String> voters) {
    return acks.majorityAckedSendTime(term, voters, List.of());
  }

  @ParameterizedTest(name = "ticker origin {0}")
  @ValueSource(longs = {0L, -5_000_000_000L, Long.MAX_VALUE - 300 * MS})
  void theLeaderAndOneFollowerOfThreeAreAMajorityAndTheLatestSuchSendTimeCounts(long o) {
    now.set(o + 1000 * MS);
    assertThat(value(4, THREE)).as("no follower acknowledged yet").isEmpty();
    acks.acknowledged("n2", 4, o + 100 * MS);
    assertThat(value(4, THREE)).hasValue(o + 100 * MS);
    acks.acknowledged("n3", 4, o + 300 * MS);
    assertThat(value(4, THREE)).hasValue(o + 300 * MS);
    acks.acknowledged("n2", 4, o + 500 * MS); // crosses Long.MAX_VALUE for the last origin
    assertThat(value(4, THREE)).hasValue(o + 500 * MS);
  }

  @Test
  void ofFiveTheLeaderNeedsTwoFollowersAndTheSecondLatestAcknowledgementCounts() {
    now.set(1000 * MS);
    acks.acknowledged("n2", 1, 400 * MS);
    assertThat(value(1, FIVE)).isEmpty();
    acks.acknowledged("n3", 1, 200 * MS);
    assertThat(value(1, FIVE)).hasValue(200 * MS);
    acks.acknowledged("n4", 1, 300 * MS);
    assertThat(value(1, FIVE)).hasValue(300 * MS);
  }

  @Test
  void neverGoesBackwardsWithinATerm() {
    now.set(1000 * MS);
    acks.acknowledged("n2", 2, 500 * MS);
    assertThat(value(2, THREE)).hasValue(500 * MS);
    // A late acknowledgement of an older round, from the other follower.
    acks.acknowledged("n3", 2, 100 * MS);
    assertThat(value(2, THREE)).hasValue(500 * MS);
    // A new voter without acknowledgements joins: five voters need two followers.
    assertThat(value(2, FIVE)).hasValue(500 * MS);
  }

  @Test
  void aNewTermStartsFromItsOwnAcknowledgementsAndOlderTermsAreIgnored() {
    now.set(1000 * MS);
    acks.acknowledged("n2", 3, 900 * MS);
    assertThat(value(3, THREE)).hasValue(900 * MS);
    now.set(2000 * MS);
    assertThat(value(5, THREE)).as("leading again in a newer term").isEmpty();
    acks.acknowledged("n2", 3, 1500 * MS); // a late reply of the old leadership
    assertThat(value(5, THREE)).isEmpty();
    acks.acknowledged("n3", 5, 1800 * MS);
    assertThat(value(5, THREE)).hasValue(1800 * MS);
    assertThat(value(3, THREE)).as("asked about an old term").isEmpty();
  }

  @Test
  void anAcknowledgementOfANewerTermDiscardsTheOldFigures() {
    now.set(1000 * MS);
    acks.acknowledged("n2", 3, 900 * MS);
    acks.acknowledged("n3", 4, 100 * MS);
    assertThat(value(4, THREE)).hasValue(100 * MS);
  }

  @Test
  void duringAConfigurationChangeBothMajoritiesAreNeeded() {
    now.set(1000 * MS);
    List<String> old = List.of("n1", "n2", "n3");
    List<String> next = List.of("n1", "n4", "n5");
    acks.acknowledged("n2", 1, 700 * MS);
    assertThat(acks.majorityAckedSendTime(1, next, old)).isEmpty();
    acks.acknowledged("n4", 1, 600 * MS);
    assertThat(acks.majorityAckedSendTime(1, next, old)).hasValue(600 * MS);
  }

  @Test
  void aLeaderAloneIsItsOwnMajority() {
    now.set(1000 * MS);
    assertThat(value(1, List.of("n1"))).hasValue(1000 * MS);
    now.set(1200 * MS);
    assertThat(value(1, List.of("n1"))).hasValue(1200 * MS);
  }

  @Test
  void aLeaderOutsideTheConfigurationDoesNotCountItself() {
    now.set(1000 * MS);
    acks.acknowledged("n2", 1, 500 * MS);
    assertThat(value(1, List.of("n2", "n3", "n4"))).isEmpty();
    acks.acknowledged("n3", 1, 400 * MS);
    assertThat(value(1, List.of("n2", "n3", "n4"))).hasValue(400 * MS);
  }

  @Test
  void anIdleLeaderAsksOneFollowerOfTwoInTurnAndEveryoneWhenTooFewAnswered() {
    now.set(1000 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n2");
    acks.acknowledged("n2", 1, 1001 * MS);
    now.set(1150 * MS);
    assertThat(acks.choose(THREE, 1)).as("in turn").containsExactly("n3");
    acks.acknowledged("n3", 1, 1151 * MS);
    now.set(1300 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n2");
    // n2 does not answer: it is left out while n3 answers.
    now.set(1450 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n3");
    acks.acknowledged("n3", 1, 1451 * MS);
    now.set(1600 * MS);
    assertThat(acks.choose(THREE, 1)).as("n2 has not answered its last ask").containsExactly("n3");
    // n3 stops answering too: nobody responsive is left, so both are asked.
    now.set(1750 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n2", "n3");
    // n2 answers a round sent after it was asked: it is in the rotation again.
    acks.acknowledged("n2", 1, 1751 * MS);
    now.set(1900 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n2");
  }

  @Test
  void ofFiveTwoFollowersAreAskedAndTheLeaderItselfNeverIs() {
    now.set(1000 * MS);
    assertThat(acks.choose(FIVE, 2)).containsExactly("n2", "n3");
    acks.acknowledged("n2", 1, 1001 * MS);
    acks.acknowledged("n3", 1, 1001 * MS);
    now.set(1150 * MS);
    assertThat(acks.choose(FIVE, 2)).containsExactly("n4", "n5");
    assertThat(acks.choose(List.of("n1"), 1)).as("a single voter has no follower to ask").isEmpty();
  }

  @Test
  void aNewTermForgetsWhoWasAsked() {
    now.set(1000 * MS);
    assertThat(acks.choose(THREE, 1)).containsExactly("n2");
    assertThat(acks.choose(THREE, 1)).containsExactly("n3");
    now.set(1300 * MS);
    assertThat(acks.choose(THREE, 1)).as("neither answered").containsExactly("n2", "n3");
    assertThat(value(2, THREE)).isEmpty(); // leading in a newer term
    assertThat(acks.choose(THREE, 1)).hasSize(1);
  }
}
