package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.RunOptions.Workload;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The short matrix CI runs (each run about a minute): three clusters of three nodes with PostgreSQL
 * and BIND in containers. Outputs go to {@code tests-linearizability/jepsen/target/jepsen/<run>/}.
 *
 * <p>A run is VALID only if every checker had something to judge and the run cleared every {@link
 * Floors floor} (activations, active samples, each node's start, committed and acknowledged fenced
 * writes, successful KV operations, DNS readings of the fence): a run that recorded too little is
 * UNKNOWN, and fails these tests, with the floor, the value and the threshold in the message.
 * Likewise every configured fault kind must have happened, and the nemesis must have raised no
 * error ({@code faults-happened}): a run in which one did not is UNKNOWN, naming the kind and why.
 *
 * <p>Each run draws its fault schedule from a seed printed in the log and in {@code results.json};
 * {@code -Djepsen.seed=N} replays a schedule.
 */
class JepsenSuiteTest {

  private static long seed() {
    String s = System.getProperty("jepsen.seed");
    return s == null || s.isBlank() ? System.nanoTime() : Long.parseLong(s.trim());
  }

  /** Partitions of every kind and SIGKILLs (one node, the active, or all), all workloads. */
  @Test
  void partitionsAndKillsKeepEverySafetyProperty() throws Exception {
    Set<NemesisKind> nemeses = EnumSet.copyOf(NemesisKind.PARTITIONS);
    nemeses.add(NemesisKind.KILL);
    RunResult r =
        JepsenRun.run(
            RunOptions.of("ci-partitions-kills", nemeses, EnumSet.allOf(Workload.class))
                .withTimeLimit(Duration.ofSeconds(40))
                .withFaults(
                    Duration.ofMillis(2500),
                    Duration.ofSeconds(4),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(3))
                .withSeed(seed()));
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.VALID);
    assertThat(r.faults()).as(r.describe()).isGreaterThanOrEqualTo(3);
  }

  /**
   * A region cut (the active SIGSTOPped past its lease, it and the PostgreSQL primary cut off from
   * the rest while a stale writer keeps committing there with its token, the standby promoted from
   * outside), clock-rate drift of 5–8% (beyond the 1% bound), a SIGKILL of the PostgreSQL primary,
   * and the active paused with a fenced transaction open while it is cut off from the primary, with
   * fenced writes and the DNS switch. Two nodes start with drifting lease clocks.
   *
   * <p>{@code region-cut} took the slot {@code pause} had here, so the matrix did not grow: it
   * begins with pause's fault (the active SIGSTOPped past its lease, woken once a successor is
   * active) and adds the cut and the database fail-over. Plain pauses remain in the self-test,
   * {@code all} and the long runs.
   */
  @Test
  void pausesDriftAndDatabaseKillKeepEverySafetyProperty() throws Exception {
    RunResult r =
        JepsenRun.run(
            RunOptions.of(
                    "ci-pauses-drift-pgkill",
                    EnumSet.of(
                        NemesisKind.REGION_CUT,
                        NemesisKind.CLOCK,
                        NemesisKind.PG_KILL,
                        NemesisKind.PG_PAUSED_TXN),
                    EnumSet.of(Workload.FENCED, Workload.DNS))
                .withTimeLimit(Duration.ofSeconds(40))
                .withFaults(
                    Duration.ofMillis(2500),
                    Duration.ofSeconds(4),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(3))
                .withClockRates(List.of(1.0, 1.05, 0.95))
                .withSeed(seed()));
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.VALID);
    assertThat(r.faults()).as(r.describe()).isGreaterThanOrEqualTo(3);
  }

  /**
   * The operator's faults: switch-active (plain, with the third node cut off, with the target
   * paused), membership changes (a voter removed, wiped and added back), a wiped data directory, an
   * outsider probing the Raft port, and health gating (the active turns unhealthy and must hand the
   * role to a healthy node, every node unhealthy, a flapping check), with the KV and fenced writes.
   * Health took the slot pauses of the active had here: pauses are the core of {@link
   * #pausesDriftAndDatabaseKillKeepEverySafetyProperty} (and the self-test), and health's move goes
   * through the same planned switch path as switch-active, so the matrix gets no longer.
   */
  @Test
  void switchesMembershipChangesAndWipedDisksKeepEverySafetyProperty() throws Exception {
    RunResult r =
        JepsenRun.run(
            RunOptions.of(
                    "ci-switch-membership-wipe",
                    EnumSet.of(
                        NemesisKind.SWITCH_ACTIVE,
                        NemesisKind.MEMBERSHIP,
                        NemesisKind.WIPE,
                        NemesisKind.OUTSIDER,
                        NemesisKind.HEALTH),
                    EnumSet.of(Workload.KV, Workload.FENCED))
                .withTimeLimit(Duration.ofSeconds(45))
                .withFaults(
                    Duration.ofMillis(2500),
                    Duration.ofSeconds(4),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(3))
                .withSeed(seed()));
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.VALID);
    assertThat(r.faults()).as(r.describe()).isGreaterThanOrEqualTo(3);
  }

  /**
   * The self-test: with the lease removed and the fence off (test-only unsafe mode), pausing the
   * active past its lease must produce a violation the checkers catch: two believers (I2) and/or a
   * stale write committed after a newer one (I3). A suite that cannot fail proves nothing.
   */
  @Test
  void unsafeModeIsCaughtUnderPauses() throws Exception {
    RunResult r =
        JepsenRun.run(
            RunOptions.of(
                    "ci-unsafe-self-test",
                    EnumSet.of(NemesisKind.PAUSE),
                    EnumSet.of(Workload.FENCED))
                .withTimeLimit(Duration.ofSeconds(35))
                .withFaults(
                    Duration.ofSeconds(5),
                    Duration.ofSeconds(7),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(3))
                .withUnsafe(true)
                .withSeed(seed()));
    assertThat(
            List.of(
                r.outcome("I2-one-believer").validity(),
                r.outcome("I3-fenced-commit-order").validity()))
        .as(r.describe())
        .contains(Validity.INVALID);
    // A violation found in a run that recorded too little would still be one, but the self-test
    // is also the proof that the recorder works with the lease gone: it must clear the floors,
    // and its pause must have happened without a nemesis error.
    assertThat(r.outcome(Floors.NAME).validity()).as(r.describe()).isEqualTo(Validity.VALID);
    assertThat(r.outcome(Checks.FAULTS_HAPPENED).validity())
        .as(r.describe())
        .isEqualTo(Validity.VALID);
  }
}
