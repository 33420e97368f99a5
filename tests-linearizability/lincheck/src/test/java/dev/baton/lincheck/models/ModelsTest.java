package dev.baton.lincheck.models;

import static dev.baton.lincheck.Histories.edn;
import static dev.baton.lincheck.Histories.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.Checker;
import dev.baton.lincheck.History;
import dev.baton.lincheck.Model;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.Verdict;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ModelsTest {

  private static Verdict check(History h, Model<?> m) {
    return Checker.check(h, m).verdict();
  }

  @Nested
  class Mutex {
    @Test
    void acquireReleaseAcquire() {
      History h =
          log(
              "0 :invoke :acquire nil",
              "0 :ok :acquire nil",
              "0 :invoke :release nil",
              "0 :ok :release nil",
              "1 :invoke :acquire nil",
              "1 :ok :acquire nil");
      assertThat(check(h, Models.mutex(false))).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(check(h, Models.mutex(true))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void twoHoldersAtOnce() {
      History h =
          log(
              "0 :invoke :acquire nil",
              "0 :ok :acquire nil",
              "1 :invoke :acquire nil",
              "1 :ok :acquire nil");
      assertThat(check(h, Models.mutex(false))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void releaseOfAFreeLock() {
      assertThat(check(log("0 :invoke :release nil", "0 :ok :release nil"), Models.mutex(false)))
          .isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aCrashedReleaseMayHaveFreedTheLock() {
      History h =
          log(
              "0 :invoke :acquire nil",
              "0 :ok :acquire nil",
              "0 :invoke :release nil",
              "0 :info :release nil",
              "1 :invoke :acquire nil",
              "1 :ok :acquire nil");
      assertThat(check(h, Models.mutex(false))).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void locksWithDifferentKeysAreIndependent() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :acquire, :key "a"}
              {:process 0, :type :ok, :f :acquire, :key "a"}
              {:process 1, :type :invoke, :f :acquire, :key "b"}
              {:process 1, :type :ok, :f :acquire, :key "b"}
              """);
      CheckResult r = Checker.check(h, Models.mutex(false));
      assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(r.partitions()).hasSize(2);
    }
  }

  @Nested
  class FencedRegister {
    private final Model<?> model = Models.fencedRegister(null, null);

    @Test
    void writesWithGrowingOrEqualTokensAreAccepted() {
      History h =
          log(
              "0 :invoke :write [1 \"a\"]",
              "0 :ok :write [1 \"a\"]",
              "1 :invoke :write [2 \"b\"]",
              "1 :ok :write [2 \"b\"]",
              "1 :invoke :write [2 \"c\"]",
              "1 :ok :write [2 \"c\"]",
              "2 :invoke :read nil",
              "2 :ok :read \"c\"");
      assertThat(check(h, model)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aStaleTokenMustNotBeAccepted() {
      History h =
          log(
              "1 :invoke :write [2 \"b\"]",
              "1 :ok :write [2 \"b\"]",
              "0 :invoke :write [1 \"a\"]",
              "0 :ok :write [1 \"a\"]");
      assertThat(check(h, model)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aStaleTokenIsRejected() {
      History h =
          log(
              "1 :invoke :write [2 \"b\"]",
              "1 :ok :write [2 \"b\"]",
              "0 :invoke :write [1 \"a\"]",
              "0 :ok :write :rejected",
              "2 :invoke :read nil",
              "2 :ok :read \"b\"");
      assertThat(check(h, model)).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aCurrentTokenMustNotBeRejected() {
      History h =
          log(
              "1 :invoke :write [2 \"b\"]",
              "1 :ok :write [2 \"b\"]",
              "0 :invoke :write [3 \"a\"]",
              "0 :ok :write false");
      assertThat(check(h, model)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void aCrashedStaleWriteCannotAppear() {
      History h =
          log(
              "1 :invoke :write [2 \"b\"]",
              "1 :ok :write [2 \"b\"]",
              "0 :invoke :write [1 \"a\"]",
              "0 :info :write :timed-out",
              "2 :invoke :read nil",
              "2 :ok :read \"a\"");
      assertThat(check(h, model)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    @Test
    void theInitialTokenFences() {
      History h = log("0 :invoke :write [4 \"a\"]", "0 :ok :write [4 \"a\"]");
      assertThat(check(h, Models.fencedRegister(5L, "x"))).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(check(h, Models.byName("fenced-register", List.of(3L, "x"))))
          .isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void aWriteWithoutTokenIsAnError() {
      History h = log("0 :invoke :write \"a\"", "0 :ok :write \"a\"");
      assertThatThrownBy(() -> Checker.check(h, model))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("[token value]");
    }
  }

  @Nested
  class KeyValue {
    @Test
    void appendsConcatenatePerKey() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :append, :key "k", :value "x"}
              {:process 0, :type :ok, :f :append, :key "k", :value "x"}
              {:process 0, :type :invoke, :f :append, :key "j", :value "z"}
              {:process 0, :type :ok, :f :append, :key "j", :value "z"}
              {:process 1, :type :invoke, :f :append, :key "k", :value "y"}
              {:process 1, :type :ok, :f :append, :key "k", :value "y"}
              {:process 2, :type :invoke, :f :get, :key "k", :value nil}
              {:process 2, :type :ok, :f :get, :key "k", :value "xy"}
              {:process 2, :type :invoke, :f :put, :key "k", :value "p"}
              {:process 2, :type :ok, :f :put, :key "k", :value "p"}
              {:process 2, :type :invoke, :f :get, :key "k", :value nil}
              {:process 2, :type :ok, :f :get, :key "k", :value "p"}
              {:process 2, :type :invoke, :f :get, :key "m", :value nil}
              {:process 2, :type :ok, :f :get, :key "m", :value ""}
              """);
      CheckResult r = Checker.check(h, Models.kv(""));
      assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(r.partitions()).extracting(p -> p.key()).containsExactly("k", "j", "m");
      assertThat(check(h, Models.kv(null))).isEqualTo(Verdict.NOT_LINEARIZABLE); // get "" of nil
    }

    @Test
    void aWrongOrderOfAppends() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :append, :key "k", :value "x"}
              {:process 0, :type :ok, :f :append, :key "k", :value "x"}
              {:process 1, :type :invoke, :f :append, :key "k", :value "y"}
              {:process 1, :type :ok, :f :append, :key "k", :value "y"}
              {:process 2, :type :invoke, :f :get, :key "k", :value nil}
              {:process 2, :type :ok, :f :get, :key "k", :value "yx"}
              """);
      CheckResult r = Checker.check(h, Models.kv(""));
      assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(r.explanation().partitionKey()).isEqualTo("k");
    }
  }

  @Nested
  class CasRegisterPerKey {
    @Test
    void eachKeyIsItsOwnRegister() {
      History h =
          edn(
              """
              {:process 0, :type :invoke, :f :write, :key "a", :value 1}
              {:process 0, :type :ok, :f :write, :key "a", :value 1}
              {:process 1, :type :invoke, :f :cas, :key "b", :value [nil 2]}
              {:process 1, :type :ok, :f :cas, :key "b", :value [nil 2]}
              {:process 1, :type :invoke, :f :read, :key "a", :value nil}
              {:process 1, :type :ok, :f :read, :key "a", :value 1}
              {:process 1, :type :invoke, :f :read, :key "b", :value nil}
              {:process 1, :type :ok, :f :read, :key "b", :value 1}
              """);
      CheckResult r = Checker.check(h, Models.casRegister(null));
      assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(r.partitions()).hasSize(2);
      assertThat(r.explanation().partitionKey()).isEqualTo("b");
      assertThat(r.partitions().get(0).verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Nested
  class UserModels {
    /** The counter from the {@link Model} documentation. */
    private final Model<Long> counter =
        new Model<>() {
          @Override
          public String name() {
            return "counter";
          }

          @Override
          public Long initialState() {
            return 0L;
          }

          @Override
          public List<Long> step(Long n, Operation op) {
            return switch (op.f()) {
              case "add" -> List.of(n + (Long) op.input());
              case "read" -> op.isUnknown() || n.equals(op.output()) ? List.of(n) : List.of();
              default -> throw new IllegalArgumentException("counter has no " + op.f());
            };
          }
        };

    @Test
    void aUserModel() {
      History ok =
          log(
              "0 :invoke :add 2",
              "1 :invoke :add 3",
              "2 :invoke :read nil",
              "2 :ok :read 3",
              "0 :ok :add 2",
              "1 :ok :add 3",
              "2 :invoke :read nil",
              "2 :ok :read 5");
      History bad = log("0 :invoke :add 2", "0 :ok :add 2", "2 :invoke :read nil", "2 :ok :read 3");
      assertThat(check(ok, counter)).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(check(bad, counter)).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    /** A coin: flipping lands on either side; a nondeterministic model. */
    private final Model<String> coin =
        new Model<>() {
          @Override
          public String name() {
            return "coin";
          }

          @Override
          public String initialState() {
            return "heads";
          }

          @Override
          public List<String> step(String side, Operation op) {
            return switch (op.f()) {
              case "flip" -> List.of("heads", "tails");
              case "look" -> side.equals(op.output()) ? List.of(side) : List.of();
              default -> throw new IllegalArgumentException(op.f());
            };
          }
        };

    @Test
    void aNondeterministicUserModel() {
      History flipThenLook =
          log(
              "0 :invoke :flip nil",
              "0 :ok :flip nil",
              "0 :invoke :look nil",
              "0 :ok :look \"tails\"",
              "0 :invoke :look nil",
              "0 :ok :look \"tails\"");
      History changesWithoutFlip =
          log(
              "0 :invoke :flip nil",
              "0 :ok :flip nil",
              "0 :invoke :look nil",
              "0 :ok :look \"tails\"",
              "0 :invoke :look nil",
              "0 :ok :look \"heads\"");
      assertThat(check(flipThenLook, coin)).isEqualTo(Verdict.LINEARIZABLE);
      CheckResult r = Checker.check(changesWithoutFlip, coin);
      assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(r.explanation().stateAfterPrefix()).isEqualTo("\"tails\"");
    }
  }

  @Test
  void byNameKnowsEveryModelAndRejectsOthers() {
    for (String name : Models.NAMES) {
      assertThat(Models.byName(name, Models.DEFAULT_INITIAL).name()).isEqualTo(name);
    }
    assertThatThrownBy(() -> Models.byName("queue", null))
        .hasMessageContaining("unknown model 'queue'")
        .hasMessageContaining("cas-register");
    assertThatThrownBy(() -> Models.byName("mutex", 3L)).hasMessageContaining("true (held)");
  }

  @Test
  void defaultInitialStates() {
    assertThat(Models.byName("register", Models.DEFAULT_INITIAL).initialState()).isNull();
    assertThat(Models.byName("cas-register", Models.DEFAULT_INITIAL).initialState()).isNull();
    assertThat(Models.byName("kv", Models.DEFAULT_INITIAL).initialState()).isEqualTo("");
    assertThat(Models.byName("mutex", Models.DEFAULT_INITIAL).initialState()).isEqualTo(false);
    assertThat(Models.byName("cas-register", 0).initialState()).isEqualTo(0L);
  }
}
