package dev.baton.core.internal;

import dev.baton.core.StandbyReason;
import dev.baton.core.internal.proto.SwitchRequest;
import java.util.Optional;

/**
 * Whether the active hands the role on at a step of the role controller, and to whom: a pending
 * switch whose target is ready ({@link PendingSwitch}), else an unhealthy active's hand-over
 * ({@link HealthHandOver#targetForActive}); with no switch pending that this node would act on, a
 * failback that is due is asked for through the log ({@link FailbackHandOver#askIfDue}), and the
 * switch path carries it out once it applies. It only decides; the hand-over (demote, bar the term,
 * transfer) is {@link RoleController}'s. Used only by the controller's thread, after the lease has
 * been renewed and judged.
 */
final class ActiveHandOver {
  private final PendingSwitch pendingSwitch;
  private final HealthHandOver healthHandOver;
  private final FailbackHandOver failback;

  ActiveHandOver(
      PendingSwitch pendingSwitch, HealthHandOver healthHandOver, FailbackHandOver failback) {
    this.pendingSwitch = pendingSwitch;
    this.healthHandOver = healthHandOver;
    this.failback = failback;
  }

  /** For the active {@code a}, at {@code now}: the hand-over to carry out, or empty. */
  Optional<PendingSwitch.HandOver> due(long now, RoleController.Activation a) {
    SwitchRequest pending = pendingSwitch.read();
    Optional<PendingSwitch.HandOver> due = pendingSwitch.forActive(pending, now, a.term());
    if (due.isPresent()) {
      return due;
    }
    Optional<String> target = healthHandOver.targetForActive(now);
    if (target.isPresent()) {
      return Optional.of(new PendingSwitch.HandOver(target.get(), StandbyReason.UNHEALTHY));
    }
    if (!pendingSwitch.open(pending)) {
      // Asks through the log; the switch path above carries it out once it applies.
      failback.askIfDue(a.token());
    }
    return Optional.empty();
  }
}
