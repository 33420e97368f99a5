package dev.baton.lincheck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.lincheck.models.Models;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BudgetTest {

  /**
   * {@code writers} concurrent writes of distinct values, then a read of a value nobody wrote: not
   * linearizable, but the search must try every subset of the writes (about writers * 2^writers
   * configurations) to know it.
   */
  static List<Event> hard(String key, int writers) {
    List<Event> events = new ArrayList<>();
    for (int p = 0; p < writers; p++) {
      events.add(Event.of(p, EventType.INVOKE, "write", key, (long) p));
    }
    for (int p = 0; p < writers; p++) {
      events.add(Event.of(p, EventType.OK, "write", key, (long) p));
    }
    events.add(Event.of(writers, EventType.INVOKE, "read", key, null));
    events.add(Event.of(writers, EventType.OK, "read", key, -1L));
    return events;
  }

  @Test
  void aSmallHardHistoryIsRefuted() {
    CheckResult r = Checker.check(History.of(hard("k", 8)), Models.register(null));
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.partitions().get(0).configurations()).isGreaterThan(256);
  }

  @Test
  void runningOutOfTimeIsUnknown() {
    CheckResult r =
        Checker.check(
            History.of(hard("k", 22)), Models.register(null), Budget.of(Duration.ZERO, 1L << 30));
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(r.reason()).startsWith("key \"k\": time budget exhausted");
    assertThat(r.elapsed()).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void runningOutOfMemoryIsUnknown() {
    CheckResult r =
        Checker.check(
            History.of(hard("k", 22)),
            Models.register(null),
            Budget.of(Duration.ofMinutes(1), 1L << 20));
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(r.reason()).contains("memory budget exhausted");
    // A packed configuration costs at least 24 bytes (one bitset word, a state reference, a hash
    // and a table slot), so 1 MiB holds well under 50,000 of them.
    assertThat(r.partitions().get(0).configurations()).isBetween(1_000L, 50_000L);
  }

  @Test
  void aQuicklyRefutedKeySettlesTheVerdictWhileAnotherIsHard() {
    List<Event> events = new ArrayList<>(hard("hard", 22));
    events.add(Event.of(100, EventType.INVOKE, "read", "easy", null));
    events.add(Event.of(100, EventType.OK, "read", "easy", 5L));
    CheckResult r =
        Checker.check(
            History.of(events), Models.register(null), Budget.of(Duration.ofMinutes(1), 1L << 30));
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.explanation().partitionKey()).isEqualTo("easy");
    PartitionResult hardPart = r.partitions().get(0);
    assertThat(hardPart.key()).isEqualTo("hard");
    assertThat(hardPart.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(hardPart.reason()).contains("key \"easy\" is not linearizable");
  }

  @Test
  void anUnknownPartitionMakesTheWholeUnknownUnlessAnotherFails() {
    List<Event> events = new ArrayList<>(hard("hard", 22));
    events.add(Event.of(100, EventType.INVOKE, "read", "easy", null));
    events.add(Event.of(100, EventType.OK, "read", "easy", null));
    CheckResult r =
        Checker.check(
            History.of(events), Models.register(null), Budget.of(Duration.ofMinutes(1), 1L << 20));
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(r.partitions())
        .extracting(PartitionResult::verdict)
        .containsExactly(Verdict.UNKNOWN, Verdict.LINEARIZABLE);
  }
}
