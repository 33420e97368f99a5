package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.internal.proto.MaintenanceMode;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What health gating decides for the role controller (docs/lease.md, "Health gating"), on its
 * thread: whether a leader that holds no role activates (effect 2: an unhealthy node is not a
 * candidate, with its two fallbacks), and whether an unhealthy active hands the role over and to
 * whom (effects 1, 3 and 4). It only decides and notes; the role's transitions (activate, demote,
 * hand over) stay in {@link RoleController}, which acts on the answer. What the checks and the
 * members' records say, and the move interval, are {@link HealthGate}'s; how leadership is passed
 * on is {@link LeadershipHandOff}'s.
 *
 * <p>Maintenance mode ({@code dev.baton.core.Maintenance}) suspends effect 1 only: an unhealthy
 * active stays while it is on. Effect 2 is left as it is: it chooses who takes a role that no one
 * holds (after the active died, say), and maintenance never stops a lost active from being
 * replaced.
 */
final class HealthHandOver {
  /** Why a leader activates: eligible, or although unhealthy and why. */
  enum Fallback {
    /** It is eligible by its own checks. */
    NONE,
    /** Unhealthy, but no peer is healthy and reachable: an active is better than none. */
    NO_HEALTHY_PEER,
    /** Unhealthy, but leadership came back untaken after it handed it on: the records lag. */
    CAME_BACK
  }

  private final HealthGate health;
  private final LeadershipHandOff handOff;
  private final Supplier<MaintenanceMode> maintenance;

  HealthHandOver(
      HealthGate health, LeadershipHandOff handOff, Supplier<MaintenanceMode> maintenance) {
    this.health = health;
    this.handOff = handOff;
    this.maintenance = maintenance;
  }

  /** A standby that does not lead: health gating has nothing to do and nothing to say. */
  void notLeading() {
    health.note("");
  }

  /**
   * Effect 2, for a ready leader that holds no role: whether it activates, and on which ground. An
   * unhealthy leader with a healthy, reachable peer hands leadership to it (rate-limited) and does
   * not activate.
   *
   * @return the ground to activate on, or empty when it must not activate now
   */
  Optional<Fallback> beforeActivating(long now, long term) {
    if (health.eligible()) {
      handOff.forgetUnhealthyHandOff();
      health.trustRecords();
      health.note("");
      return Optional.of(Fallback.NONE);
    }
    Optional<Member> target = health.healthyTarget(handOff.eligiblePeers());
    if (target.isPresent() && handOff.unhealthyHandOffCameBack(term)) {
      // It was handed on for health before and came back with no activation in between: the
      // records that named a healthy peer lag behind. An active is better than none.
      health.note(
          "activating although unhealthy: leadership came back and no node took the role"
              + " (health records lag)");
      return Optional.of(Fallback.CAME_BACK);
    }
    if (target.isPresent()) {
      // Not a candidate while unhealthy: leadership goes to a healthy peer, which activates.
      health.note("not activating: unhealthy; handing leadership to " + target.get().id());
      handOff.maybeUnhealthyTo(now, target.get().id(), health.downReasons());
      return Optional.empty();
    }
    // Every reachable peer is unhealthy too: an active is better than none.
    health.note("activating although unhealthy: no healthy peer");
    return Optional.of(Fallback.NO_HEALTHY_PEER);
  }

  /**
   * The activation with {@code token} committed on {@code fallback}'s ground. A fallback is a role
   * move caused by health: the next move for health waits minMoveInterval from now, like after a
   * hand-over (and a came-back fallback sets the lagging records aside).
   */
  void activated(long token, Fallback fallback) {
    if (fallback != Fallback.NONE) {
      health.activatedAlthoughUnhealthy(token, fallback == Fallback.CAME_BACK);
    }
  }

  /**
   * Effect 1 of health gating: an active whose demoting check is down hands the role to a healthy
   * eligible peer through the same path as a switch-active (the caller demotes first, then
   * transfers), at most once per minMoveInterval cluster-wide; with no healthy peer it stays active
   * and says so (effect 3). While maintenance mode is on it stays active and says that maintenance
   * holds it (the note, logged once when it starts); once it is off, the move is judged as if it
   * had never been on.
   *
   * @return the peer to hand the role to now (the move is already counted), or empty to stay
   */
  Optional<String> targetForActive(long now) {
    if (!health.handOver()) {
      health.note("");
      return Optional.empty();
    }
    MaintenanceMode m = maintenance.get();
    if (m.getOn()) {
      health.note(suspendedNote(m));
      return Optional.empty();
    }
    Optional<Member> target = health.healthyTarget(handOff.eligiblePeers());
    if (target.isEmpty()) {
      health.note(
          health.distrustsLaggedRecords()
              ? HealthGate.NO_FRESH_HEALTHY_PEER
              : HealthGate.NO_HEALTHY_PEER);
      return Optional.empty();
    }
    if (!health.moveAllowed(now)) {
      health.note(
          "stays active: unhealthy, but the role moved for health less than minMoveInterval ago");
      return Optional.empty();
    }
    health.note("");
    health.moving(target.get().id());
    return Optional.of(target.get().id());
  }

  /** What an unhealthy active that maintenance holds says (status note, one WARN line). */
  static String suspendedNote(MaintenanceMode m) {
    return HealthGate.MAINTENANCE_HOLDS
        + " (set through "
        + (m.getRequester().isEmpty() ? "an unnamed member" : m.getRequester())
        + (m.getReason().isEmpty() ? "" : ": " + m.getReason())
        + "); the role moves for health once it is turned off";
  }
}
