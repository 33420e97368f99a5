package dev.baton.sidecar;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The health-driven failover times a test measured, printed for scripts/bench health. */
final class HealthTimes {
  private HealthTimes() {}

  /** One line: the check type, the number of trials, p50 and max (nothing for no trial). */
  static void print(String check, List<Long> millis) {
    if (millis.isEmpty()) {
      return;
    }
    List<Long> sorted = new ArrayList<>(millis);
    Collections.sort(sorted);
    System.out.println(
        "health failover summary: check="
            + check
            + " trials="
            + sorted.size()
            + " p50="
            + sorted.get((sorted.size() - 1) / 2)
            + " ms max="
            + sorted.get(sorted.size() - 1)
            + " ms all="
            + millis);
  }
}
