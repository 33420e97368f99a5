package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The hold-down of failback by priority with a fake {@link Ticker} the test advances by hand: a
 * higher-priority member is chosen only after the whole hold-down without a break, never one of
 * equal or lower priority, and any break (not ready, missing, a new health record, a new
 * activation, maintenance) starts it again.
 */
class FailbackHoldDownTest {
  private static final Duration HOLD = Duration.ofSeconds(30);
  private static final long TOKEN = 17;

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final Ticker ticker = nanos::get;
  private final FailbackHoldDown tracker = new FailbackHoldDown("n2", HOLD, ticker);

  private void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  private static FailbackHoldDown.Candidate ready(String id, int priority, long revision) {
    return new FailbackHoldDown.Candidate(id, priority, "", revision);
  }

  private static FailbackHoldDown.Candidate down(String id, int priority, long revision) {
    return new FailbackHoldDown.Candidate(id, priority, "down: no answer to the leader", revision);
  }

  @Test
  void aHigherPriorityMemberIsChosenOnlyOnceTheWholeHoldDownHasPassed() {
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    advance(HOLD.minusMillis(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    assertThat(tracker.heldFor("n1")).contains(HOLD.minusMillis(1));
    advance(Duration.ofMillis(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)))).contains("n1");
  }

  @Test
  void equalAndLowerPrioritiesAreNeverChosen() {
    List<FailbackHoldDown.Candidate> peers = List.of(ready("n1", 1, 0), ready("n3", 0, 0));
    tracker.look(TOKEN, 1, peers);
    advance(HOLD.multipliedBy(10));
    assertThat(tracker.look(TOKEN, 1, peers)).isEmpty();
    assertThat(tracker.heldFor("n1")).isEmpty();
    assertThat(tracker.heldFor("n3")).isEmpty();
  }

  @Test
  void aMemberThatIsNotReadyOrMissingInTheWindowStartsItsHoldDownAgain() {
    tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)));
    advance(HOLD.minusSeconds(1));
    // Down (or behind, or unhealthy) at one look: broken.
    assertThat(tracker.look(TOKEN, 1, List.of(down("n1", 2, 5)))).isEmpty();
    assertThat(tracker.heldFor("n1")).isEmpty();
    tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)));
    advance(HOLD.minusSeconds(1));
    // Missing from a look (no longer an eligible member, say): broken too.
    assertThat(tracker.look(TOKEN, 1, List.of())).isEmpty();
    tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)));
    advance(HOLD.minusSeconds(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    advance(Duration.ofSeconds(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)))).contains("n1");
  }

  @Test
  void aFlapBetweenTwoLooksShowsAsANewHealthRecordAndStartsTheHoldDownAgain() {
    tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)));
    advance(HOLD.minusSeconds(1));
    // Unhealthy at revision 6 and healthy again at 7, both between two looks.
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 7)))).isEmpty();
    assertThat(tracker.heldFor("n1")).contains(Duration.ZERO);
    advance(HOLD.minusMillis(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 7)))).isEmpty();
    advance(Duration.ofMillis(1));
    assertThat(tracker.look(TOKEN, 1, List.of(ready("n1", 2, 7)))).contains("n1");
  }

  @Test
  void aNewActivationOrMaintenanceStartsEveryHoldDownAgain() {
    tracker.look(TOKEN, 1, List.of(ready("n1", 2, 5)));
    advance(HOLD.minusSeconds(1));
    assertThat(tracker.look(TOKEN + 5, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    advance(HOLD.minusSeconds(1));
    assertThat(tracker.look(TOKEN + 5, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    tracker.clear();
    advance(Duration.ofSeconds(1));
    assertThat(tracker.look(TOKEN + 5, 1, List.of(ready("n1", 2, 5)))).isEmpty();
    advance(HOLD);
    assertThat(tracker.look(TOKEN + 5, 1, List.of(ready("n1", 2, 5)))).contains("n1");
  }

  @Test
  void ofSeveralDueTheHighestPriorityWinsAndOnATieTheFirst() {
    List<FailbackHoldDown.Candidate> peers =
        List.of(ready("n3", 3, 0), ready("n1", 5, 0), ready("n4", 5, 0));
    tracker.look(TOKEN, 1, peers);
    advance(HOLD);
    assertThat(tracker.look(TOKEN, 1, peers)).contains("n1");
    // Only the lower one is due: it is chosen, rather than waiting for the higher one.
    FailbackHoldDown other = new FailbackHoldDown("n2", HOLD, ticker);
    other.look(TOKEN, 1, List.of(ready("n3", 3, 0)));
    advance(HOLD);
    assertThat(other.look(TOKEN, 1, List.of(ready("n3", 3, 0), ready("n1", 5, 0)))).contains("n3");
  }
}
