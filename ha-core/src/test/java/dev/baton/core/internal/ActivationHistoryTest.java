package dev.baton.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.Activation;
import dev.baton.core.JournalEntry;
import dev.baton.core.internal.proto.Activate;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.JournalRecord;
import dev.baton.core.internal.proto.Resign;
import dev.baton.core.testing.StateMachineApply;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The activation history as the state machine derives it from the log: one record per activation in
 * token order, its reason read from the entries around it (never from clocks), its promotion steps
 * from the journal with their durations, and the bound. The cluster-level test, with real nodes,
 * snapshots and restarts, is {@code dev.baton.core.HistoryTest}. Also the watch of the role changes
 * that the history feeds (issue 37).
 */
class ActivationHistoryTest {
  private static final long TERM = 3;

  private final BatonStateMachine sm = new BatonStateMachine();
  private long index;

  @Test
  void eachActivationIsRecordedWithItsReasonStepsAndOutcome() throws Exception {
    apply(activate("n1", 1_700_000_000_000L)); // 1
    apply(journal("n1", 1, "fence", 1, JournalEntry.Outcome.STARTED, 1000, "")); // 2
    apply(journal("n1", 1, "fence", 1, JournalEntry.Outcome.COMPLETED, 1250, "")); // 3
    apply(Commands.leaseRound("n1", TERM, 1)); // 4: n1 reports ACTIVE
    // n1 crashes: n2 wins without any resignation.
    apply(activate("n2", 0)); // 5
    apply(journal("n2", 5, "fence", 1, JournalEntry.Outcome.STARTED, 40, "")); // 6
    apply(journal("n2", 5, "fence", 1, JournalEntry.Outcome.FAILED, 45, "boom")); // 7
    apply(journal("n2", 5, "fence", 2, JournalEntry.Outcome.STARTED, 50, "")); // 8
    // n2 is unhealthy and hands over.
    apply(resign("n2", 5, "UNHEALTHY")); // 9
    apply(activate("n3", 0)); // 10
    // An operator asks n3's API to move the role to n1.
    apply(Commands.switchRequest("n1", "s1", "n3")); // 11
    apply(resign("n3", 10, "SWITCH_ACTIVE")); // 12
    apply(activate("n1", 0)); // 13

    assertThat(sm.history())
        .extracting(Activation::token, Activation::nodeId, Activation::reason)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, "n1", Activation.Reason.START),
            org.assertj.core.groups.Tuple.tuple(5L, "n2", Activation.Reason.FAILOVER),
            org.assertj.core.groups.Tuple.tuple(10L, "n3", Activation.Reason.HEALTH),
            org.assertj.core.groups.Tuple.tuple(13L, "n1", Activation.Reason.SWITCH_ACTIVE));
    Activation first = sm.history().get(0);
    assertThat(first.proposedAt()).contains(Instant.ofEpochMilli(1_700_000_000_000L));
    assertThat(first.promoted()).isTrue();
    assertThat(first.resigned()).isEmpty();
    assertThat(first.steps())
        .containsExactly(
            new Activation.Step(
                "fence",
                1,
                JournalEntry.Outcome.COMPLETED,
                Optional.of(Duration.ofMillis(250)),
                Optional.empty()));
    Activation second = sm.history().get(1);
    assertThat(second.previousNodeId()).contains("n1");
    assertThat(second.previousToken()).isEqualTo(1);
    assertThat(second.promoted()).isFalse();
    assertThat(second.resigned()).contains("UNHEALTHY");
    assertThat(second.steps())
        .containsExactly(
            new Activation.Step(
                "fence",
                1,
                JournalEntry.Outcome.FAILED,
                Optional.of(Duration.ofMillis(5)),
                Optional.of("boom")),
            new Activation.Step(
                "fence", 2, JournalEntry.Outcome.STARTED, Optional.empty(), Optional.empty()));
    assertThat(sm.history().get(2).requester()).isEmpty();
    assertThat(sm.history().get(3).requester()).contains("n3");
    assertThat(sm.history().get(3).proposedAt()).isEmpty();
  }

  @Test
  void aResignationAppliedAfterItsSuccessorsActivationCorrectsTheSuccessorsReason()
      throws Exception {
    apply(activate("n1", 0)); // 1
    apply(activate("n2", 0)); // 2: read as a failover, n1 has not resigned yet
    assertThat(sm.history().get(1).reason()).isEqualTo(Activation.Reason.FAILOVER);
    apply(resign("n1", 1, "UNHEALTHY")); // 3
    assertThat(sm.history().get(1).reason()).isEqualTo(Activation.Reason.HEALTH);
    assertThat(sm.history().get(0).resigned()).contains("UNHEALTHY");
  }

  /**
   * The failover time the new active measured reaches the history with its report that it is
   * ACTIVE, for a FAILOVER only: a START's report keeps none, and a resignation that applies late
   * and makes the activation a hand-over drops it (it would time a hand-over from a lease end that
   * did not bound it). Every member applies the same entries, so every member keeps or drops it.
   */
  @Test
  void aFailoverTimeIsKeptForAFailoverOnlyAndDroppedWhenALateResignationMakesItAHandOver()
      throws Exception {
    apply(activate("n1", 0)); // 1
    apply(Commands.leaseRound("n1", TERM, 1, OptionalLong.of(5_000_000L))); // 2: a START
    apply(activate("n2", 0)); // 3: n1 crashed
    apply(Commands.leaseRound("n2", TERM, 3, OptionalLong.of(1_103_000_000L))); // 4
    apply(activate("n3", 0)); // 5: read as a failover for now
    apply(Commands.leaseRound("n3", TERM, 5, OptionalLong.of(900_000_000L))); // 6
    assertThat(sm.history().get(2).failoverDuration()).contains(Duration.ofMillis(900));
    apply(resign("n2", 3, "SWITCH_ACTIVE")); // 7: n2 had handed over
    assertThat(sm.history())
        .extracting(Activation::token, Activation::reason, Activation::failoverDuration)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, Activation.Reason.START, Optional.empty()),
            org.assertj.core.groups.Tuple.tuple(
                3L, Activation.Reason.FAILOVER, Optional.of(Duration.ofMillis(1103))),
            org.assertj.core.groups.Tuple.tuple(
                5L, Activation.Reason.SWITCH_ACTIVE, Optional.empty()));
    // A report without a figure (the new active did not follow the old one, or an older release)
    // leaves it unknown.
    apply(activate("n1", 0)); // 8
    apply(Commands.leaseRound("n1", TERM, 8)); // 9
    assertThat(sm.history().get(3).reason()).isEqualTo(Activation.Reason.FAILOVER);
    assertThat(sm.history().get(3).promoted()).isTrue();
    assertThat(sm.history().get(3).failoverDuration()).isEmpty();
  }

  /**
   * A failback is asked for through the log (a switch request with reason FAILBACK, proposed by the
   * active): its target's activation is a FAILBACK even when it applies before the active's
   * resignation, and an operator's switch request still reads as a SWITCH_ACTIVE with its
   * requester.
   */
  @Test
  void aFailbacksSwitchRequestMakesItsTargetsActivationAFailbackBeforeTheResignationApplies()
      throws Exception {
    apply(activate("n1", 0)); // 1
    apply(Commands.failbackRequest("n2", "f1", "n1")); // 2: n1 asks to hand over to n2
    apply(activate("n2", 0)); // 3: before n1's resignation applies
    assertThat(sm.history().get(1).reason()).isEqualTo(Activation.Reason.FAILBACK);
    assertThat(sm.history().get(1).previousNodeId()).contains("n1");
    apply(resign("n1", 1, "FAILBACK")); // 4
    assertThat(sm.history().get(1).reason()).isEqualTo(Activation.Reason.FAILBACK);
    assertThat(sm.pendingSwitch().getTargetNodeId()).isEmpty();
    apply(Commands.switchRequest("n1", "s1", "n3")); // 5: an operator's switch, asked of n3
    apply(activate("n1", 0)); // 6
    assertThat(sm.history().get(2).reason()).isEqualTo(Activation.Reason.SWITCH_ACTIVE);
    assertThat(sm.history().get(2).requester()).contains("n3");
  }

  @Test
  void aClosedActivesSuccessorIsAFailover() throws Exception {
    apply(activate("n1", 0));
    apply(resign("n1", 1, "CLOSING"));
    apply(activate("n2", 0));
    assertThat(sm.history().get(1).reason()).isEqualTo(Activation.Reason.FAILOVER);
    assertThat(sm.history().get(0).resigned()).contains("CLOSING");
  }

  @Test
  void theHistoryKeepsTheNewestRecordsUpToItsLimit() throws Exception {
    BatonStateMachine small = new BatonStateMachine(2);
    for (int i = 1; i <= 5; i++) {
      apply(small, i, activate("n" + (i % 3 + 1), 0));
    }
    assertThat(small.history()).extracting(Activation::token).containsExactly(4L, 5L);
    assertThat(small.localState(false).getHistoryCount()).isEqualTo(2);
  }

  @Test
  void thePreviousActiveIsTheNewestEarlierActivationThatCompletedItsPromotion() throws Exception {
    apply(activate("n1", 0)); // 1
    assertThat(sm.promotedBefore(1)).contains(ActivationHistory.Promoted.NONE);
    apply(Commands.leaseRound("n1", TERM, 1)); // 2: n1 reports ACTIVE
    apply(activate("n2", 0)); // 3: n2's plan fails
    apply(resign("n2", 3, "PROMOTION_FAILED")); // 4
    apply(activate("n3", 0)); // 5
    // A report for token 3 that applies after its successor's activation does not promote it.
    apply(Commands.leaseRound("n2", TERM, 3)); // 6
    assertThat(sm.promotedBefore(3)).contains(new ActivationHistory.Promoted("n1", 1));
    assertThat(sm.promotedBefore(5))
        .as("n2's abandoned activation is passed over")
        .contains(new ActivationHistory.Promoted("n1", 1));
    apply(Commands.leaseRound("n3", TERM, 5)); // 7
    apply(activate("n3", 0)); // 8: n3 lost the role and won it back
    assertThat(sm.promotedBefore(8)).contains(new ActivationHistory.Promoted("n3", 5));
    assertThat(sm.promotedBefore(5)).contains(new ActivationHistory.Promoted("n1", 1));

    // The contexts read it: the record's previous (n2, 3) is not what they name.
    RoleController.Activation fifth = new RoleController.Activation(5, TERM, Optional.of("n2"), 3);
    ActivationFacts facts = new ActivationFacts(fifth, "n3", sm) {};
    assertThat(facts.previousActive()).contains("n1");
    assertThat(facts.previousToken()).isEqualTo(1);
  }

  @Test
  void whenNoEarlierActivationCompletedThereIsNoPreviousActive() throws Exception {
    apply(activate("n1", 0)); // 1: its plan is abandoned
    apply(resign("n1", 1, "PROMOTION_FAILED")); // 2
    apply(activate("n2", 0)); // 3
    assertThat(sm.promotedBefore(3)).contains(ActivationHistory.Promoted.NONE);
    ActivationFacts facts =
        new ActivationFacts(
            new RoleController.Activation(3, TERM, Optional.of("n1"), 1), "n2", sm) {};
    assertThat(facts.previousActive()).isEmpty();
    assertThat(facts.previousToken()).isZero();
  }

  @Test
  void whenTheHistoryNoLongerReachesBackThePreviousActivationIsNamed() throws Exception {
    BatonStateMachine small = new BatonStateMachine(2);
    apply(small, 1, activate("n1", 0));
    apply(small, 2, Commands.leaseRound("n1", TERM, 1));
    apply(small, 3, activate("n2", 0));
    apply(small, 4, activate("n3", 0));
    // The history holds tokens 3 and 4, neither promoted; n1's completed activation was dropped.
    assertThat(small.history()).extracting(Activation::token).containsExactly(3L, 4L);
    assertThat(small.promotedBefore(4)).isEmpty();
    ActivationFacts facts =
        new ActivationFacts(
            new RoleController.Activation(4, TERM, Optional.of("n2"), 3), "n3", small) {};
    assertThat(facts.previousActive()).contains("n2");
    assertThat(facts.previousToken()).isEqualTo(3);
  }

  /**
   * Issue 37, watch: a watch that takes the activations gets them in log order with the key changes
   * (the token is the log index), and from a revision replays both, merged, from the history; where
   * the history no longer reaches back it is refused, naming the revision to go on from.
   */
  @Test
  void aWatchOfKeysAndRolesGetsActivationsInLogOrderAndReplaysThemFromTheHistory()
      throws Exception {
    BatonStateMachine small = new BatonStateMachine(2);
    apply(small, 1, activate("n1", 0));
    apply(small, 2, put("k/a"));
    List<String> live = new CopyOnWriteArrayList<>();
    try (AutoCloseable w = small.watch("k/", 0, Runnable::run, kv(live), roles(live))) {
      apply(small, 3, activate("n2", 0));
      apply(small, 4, put("k/b"));
      apply(small, 5, put("other/c"));
      await().atMost(Duration.ofSeconds(10)).until(() -> live.size() >= 2);
      assertThat(live).containsExactly("ACTIVATED n2@3 FAILOVER after n1@1", "PUT k/b@4");
    }

    List<String> replayed = new CopyOnWriteArrayList<>();
    try (AutoCloseable w = small.watch("k/", 1, Runnable::run, kv(replayed), roles(replayed))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> replayed.size() >= 3);
      assertThat(replayed)
          .containsExactly("PUT k/a@2", "ACTIVATED n2@3 FAILOVER after n1@1", "PUT k/b@4");
    }

    // Two more activations: the history (limit 2) keeps tokens 6 and 7 only, so the activations
    // after revision 2 can no longer be replayed; a key-only watch from there still can.
    apply(small, 6, activate("n3", 0));
    apply(small, 7, activate("n1", 0));
    assertThatThrownBy(() -> small.watch("k/", 2, Runnable::run, e -> {}, a -> {}))
        .isInstanceOfSatisfying(
            dev.baton.core.WatchRevisionGoneException.class,
            e -> {
              assertThat(e.requested()).isEqualTo(2);
              assertThat(e.oldestReplayable()).isEqualTo(3);
              assertThat(e.getMessage()).contains("activation history");
            });
    small.watch("k/", 2, Runnable::run, e -> {}).close();
    List<String> fromFloor = new CopyOnWriteArrayList<>();
    try (AutoCloseable w = small.watch("k/", 3, Runnable::run, kv(fromFloor), roles(fromFloor))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> fromFloor.size() >= 3);
      assertThat(fromFloor)
          .containsExactly(
              "PUT k/b@4",
              "ACTIVATED n3@6 FAILOVER after n2@3",
              "ACTIVATED n1@7 FAILOVER after n3@6");
    }
  }

  private static java.util.function.Consumer<dev.baton.core.KvEvent> kv(List<String> into) {
    return e -> into.add(e.type() + " " + e.entry().key() + "@" + e.revision());
  }

  private static java.util.function.Consumer<Activation> roles(List<String> into) {
    return a ->
        into.add(
            "ACTIVATED "
                + a.nodeId()
                + "@"
                + a.token()
                + " "
                + a.reason()
                + " after "
                + a.previousNodeId().orElse("-")
                + "@"
                + a.previousToken());
  }

  private static Command put(String key) {
    return Commands.builder()
        .setKvPut(
            dev.baton.core.internal.proto.KvPut.newBuilder()
                .setKey(key)
                .setValue(com.google.protobuf.ByteString.copyFromUtf8("v")))
        .build();
  }

  @Test
  void aLimitBelowOneIsRefusedNamingIt() {
    assertThatThrownBy(() -> new BatonStateMachine(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("historyLimit 0");
  }

  private static Command activate(String node, long proposedAtMs) {
    return Commands.builder()
        .setActivate(
            Activate.newBuilder().setNodeId(node).setTerm(TERM).setProposedAtMs(proposedAtMs))
        .build();
  }

  private static Command resign(String node, long token, String reason) {
    return Commands.builder()
        .setResign(Resign.newBuilder().setNodeId(node).setToken(token).setReason(reason))
        .build();
  }

  private static Command journal(
      String node,
      long token,
      String step,
      int attempt,
      JournalEntry.Outcome outcome,
      long monotonicMs,
      String error) {
    return Commands.journal(
        JournalRecord.newBuilder()
            .setNodeId(node)
            .setToken(token)
            .setAction(step)
            .setPhase("PROMOTE")
            .setAttempt(attempt)
            .setOutcome(outcome.name())
            .setSuccess(outcome == JournalEntry.Outcome.COMPLETED)
            .setError(error)
            .setMonotonicTimeMs(monotonicMs));
  }

  private void apply(Command command) throws Exception {
    apply(sm, ++index, command);
  }

  private static void apply(BatonStateMachine target, long index, Command command)
      throws Exception {
    StateMachineApply.committed(target, TERM, index, command);
  }
}
