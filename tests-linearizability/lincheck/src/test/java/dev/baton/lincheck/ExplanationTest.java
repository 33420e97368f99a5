package dev.baton.lincheck;

import static dev.baton.lincheck.Histories.log;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.lincheck.models.Models;
import org.junit.jupiter.api.Test;

class ExplanationTest {

  @Test
  void theLongestPrefixAndTheOperationsThatCannotFollowIt() {
    History h =
        log(
            "0 :invoke :write 1", // line 1
            "0 :ok :write 1",
            "1 :invoke :write 2", // line 3
            "1 :ok :write 2",
            "2 :invoke :cas [5 6]", // line 5: concurrent with the read, impossible
            "3 :invoke :read nil", // line 6
            "3 :ok :read 1", // stale: 2 was written before
            "2 :info :cas :timed-out");
    CheckResult r = Checker.check(h, Models.casRegister(null));
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    Explanation e = r.explanation();
    assertThat(e.partitionKey()).isNull();
    assertThat(e.longestPrefix()).extracting(Operation::input).containsExactly(1L, 2L);
    assertThat(e.stateAfterPrefix()).isEqualTo("2");
    assertThat(e.unorderable()).extracting(Operation::f).containsExactly("read", "cas");
    assertThat(e.notes().get(0)).startsWith("impossible in state 2");
    assertThat(e.notes().get(1)).isEqualTo("impossible in state 2");
    assertThat(e.breakPoint()).isEqualTo(e.unorderable().get(0).end());
    assertThat(e.summary())
        .isEqualTo(
            "p3 read -> 1 ok (lines 6-7) cannot be ordered after the longest consistent prefix"
                + " (2 operations, state 2)");
    assertThat(e.describe(1))
        .contains("... 1 operation before these")
        .contains("2. p1 write 2 ok (lines 3-4)")
        .contains("- p2 cas [5 6] info (lines 5-8): impossible in state 2");
  }
}
