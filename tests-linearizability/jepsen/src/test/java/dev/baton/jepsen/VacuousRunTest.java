package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.RunOptions.Workload;
import dev.baton.jepsen.node.EventLog;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryRecorder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's checks on what a broken recorder leaves behind (no Docker): a missing or empty event
 * directory, or a workload whose every call failed, is never VALID. The same checks as {@link
 * JepsenRun#run} after its cluster has stopped, on hand-written {@code events.jsonl} files.
 */
class VacuousRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ADDRESSES =
      Map.of("n1", "10.0.0.11", "n2", "10.0.0.12", "n3", "10.0.0.13");

  private static RunOptions options(Workload... workloads) {
    return RunOptions.of(
            "vacuous", EnumSet.of(NemesisKind.KILL), EnumSet.copyOf(List.of(workloads)))
        .withSeed(1);
  }

  private static void append(Path file, Map<String, Object> record) throws IOException {
    Files.writeString(
        file,
        JSON.writeValueAsString(record) + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  private static Map<String, Object> rec(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  /**
   * What three healthy nodes record: each a start; n1 active with token 5 for 2 s (a sample every 5
   * ms), its promotion journaled; and, when {@code writesOk}, 200 fenced writes that committed,
   * otherwise 200 that failed. Returns the rows the table then holds.
   */
  private static List<Checks.Row> writeNodeLogs(Path dir, boolean writesOk) throws IOException {
    for (String n : List.of("n1", "n2", "n3")) {
      Path f = dir.resolve("containers/" + n + "/events.jsonl");
      Files.createDirectories(f.getParent());
      append(
          f,
          rec(
              "e",
              "start",
              "time",
              1,
              "node",
              n,
              "incarnation",
              0,
              "clockRate",
              1.0,
              "unsafe",
              false));
    }
    Path n1 = dir.resolve("containers/n1/events.jsonl");
    long t = 1_000_000_000L;
    for (int i = 0; i < 400; i++, t += 5_000_000L) {
      append(
          n1,
          rec(
              "e",
              "sample",
              "time",
              t,
              "phase",
              i == 0 ? "first" : "still",
              "token",
              5,
              "t0",
              t,
              "t1",
              t + 10_000));
    }
    for (String step : List.of("fence", "dns")) {
      for (String outcome : List.of("STARTED", "COMPLETED")) {
        append(
            n1,
            rec(
                "e", "journal", "time", t, "node", "n1", "token", 5, "step", step, "phase",
                "PROMOTE", "attempt", 1, "outcome", outcome));
      }
    }
    List<Object> advance = List.of(5, "advance:n1");
    append(
        n1,
        rec(
            "e",
            "op",
            "time",
            1_000_000_001L,
            "proc",
            "fence",
            "type",
            "invoke",
            "value",
            advance));
    append(
        n1,
        rec("e", "op", "time", 1_000_000_002L, "proc", "fence", "type", "ok", "value", advance));
    List<Checks.Row> rows = new ArrayList<>();
    long w = 1_100_000_000L;
    for (int i = 1; i <= 200; i++, w += 1_000_000L) {
      String value = "n1.0-" + i;
      append(
          n1, rec("e", "op", "time", w, "proc", "w", "type", "invoke", "value", List.of(5, value)));
      if (writesOk) {
        append(
            n1,
            rec(
                "e",
                "op",
                "time",
                w + 500_000,
                "proc",
                "w",
                "type",
                "ok",
                "value",
                List.of(5, value),
                "commit_seq",
                i));
        rows.add(new Checks.Row(i, 5, "n1", value));
      } else {
        append(
            n1,
            rec(
                "e",
                "op",
                "time",
                w + 500_000,
                "proc",
                "w",
                "type",
                "fail",
                "error",
                "org.postgresql.util.PSQLException: Connection refused"));
      }
    }
    return rows;
  }

  private static History kv(boolean callsOk) {
    HistoryRecorder rec = new HistoryRecorder();
    for (int i = 0; i < 200; i++) {
      HistoryRecorder.Invocation op = rec.invoke(i % 3, "write", "r" + (i % 4), (long) i);
      if (callsOk) {
        op.ok();
      } else {
        op.fail(); // UNAVAILABLE: io exception, every time
      }
    }
    return rec.history();
  }

  private static final Outcome PROGRESS =
      new Outcome("I4-active-after-heal", "", Validity.VALID, "n1 active", Map.of());

  private static RunResult check(RunOptions o, Path dir, History kv, List<Checks.Row> rows)
      throws IOException {
    return check(
        o,
        dir,
        kv,
        rows,
        List.of(
            new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL n2"),
            new Nemesis.Event(2, NemesisKind.KILL, "end", "n2 restarted")));
  }

  private static RunResult check(
      RunOptions o, Path dir, History kv, List<Checks.Row> rows, List<Nemesis.Event> schedule)
      throws IOException {
    NodeEvents events = JepsenRun.readEvents(o, dir);
    List<Outcome> outcomes =
        JepsenRun.check(o, kv, events, rows, List.of(), ADDRESSES, schedule, PROGRESS);
    return new RunResult(o, dir, outcomes, Map.of(), schedule, 1.0);
  }

  @Test
  void aHealthyRecordingIsValid(@TempDir Path dir) throws IOException {
    // The baseline of the cases below: the same recording with the workloads' calls succeeding.
    RunOptions o = options(Workload.KV, Workload.FENCED);
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true));
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.VALID);
  }

  @Test
  void aRunWhoseEventDirectoryIsMissingIsNeverValid(@TempDir Path dir) {
    // The bind mount did not work: nothing of the nodes is under the run's directory.
    RunOptions o = options(Workload.KV);
    assertNeverValid(() -> check(o, dir, kv(true), List.of()));
  }

  @Test
  void aRunWhoseEventLogCouldNotBeWrittenIsNeverValid(@TempDir Path dir) throws IOException {
    // n2's event directory cannot be written (here: a file stands where the directory should be,
    // which stops root too): the node app cannot open its log, so n2 records nothing.
    RunOptions o = options(Workload.KV, Workload.FENCED);
    List<Checks.Row> rows = writeNodeLogs(dir, true);
    Path n2 = dir.resolve("containers/n2");
    Files.delete(n2.resolve("events.jsonl"));
    Files.delete(n2);
    Files.writeString(n2, "not a directory");
    assertThatThrownBy(() -> new EventLog(n2.resolve("events.jsonl")).close())
        .isInstanceOf(IOException.class);
    assertNeverValid(() -> check(o, dir, kv(true), rows));
  }

  @Test
  void aRunWhoseNodesRecordedNothingIsNeverValid(@TempDir Path dir) throws IOException {
    // The files exist (the recorder opened them) but nothing was written to them.
    RunOptions o = options(Workload.KV, Workload.FENCED);
    for (String n : List.of("n1", "n2", "n3")) {
      Path f = dir.resolve("containers/" + n + "/events.jsonl");
      Files.createDirectories(f.getParent());
      Files.createFile(f);
    }
    assertNeverValid(() -> check(o, dir, kv(true), List.of()));
  }

  @Test
  void aRunWhoseKvCallsAllFailedIsNeverValid(@TempDir Path dir) throws IOException {
    RunOptions o = options(Workload.KV, Workload.FENCED);
    RunResult r = check(o, dir, kv(false), writeNodeLogs(dir, true));
    assertThat(r.validity()).as(r.describe()).isNotEqualTo(Validity.VALID);
    assertThat(r.outcome("kv-linearizable").validity()).isEqualTo(Validity.UNKNOWN);
  }

  @Test
  void aRunWhoseFencedWritesAllFailedIsNeverValid(@TempDir Path dir) throws IOException {
    RunOptions o = options(Workload.KV, Workload.FENCED);
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, false));
    assertThat(r.validity()).as(r.describe()).isNotEqualTo(Validity.VALID);
    assertThat(r.outcome("I3-fenced-commit-order").validity()).isEqualTo(Validity.UNKNOWN);
    assertThat(r.outcome("fenced-writes-durable").validity()).isEqualTo(Validity.UNKNOWN);
  }

  @Test
  void aRunBelowAFloorIsUnknownNamingTheFloorTheValueAndTheThreshold(@TempDir Path dir)
      throws IOException {
    // Ten KV calls of 200 succeeded: the checker has something to judge, a healthy run far more.
    RunOptions o = options(Workload.KV, Workload.FENCED);
    HistoryRecorder rec = new HistoryRecorder();
    for (int i = 0; i < 200; i++) {
      HistoryRecorder.Invocation op = rec.invoke(i % 3, "write", "r" + (i % 4), (long) i);
      if (i < 10) {
        op.ok();
      } else {
        op.fail();
      }
    }
    RunResult r = check(o, dir, rec.history(), writeNodeLogs(dir, true));
    assertThat(r.outcome("kv-linearizable").validity()).isEqualTo(Validity.VALID);
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(r.outcome(Floors.NAME).summary())
        .contains("successful KV operations 10 < floor " + Floors.DEFAULTS.kvOk());
  }

  // ------------------------------------------------- a fault that did not happen (issue 29, 2)

  private static RunOptions faults(NemesisKind... kinds) {
    return RunOptions.of(
            "faults", EnumSet.copyOf(List.of(kinds)), EnumSet.of(Workload.KV, Workload.FENCED))
        .withSeed(1);
  }

  @Test
  void aConfiguredKindThatNeverHappenedMakesTheRunUnknownNamingTheKindAndWhy(@TempDir Path dir)
      throws IOException {
    // kill happened; clock was configured but the schedule ended before it came up; the paused
    // transaction was tried and skipped. Everything the nodes recorded is healthy.
    RunOptions o = faults(NemesisKind.KILL, NemesisKind.CLOCK, NemesisKind.PG_PAUSED_TXN);
    List<Nemesis.Event> schedule =
        List.of(
            new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL random node: [n2]"),
            new Nemesis.Event(2, NemesisKind.KILL, "end", "restarted [n2]"),
            new Nemesis.Event(
                3,
                NemesisKind.PG_PAUSED_TXN,
                "skipped",
                "n1 held no transaction within 10 s (not writing?)"));
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true), schedule);
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.UNKNOWN);
    Outcome f = r.outcome("faults-happened");
    assertThat(f.validity()).as(f.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(f.summary())
        .contains("clock: configured, never happened")
        .contains(
            "pg-paused-txn: configured, never happened: skipped (n1 held no transaction within 10"
                + " s (not writing?))")
        .doesNotContain("kill:");
  }

  @Test
  void aRunWhoseNemesisRecordedAnErrorIsNotValid(@TempDir Path dir) throws IOException {
    // The kill happened and was healed, but the PostgreSQL fail-over of a pg-kill threw: the run
    // did not test what it says it did.
    RunOptions o = faults(NemesisKind.KILL, NemesisKind.PG_KILL);
    List<Nemesis.Event> schedule =
        List.of(
            new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL the active: [n1]"),
            new Nemesis.Event(2, NemesisKind.KILL, "end", "restarted [n1]"),
            new Nemesis.Event(3, NemesisKind.PG_KILL, "start", "SIGKILL PostgreSQL primary pg1"),
            new Nemesis.Event(
                4,
                NemesisKind.PG_KILL,
                "error",
                "java.lang.IllegalStateException: PostgreSQL fail-over: timed out"));
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true), schedule);
    assertThat(r.validity()).as(r.describe()).isNotEqualTo(Validity.VALID);
    assertThat(r.outcome("faults-happened").summary())
        .contains("pg-kill")
        .contains("java.lang.IllegalStateException: PostgreSQL fail-over: timed out");

    // An error while healing at the end of the run (recorded without a kind) counts too.
    List<Nemesis.Event> healing =
        List.of(
            new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL random node: [n2]"),
            new Nemesis.Event(2, NemesisKind.KILL, "end", "restarted [n2]"),
            new Nemesis.Event(3, null, "error", "java.lang.RuntimeException: iptables -F: exit 1"));
    Path other = dir.resolve("healing");
    RunResult h =
        check(faults(NemesisKind.KILL), other, kv(true), writeNodeLogs(other, true), healing);
    assertThat(h.validity()).as(h.describe()).isNotEqualTo(Validity.VALID);
    assertThat(h.outcome("faults-happened").summary()).contains("iptables -F: exit 1");
  }

  @Test
  void aRunConfiguredWithAPausedTransactionThatNeverStartedStillReportsHeldTransactionFenced(
      @TempDir Path dir) throws IOException {
    RunOptions o = faults(NemesisKind.PG_PAUSED_TXN);
    List<Nemesis.Event> schedule =
        List.of(new Nemesis.Event(1, NemesisKind.PG_PAUSED_TXN, "skipped", "no node is active"));
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true), schedule);
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.UNKNOWN);
    Outcome held = r.outcome("held-transaction-fenced");
    assertThat(held.validity()).as(held.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(held.summary()).contains("skipped (no node is active)");
  }

  @Test
  void aRegionCutRunWithoutAStaleAttemptAfterTheLeaseOrASuccessorIsNeverValid(@TempDir Path dir)
      throws IOException {
    RunOptions o = faults(NemesisKind.REGION_CUT);
    // Never happened: the check is present and says why.
    Path skipped = dir.resolve("skipped");
    RunResult s =
        check(
            o,
            skipped,
            kv(true),
            writeNodeLogs(skipped, true),
            List.of(new Nemesis.Event(1, NemesisKind.REGION_CUT, "skipped", "no node is active")));
    assertThat(s.validity()).as(s.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(s.outcome(Checks.REGION_CUT_FENCED).summary())
        .contains("skipped (no node is active)");
    // Happened, but the stale writer made no attempt after the lease end: every other check
    // (faults-happened included) is satisfied, and the run is still not valid.
    Path idle = dir.resolve("idle");
    RunResult i =
        check(
            o,
            idle,
            kv(true),
            writeNodeLogs(idle, true),
            ChecksTest.regionCut("successor", ChecksTest.oldPrimary(0, 0, 0)));
    assertThat(i.outcome(Checks.FAULTS_HAPPENED).validity()).isEqualTo(Validity.VALID);
    assertThat(i.validity()).as(i.describe()).isEqualTo(Validity.UNKNOWN);
    // Happened, but no successor became active.
    Path alone = dir.resolve("alone");
    RunResult a =
        check(
            o,
            alone,
            kv(true),
            writeNodeLogs(alone, true),
            ChecksTest.regionCut("no-successor", ChecksTest.oldPrimary(40, 0, 0)));
    assertThat(a.validity()).as(a.describe()).isEqualTo(Validity.UNKNOWN);
    // The baseline: a successor, stale attempts after the lease, none committed.
    Path ok = dir.resolve("ok");
    RunResult v =
        check(
            o,
            ok,
            kv(true),
            writeNodeLogs(ok, true),
            ChecksTest.regionCut("successor", ChecksTest.oldPrimary(40, 0, 0)));
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
    assertThat(v.outcome(Checks.REGION_CUT_FENCED).validity()).isEqualTo(Validity.VALID);
  }

  @Test
  void aRunInWhichEveryConfiguredKindHappenedIsValid(@TempDir Path dir) throws IOException {
    // The baseline of the three cases above: the paused transaction held, superseded, not landed.
    RunOptions o = faults(NemesisKind.KILL, NemesisKind.PG_PAUSED_TXN);
    List<Nemesis.Event> schedule =
        List.of(
            new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL random node: [n2]"),
            new Nemesis.Event(2, NemesisKind.KILL, "end", "restarted [n2]"),
            new Nemesis.Event(
                3, NemesisKind.PG_PAUSED_TXN, "start", "n1.0-999 token 5: SIGSTOP n1 with ..."),
            new Nemesis.Event(4, NemesisKind.PG_PAUSED_TXN, "successor", "n2 is active"),
            new Nemesis.Event(5, NemesisKind.PG_PAUSED_TXN, "end", "SIGCONT n1, healed"));
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true), schedule);
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.VALID);
    assertThat(r.outcome("faults-happened").summary()).contains("kill").contains("pg-paused-txn");
  }

  @Test
  void aRunConfiguredWithHealthInWhichTheRoleNeverHadToMoveIsNeverValid(@TempDir Path dir)
      throws IOException {
    // n1 is active from 1 s to 3 s in every recording below.
    RunOptions o = faults(NemesisKind.KILL, NemesisKind.HEALTH);
    Nemesis.Event kill = new Nemesis.Event(1, NemesisKind.KILL, "start", "SIGKILL n2");
    Nemesis.Event killEnd = new Nemesis.Event(2, NemesisKind.KILL, "end", "n2 restarted");
    // The health nemesis found no active node: health-moved is present and says why.
    List<Nemesis.Event> skipped =
        List.of(
            kill,
            killEnd,
            new Nemesis.Event(3, NemesisKind.HEALTH, "skipped", "no node is active"));
    RunResult r = check(o, dir, kv(true), writeNodeLogs(dir, true), skipped);
    assertThat(r.validity()).as(r.describe()).isEqualTo(Validity.UNKNOWN);
    Outcome moved = r.outcome(Checks.HEALTH_MOVED);
    assertThat(moved.validity()).as(moved.summary()).isEqualTo(Validity.UNKNOWN);
    assertThat(moved.summary()).contains("skipped (no node is active)");

    // Applied, but to n2 while n1 was active: the role never had to move, nothing was checked,
    // although every other check (faults-happened included) is satisfied.
    Path other = dir.resolve("wrong-node");
    List<Nemesis.Event> wrong =
        List.of(
            kill,
            killEnd,
            new Nemesis.Event(1_500_000_000L, NemesisKind.HEALTH, "start", "active n2 unhealthy"),
            new Nemesis.Event(2_000_000_000L, NemesisKind.HEALTH, "all", "every node unhealthy"),
            new Nemesis.Event(2_500_000_000L, NemesisKind.HEALTH, "end", "every node healthy"));
    RunResult w = check(o, other, kv(true), writeNodeLogs(other, true), wrong);
    assertThat(w.outcome(Checks.FAULTS_HAPPENED).validity()).isEqualTo(Validity.VALID);
    assertThat(w.validity()).as(w.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(w.outcome(Checks.HEALTH_MOVED).summary()).contains("already active");

    // The baseline: n3 marked unhealthy at 0.5 s, n1 became active at 1 s: a move.
    Path moved3 = dir.resolve("moved");
    List<Nemesis.Event> ok =
        List.of(
            kill,
            killEnd,
            new Nemesis.Event(500_000_000L, NemesisKind.HEALTH, "start", "active n3 unhealthy"),
            new Nemesis.Event(2_000_000_000L, NemesisKind.HEALTH, "all", "every node unhealthy"),
            new Nemesis.Event(2_500_000_000L, NemesisKind.HEALTH, "end", "every node healthy"));
    List<Checks.Row> rows = writeNodeLogs(moved3, true);
    // Without n3's record of handing the role over for health, health-moves-spaced had nothing
    // to judge: the run is not valid.
    RunResult unrecorded = check(o, moved3, kv(true), rows, ok);
    assertThat(unrecorded.validity()).as(unrecorded.describe()).isEqualTo(Validity.UNKNOWN);
    assertThat(unrecorded.outcome(Checks.HEALTH_MOVES_SPACED).summary())
        .contains("nothing was checked");
    append(
        moved3.resolve("containers/n3/events.jsonl"),
        rec("e", "role", "time", 900_000_000L, "role", "standby", "reason", "UNHEALTHY"));
    RunResult v = check(o, moved3, kv(true), rows, ok);
    assertThat(v.validity()).as(v.describe()).isEqualTo(Validity.VALID);
  }

  interface RunCheck {
    RunResult run() throws IOException;
  }

  /** Either the run reports an error (naming the event log) or its verdict is not VALID. */
  private static void assertNeverValid(RunCheck c) {
    RunResult r;
    try {
      r = c.run();
    } catch (IOException e) {
      assertThat(e).hasMessageContaining("events.jsonl");
      return;
    }
    assertThat(r.validity()).as(r.describe()).isNotEqualTo(Validity.VALID);
  }
}
