package dev.baton.lincheck;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks whether a history of concurrent operations is linearizable with respect to a model.
 *
 * <pre>{@code
 * CheckResult r = Checker.check(history, Models.casRegister(0L), Budget.defaults());
 * if (r.verdict() == Verdict.NOT_LINEARIZABLE) System.out.println(r.explanation().describe(10));
 * }</pre>
 *
 * <p>Semantics (Jepsen's): an operation that completed {@code ok} took effect exactly once,
 * somewhere between its invocation and its completion; one that {@code fail}ed did not take effect;
 * one that ended in {@code info}, or never ended, may or may not have taken effect, at any time
 * after its invocation.
 *
 * <p>When the model names a {@link Model#partitionKey partition key} for operations (the built-in
 * models use the operation's key), the history is split into one sub-history per key and each is
 * checked on its own. Linearizability is local (Herlihy &amp; Wing 1990), so this is exact; it is
 * also what makes large key-value histories tractable (Porcupine calls it P-compositionality). The
 * partitions are searched in interleaved slices; once one is found not linearizable the verdict is
 * settled and the others stop, reported {@link Verdict#UNKNOWN} with the reason "not checked to the
 * end".
 */
public final class Checker {
  private static final Logger log = LoggerFactory.getLogger(Checker.class);

  private Checker() {}

  /** Checks with {@link Budget#defaults()}. */
  public static <S> CheckResult check(History history, Model<S> model) {
    return check(history, model, Budget.defaults());
  }

  /**
   * Checks {@code history} against {@code model} within {@code budget}.
   *
   * @throws IllegalArgumentException when the model cannot interpret an operation (an unknown
   *     {@code f}, a value of the wrong shape); the message names the source and line
   */
  public static <S> CheckResult check(History history, Model<S> model, Budget budget) {
    long started = System.nanoTime();
    long deadline = started + saturatedNanos(budget.time());
    Map<Object, List<Operation>> parts = new LinkedHashMap<>();
    for (Operation op : history.operations()) {
      if (op.outcome() == Outcome.FAIL) {
        continue; // a failed operation did not happen
      }
      parts.computeIfAbsent(model.partitionKey(op), k -> new ArrayList<>()).add(op);
    }
    List<PartitionResult> results = runAll(history, model, budget, parts, deadline);
    Verdict verdict = Verdict.LINEARIZABLE;
    Explanation explanation = null;
    String reason = null;
    for (PartitionResult r : results) {
      if (r.verdict() == Verdict.NOT_LINEARIZABLE && explanation == null) {
        verdict = Verdict.NOT_LINEARIZABLE;
        explanation = r.explanation();
      } else if (r.verdict() == Verdict.UNKNOWN && verdict == Verdict.LINEARIZABLE) {
        verdict = Verdict.UNKNOWN;
        reason = (r.key() == null ? "" : "key " + Values.format(r.key()) + ": ") + r.reason();
      }
    }
    if (verdict == Verdict.NOT_LINEARIZABLE) {
      reason = null;
    }
    return new CheckResult(
        verdict,
        history.operations().size(),
        explanation,
        reason,
        results,
        Duration.ofNanos(System.nanoTime() - started));
  }

  /**
   * Runs the partitions' searches in round-robin slices, as Porcupine runs them concurrently: the
   * verdict is settled by the first partition found not linearizable, which is often quick to
   * refute while another partition would take long to explore. The memory budget covers all
   * searches alive at once; when it is exceeded, the search holding the most memory gives up.
   */
  private static <S> List<PartitionResult> runAll(
      History history,
      Model<S> model,
      Budget budget,
      Map<Object, List<Operation>> parts,
      long deadline) {
    List<Search<S>> searches = new ArrayList<>(parts.size());
    for (Map.Entry<Object, List<Operation>> part : parts.entrySet()) {
      searches.add(
          new Search<>(
              model,
              history.source(),
              part.getKey(),
              part.getValue(),
              deadline,
              budget.memoryBytes()));
    }
    List<Search<S>> active = new ArrayList<>(searches);
    Object refuted = NONE;
    while (!active.isEmpty() && refuted == NONE) {
      for (int i = 0; i < active.size() && refuted == NONE; ) {
        Search<S> s = active.get(i);
        PartitionResult r = s.run(SLICE_STEPS);
        if (r == null) {
          i++;
          continue;
        }
        active.remove(i);
        log.debug(
            "{} key {}: {} ({} operations, {} configurations, {} ms)",
            history.source(),
            r.key(),
            r.verdict(),
            r.operationCount(),
            r.configurations(),
            r.elapsed().toMillis());
        if (r.verdict() == Verdict.NOT_LINEARIZABLE) {
          refuted = r.key();
        }
      }
      long total = 0;
      Search<S> largest = null;
      for (Search<S> s : active) {
        total += s.memoryBytes();
        if (largest == null || s.memoryBytes() > largest.memoryBytes()) {
          largest = s;
        }
      }
      if (largest != null && total > budget.memoryBytes()) {
        largest.abandon(largest.memoryExhausted());
        active.remove(largest);
      }
    }
    for (Search<S> s : active) {
      s.abandon("not checked to the end: key " + Values.format(refuted) + " is not linearizable");
    }
    List<PartitionResult> results = new ArrayList<>(searches.size());
    for (Search<S> s : searches) {
      results.add(s.result());
    }
    return results;
  }

  private static final Object NONE = new Object();

  /** Search steps per slice: large enough that switching costs nothing, small enough to share. */
  private static final long SLICE_STEPS = 1 << 16;

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 2;
    }
  }
}
