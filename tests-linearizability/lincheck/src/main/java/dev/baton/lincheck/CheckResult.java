package dev.baton.lincheck;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The outcome of {@link Checker#check}.
 *
 * @param verdict {@link Verdict#NOT_LINEARIZABLE} if any partition is not linearizable, else {@link
 *     Verdict#UNKNOWN} if any ran out of budget, else {@link Verdict#LINEARIZABLE}
 * @param operationCount operations in the history (including failed ones)
 * @param explanation for a history that is not linearizable: the first failing partition's
 *     explanation; otherwise {@code null}
 * @param reason for an unknown verdict: why (budget, interruption); otherwise {@code null}
 * @param partitions one result per independent part, in order of first appearance
 * @param elapsed time taken by the whole check
 */
public record CheckResult(
    Verdict verdict,
    int operationCount,
    @Nullable Explanation explanation,
    @Nullable String reason,
    List<PartitionResult> partitions,
    Duration elapsed) {

  public CheckResult {
    partitions = List.copyOf(partitions);
  }

  public boolean isLinearizable() {
    return verdict == Verdict.LINEARIZABLE;
  }
}
