package dev.baton.lincheck;

import static dev.baton.lincheck.Histories.edn;
import static dev.baton.lincheck.Histories.log;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.lincheck.io.HistoryFiles;
import dev.baton.lincheck.models.Models;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Jepsen's meaning of a read whose value is {@code nil} (knossos.model: register, cas-register):
 * the value is unknown, so the read is consistent with any state and leaves it unchanged. Only the
 * default models are used here (the stricter {@code NilRead.ABSENT} is in {@link CornerCasesTest}).
 */
class NilReadTest {

  private static Verdict register(Object initial, History h) {
    return Checker.check(h, Models.register(initial)).verdict();
  }

  private static Verdict casRegister(Object initial, History h) {
    return Checker.check(h, Models.casRegister(initial)).verdict();
  }

  @Nested
  class InTheMiddleOfWrites {
    // p1 reads nil between two completed writes, then p1 reads the second write.
    private final History between =
        log(
            "0 :invoke :write 1",
            "0 :ok :write 1",
            "1 :invoke :read nil",
            "1 :ok :read nil",
            "0 :invoke :write 2",
            "0 :ok :write 2",
            "1 :invoke :read nil",
            "1 :ok :read 2");

    @Test
    void aNilReadBetweenWritesIsConsistent() {
      assertThat(register(0L, between)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, between)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, between)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aNilReadDoesNotChangeTheState() {
      // After write 3, a nil read, then a read of 3: the nil read left the value at 3 ...
      History kept =
          log(
              "0 :invoke :write 3",
              "0 :ok :write 3",
              "1 :invoke :read nil",
              "1 :ok :read nil",
              "1 :invoke :read nil",
              "1 :ok :read 3");
      // ... and it does not make an earlier value readable again.
      History back =
          log(
              "0 :invoke :write 3",
              "0 :ok :write 3",
              "1 :invoke :read nil",
              "1 :ok :read nil",
              "1 :invoke :read nil",
              "1 :ok :read 0");
      assertThat(casRegister(0L, kept)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, back)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aNilReadBetweenCasesIsConsistent() {
      History h =
          log(
              "0 :invoke :cas [0 1]",
              "0 :ok :cas [0 1]",
              "1 :invoke :read nil",
              "1 :ok :read nil",
              "2 :invoke :cas [1 2]",
              "2 :ok :cas [1 2]",
              "1 :invoke :read nil",
              "1 :ok :read 2");
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  class AsTheFirstOperation {
    @Test
    void aRegisterStartingAtZero() {
      History h =
          log("0 :invoke :read nil", "0 :ok :read nil", "0 :invoke :read nil", "0 :ok :read 0");
      assertThat(register(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aRegisterStartingAbsent() {
      History h = log("0 :invoke :read nil", "0 :ok :read nil");
      assertThat(register(null, h)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(null, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void theIssuesExampleAnOkNilReadAgainstZero() {
      // The shape the issue reported as "cannot be ordered after ... (0 operations, state 0)".
      History h =
          edn(
              """
              {:process 12, :type :invoke, :f :read, :value nil}
              {:process 12, :type :ok, :f :read, :value nil}
              {:process 3, :type :invoke, :f :write, :value 4}
              {:process 3, :type :ok, :f :write, :value 4}
              """);
      CheckResult r = Checker.check(h, Models.casRegister(0L));
      assertThat(r.verdict()).as("%s", r.explanation()).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  class InfoReads {
    @Test
    void aNilInfoReadIsConsistentWithAnyState() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :write, :value 1}
              {:process 0, :type :ok, :f :write, :value 1}
              {:process 1, :type :invoke, :f :read, :value nil}
              {:process 1, :type :info, :f :read, :value nil}
              {:process 0, :type :invoke, :f :write, :value 2}
              {:process 0, :type :ok, :f :write, :value 2}
              {:process 2, :type :invoke, :f :read, :value nil}
              {:process 2, :type :ok, :f :read, :value 2}
              """);
      assertThat(h.operations().get(1).isUnknown()).isTrue();
      assertThat(register(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aNilInfoReadDoesNotHideAWrongRead() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :write, :value 1}
              {:process 0, :type :ok, :f :write, :value 1}
              {:process 1, :type :invoke, :f :read, :value nil}
              {:process 1, :type :info, :f :read, :value nil}
              {:process 2, :type :invoke, :f :read, :value nil}
              {:process 2, :type :ok, :f :read, :value 7}
              """);
      assertThat(casRegister(0L, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  class WrongReadsStillFail {
    @Test
    void aNonNilWrongReadIsNotLinearizable() {
      History h =
          log(
              "0 :invoke :write 1",
              "0 :ok :write 1",
              "1 :invoke :read nil",
              "1 :ok :read nil",
              "1 :invoke :read nil",
              "1 :ok :read 5");
      CheckResult r = Checker.check(h, Models.casRegister(0L));
      assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(r.explanation().unorderable()).extracting(Operation::output).containsExactly(5L);
      assertThat(register(0L, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void theStringNilIsAValue() {
      History h = log("0 :invoke :read nil", "0 :ok :read \"nil\"");
      assertThat(casRegister(null, h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }

  @Nested
  class OtherModels {
    @Test
    void kvGetOfNilIsConsistent() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :put, :key "x", :value "a"}
              {:process 0, :type :ok, :f :put, :key "x", :value "a"}
              {:process 1, :type :invoke, :f :get, :key "x", :value nil}
              {:process 1, :type :ok, :f :get, :key "x", :value nil}
              {:process 1, :type :invoke, :f :get, :key "x", :value nil}
              {:process 1, :type :ok, :f :get, :key "x", :value "a"}
              """);
      assertThat(Checker.check(h, Models.kv("")).verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void fencedRegisterReadOfNilIsConsistent() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :write, :value [1 "a"]}
              {:process 0, :type :ok, :f :write, :value [1 "a"]}
              {:process 1, :type :invoke, :f :read, :value nil}
              {:process 1, :type :ok, :f :read, :value nil}
              """);
      assertThat(Checker.check(h, Models.fencedRegister(null, null)).verdict())
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  /** The same history as EDN and as JSON Lines: the same verdict. */
  @Nested
  class JsonLinesTwin {
    private static final String EDN =
        """
        {:process 0, :type :invoke, :f :write, :value 1, :time 10}
        {:process 0, :type :ok, :f :write, :value 1, :time 20}
        {:process 1, :type :invoke, :f :read, :value nil, :time 30}
        {:process 1, :type :ok, :f :read, :value nil, :time 40}
        {:process 2, :type :invoke, :f :read, :value nil, :time 50}
        {:process 2, :type :info, :f :read, :value nil, :time 60}
        {:process 1, :type :invoke, :f :read, :value nil, :time 70}
        {:process 1, :type :ok, :f :read, :value %s, :time 80}
        """;

    private static final String JSONL =
        """
        {"process":0,"type":"invoke","f":"write","value":1,"time":10}
        {"process":0,"type":"ok","f":"write","value":1,"time":20}
        {"process":1,"type":"invoke","f":"read","value":null,"time":30}
        {"process":1,"type":"ok","f":"read","value":null,"time":40}
        {"process":2,"type":"invoke","f":"read","time":50}
        {"process":2,"type":"info","f":"read","value":null,"time":60}
        {"process":1,"type":"invoke","f":"read","value":null,"time":70}
        {"process":1,"type":"ok","f":"read","value":%s,"time":80}
        """;

    private static Verdict verdict(History h) {
      return Checker.check(h, Models.casRegister(0L)).verdict();
    }

    @Test
    void aNullReadGetsTheSameVerdictAsItsEdnTwin() {
      History fromEdn = HistoryFiles.parseEdn("twin.edn", EDN.formatted("1"));
      History fromJsonl = HistoryFiles.parseJsonLines("twin.jsonl", JSONL.formatted("1"));
      assertThat(fromJsonl.operations()).hasSameSizeAs(fromEdn.operations()).hasSize(4);
      assertThat(fromJsonl.operations().get(1).output()).isNull();
      assertThat(verdict(fromEdn)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(verdict(fromJsonl)).isEqualTo(verdict(fromEdn));
    }

    @Test
    void aWrongReadGetsTheSameVerdictInBothFormats() {
      History fromEdn = HistoryFiles.parseEdn("twin.edn", EDN.formatted("0"));
      History fromJsonl = HistoryFiles.parseJsonLines("twin.jsonl", JSONL.formatted("0"));
      assertThat(verdict(fromEdn)).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(verdict(fromJsonl)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }
  }
}
