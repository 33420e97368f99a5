package dev.baton.lincheck;

import java.time.Duration;

/**
 * The result for one independent part of a history (one key, when the model allows splitting).
 *
 * @param key the partition's key, or {@code null} for the whole history
 * @param verdict the answer for this part
 * @param operationCount operations checked (failed ones excluded)
 * @param explanation why it is not linearizable, or {@code null}
 * @param reason why the answer is unknown, or {@code null}
 * @param configurations configurations (linearized set, state) the search memoised
 * @param elapsed time spent on this part
 */
public record PartitionResult(
    Object key,
    Verdict verdict,
    int operationCount,
    Explanation explanation,
    String reason,
    long configurations,
    Duration elapsed) {}
