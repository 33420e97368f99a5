package dev.baton.lincheck;

import static dev.baton.lincheck.Histories.edn;
import static dev.baton.lincheck.Histories.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.lincheck.models.Models;
import dev.baton.lincheck.models.NilRead;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The corner semantics: crashes, failures, initial values, nil, duplicates, tiny histories. */
class CornerCasesTest {

  private static Verdict casRegister(Object initial, History h) {
    return Checker.check(h, Models.casRegister(initial)).verdict();
  }

  /** A cas-register where a read of nil found the register absent (NilRead.ABSENT). */
  private static Verdict absentCasRegister(Object initial, History h) {
    return Checker.check(h, Models.casRegister(initial, NilRead.ABSENT)).verdict();
  }

  @Nested
  class CrashedOperations {
    @Test
    void aCrashedWriteMayAppearLater() {
      History h =
          log(
              "0 :invoke :write 1",
              "0 :info :write :timed-out",
              "1 :invoke :read nil",
              "1 :ok :read 0",
              "1 :invoke :read nil",
              "1 :ok :read 1");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aWriteThatNeverCompletedMayAppearLater() {
      History h =
          log("0 :invoke :write 1", "1 :invoke :read nil", "1 :ok :read 1"); // p0 never returns
      assertThat(h.operations().get(0).outcome()).isEqualTo(Outcome.OPEN);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aCrashedWriteMayNeverHappen() {
      History h =
          log(
              "0 :invoke :write 1",
              "0 :info :write :timed-out",
              "1 :invoke :read nil",
              "1 :ok :read 0");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aCrashedWriteCannotTakeEffectBeforeItsInvocation() {
      History h =
          log("1 :invoke :read nil", "1 :ok :read 1", "0 :invoke :write 1", "0 :info :write nil");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aCrashedWriteTakesEffectAtMostOnce() {
      History h =
          log(
              "0 :invoke :write 1",
              "0 :info :write :timed-out",
              "1 :invoke :write 2",
              "1 :ok :write 2",
              "1 :invoke :read nil",
              "1 :ok :read 1",
              "1 :invoke :write 2",
              "1 :ok :write 2",
              "1 :invoke :read nil",
              "1 :ok :read 1");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aCrashedCasHappensOnlyIfItsComparisonHolds() {
      History fromMatches =
          log(
              "0 :invoke :cas [0 1]",
              "0 :info :cas :timed-out",
              "1 :invoke :read nil",
              "1 :ok :read 1");
      History fromDiffers =
          log(
              "0 :invoke :cas [5 1]",
              "0 :info :cas :timed-out",
              "1 :invoke :read nil",
              "1 :ok :read 1");
      assertThat(casRegister(0L, fromMatches)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, fromDiffers)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  class FailedCas {
    @Test
    void aFailedCasDidNotHappen() {
      History seen =
          log("0 :invoke :cas [0 1]", "0 :fail :cas [0 1]", "1 :invoke :read nil", "1 :ok :read 1");
      History notSeen =
          log("0 :invoke :cas [0 1]", "0 :fail :cas [0 1]", "1 :invoke :read nil", "1 :ok :read 0");
      assertThat(casRegister(0L, seen)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(casRegister(0L, notSeen)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aSuccessfulCasNeedsItsExpectedValue() {
      History good =
          log("0 :invoke :cas [0 1]", "0 :ok :cas [0 1]", "0 :invoke :read nil", "0 :ok :read 1");
      History bad = log("0 :invoke :cas [5 1]", "0 :ok :cas [5 1]");
      assertThat(casRegister(0L, good)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, bad)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  class InitialValues {
    @Test
    void aReadOfTheInitialValue() {
      History h = log("0 :invoke :read nil", "0 :ok :read 0");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aNilReadOfAnAbsentRegister() {
      History h = log("0 :invoke :read nil", "0 :ok :read nil");
      assertThat(casRegister(null, h)).isEqualTo(Verdict.LINEARIZABLE);
      // Jepsen's rule: a nil read says nothing, so it is consistent with 0 too ...
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
      // ... where nil as a value (absent) is not.
      assertThat(absentCasRegister(0L, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(absentCasRegister(null, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aNilReadAfterACompletedWriteIsStaleOnlyWhenNilMeansAbsent() {
      History stale =
          log("0 :invoke :write 1", "0 :ok :write 1", "1 :invoke :read nil", "1 :ok :read nil");
      History concurrent =
          log("0 :invoke :write 1", "1 :invoke :read nil", "1 :ok :read nil", "0 :ok :write 1");
      assertThat(absentCasRegister(null, stale)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(absentCasRegister(null, concurrent)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(Checker.check(stale, Models.register(null, NilRead.ABSENT)).verdict())
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(casRegister(null, stale)).isEqualTo(Verdict.LINEARIZABLE); // Jepsen: unknown
      assertThat(casRegister(null, concurrent)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void withNilAsAValueTheOtherModelsCatchAStaleNilRead() {
      History kv =
          edn(
              """
              {:process 0, :type :invoke, :f :put, :key "x", :value "a"}
              {:process 0, :type :ok, :f :put, :key "x", :value "a"}
              {:process 1, :type :invoke, :f :get, :key "x", :value nil}
              {:process 1, :type :ok, :f :get, :key "x", :value nil}
              """);
      History fenced =
          edn(
              """
              {:process 0, :type :invoke, :f :write, :value [1 "a"]}
              {:process 0, :type :ok, :f :write, :value [1 "a"]}
              {:process 1, :type :invoke, :f :read, :value nil}
              {:process 1, :type :ok, :f :read, :value nil}
              """);
      assertThat(Checker.check(kv, Models.kv(null, NilRead.ABSENT)).verdict())
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(Checker.check(fenced, Models.fencedRegister(null, null, NilRead.ABSENT)).verdict())
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(Checker.check(kv, Models.kv(null)).verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void nilIsDistinctFromEveryValue() {
      History h = log("0 :invoke :read nil", "0 :ok :read \"nil\"");
      assertThat(casRegister(null, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(absentCasRegister(null, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  class IdenticalWrites {
    // Reads see 1, then 2, then 1 again while three writes are in flight: only possible if both
    // writes of 1 count, one before and one after the write of 2.
    private final String twoWritesOfOne =
        """
        {:process 0, :type :invoke, :f :write, :value 1, :time 0}
        {:process 1, :type :invoke, :f :write, :value 1, :time 0}
        {:process 2, :type :invoke, :f :write, :value 2, :time 0}
        {:process 3, :type :invoke, :f :read, :value nil, :time 10}
        {:process 3, :type :ok, :f :read, :value 1, :time 20}
        {:process 3, :type :invoke, :f :read, :value nil, :time 30}
        {:process 3, :type :ok, :f :read, :value 2, :time 40}
        {:process 3, :type :invoke, :f :read, :value nil, :time 50}
        {:process 3, :type :ok, :f :read, :value 1, :time 60}
        {:process 0, :type :ok, :f :write, :value 1, :time 100}
        {:process 2, :type :ok, :f :write, :value 2, :time 100}
        """;

    @Test
    void concurrentIdenticalWritesAreTwoOperations() {
      History both =
          edn(twoWritesOfOne + "{:process 1, :type :ok, :f :write, :value 1, :time 100}");
      History one =
          edn(twoWritesOfOne + "{:process 1, :type :fail, :f :write, :value 1, :time 100}");
      assertThat(casRegister(0L, both)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, one)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void concurrentIdenticalWritesThenARead() {
      History h =
          log(
              "0 :invoke :write 7",
              "1 :invoke :write 7",
              "0 :ok :write 7",
              "1 :ok :write 7",
              "2 :invoke :read nil",
              "2 :ok :read 7");
      assertThat(casRegister(null, h)).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  class TinyHistories {
    @Test
    void theEmptyHistoryIsLinearizable() {
      CheckResult r = Checker.check(History.empty(), Models.casRegister(null));
      assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(r.operationCount()).isZero();
      assertThat(r.partitions()).isEmpty();
      assertThat(r.explanation()).isNull();
    }

    @Test
    void singleOperations() {
      assertThat(casRegister(null, log("0 :invoke :write 1", "0 :ok :write 1")))
          .isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, log("0 :invoke :write 1", "0 :fail :write 1")))
          .isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, log("0 :invoke :write 1", "0 :info :write 1")))
          .isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, log("0 :invoke :read nil"))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, log("0 :invoke :read nil", "0 :ok :read 5")))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aSingleImpossibleOperationIsExplained() {
      CheckResult r =
          Checker.check(log("0 :invoke :read nil", "0 :ok :read 5"), Models.casRegister(null));
      Explanation e = r.explanation();
      assertThat(e.longestPrefix()).isEmpty();
      assertThat(e.stateAfterPrefix()).isEqualTo("nil");
      assertThat(e.unorderable()).singleElement().extracting(Operation::output).isEqualTo(5L);
    }
  }

  @Nested
  class Timing {
    @Test
    void equalTimestampsAreConcurrent() {
      // The read returns at the instant the write is invoked: with a clock of finite resolution
      // the two may overlap, so the read of 1 is accepted.
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :read, :value nil, :time 5}
              {:process 1, :type :invoke, :f :write, :value 1, :time 20}
              {:process 0, :type :ok, :f :read, :value 1, :time 20}
              {:process 1, :type :ok, :f :write, :value 1, :time 30}
              """);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
      History later =
          edn(
              """
              {:process 0, :type :invoke, :f :read, :value nil, :time 5}
              {:process 0, :type :ok, :f :read, :value 1, :time 19}
              {:process 1, :type :invoke, :f :write, :value 1, :time 20}
              {:process 1, :type :ok, :f :write, :value 1, :time 30}
              """);
      assertThat(casRegister(0L, later)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void timesOrderEventsWrittenOutOfOrder() {
      History h =
          edn(
              """
              {:process 1, :type :ok, :f :read, :value 1, :time 40}
              {:process 0, :type :invoke, :f :write, :value 1, :time 10}
              {:process 1, :type :invoke, :f :read, :value nil, :time 30}
              {:process 0, :type :ok, :f :write, :value 1, :time 20}
              """);
      assertThat(h.isTimed()).isTrue();
      assertThat(h.events()).extracting(Event::time).containsExactly(10L, 20L, 30L, 40L);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  class Pairing {
    @Test
    void aCompletionWithoutInvocationNamesItsLine() {
      assertThatThrownBy(() -> log("0 :invoke :read nil", "0 :ok :read 1", "3 :ok :write 2"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageContaining("test.log:3")
          .hasMessageContaining("process 3 which has no operation in progress");
    }

    @Test
    void aProcessInvokingTwiceNamesBothLines() {
      assertThatThrownBy(
              () -> log("0 :invoke :read nil", "1 :invoke :read nil", "0 :invoke :write 2"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageContaining("test.log:3")
          .hasMessageContaining("from line 1");
    }

    @Test
    void aCompletionOfAnotherFunction() {
      assertThatThrownBy(() -> log("0 :invoke :read nil", "0 :ok :write 1"))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageContaining("test.log:2")
          .hasMessageContaining("completes write but invoked read");
    }

    @Test
    void programmaticEventsNameTheEvent() {
      assertThatThrownBy(() -> History.of(List.of(Event.of(0, EventType.OK, "read", 1L))))
          .isInstanceOf(HistoryFormatException.class)
          .hasMessageContaining("event 0");
    }

    @Test
    void anOperationTheModelDoesNotKnowNamesItsLine() {
      History h =
          log("0 :invoke :read nil", "0 :ok :read nil", "0 :invoke :cas [1 2]", "0 :ok :cas [1 2]");
      assertThatThrownBy(() -> Checker.check(h, Models.register(null)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("test.log:3")
          .hasMessageContaining("register has read, write; not cas");
    }
  }
}
