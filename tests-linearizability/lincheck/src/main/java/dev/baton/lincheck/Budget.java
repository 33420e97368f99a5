package dev.baton.lincheck;

import java.time.Duration;
import java.util.Objects;

/**
 * How long, and with how much memory, a check may search before answering {@link Verdict#UNKNOWN}.
 * The search for a linearization is exponential in the worst case; a budget turns a hang into an
 * honest "unknown".
 *
 * @param time wall-clock time for the whole check (all partitions)
 * @param memoryBytes the memory the search may hold in its memo of explored configurations (all
 *     partitions of the history together; the memo's arrays are counted exactly, model states built
 *     during the search approximately)
 */
public record Budget(Duration time, long memoryBytes) {
  public Budget {
    Objects.requireNonNull(time, "time");
    if (time.isNegative()) {
      throw new IllegalArgumentException("time budget is negative: " + time);
    }
    if (memoryBytes < 0) {
      throw new IllegalArgumentException("memory budget is negative: " + memoryBytes);
    }
  }

  /** A budget of {@code time} and {@code memoryBytes}. */
  public static Budget of(Duration time, long memoryBytes) {
    return new Budget(time, memoryBytes);
  }

  /** 60 seconds and a quarter of the maximum heap (at most 1 GiB). */
  public static Budget defaults() {
    return new Budget(
        Duration.ofSeconds(60), Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4));
  }

  /**
   * No time limit and as much memory as the heap has (an OutOfMemoryError still ends the check).
   */
  public static Budget unlimited() {
    return new Budget(Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L), Long.MAX_VALUE);
  }

  public Budget withTime(Duration newTime) {
    return new Budget(newTime, memoryBytes);
  }

  public Budget withMemoryBytes(long newMemoryBytes) {
    return new Budget(time, newMemoryBytes);
  }
}
