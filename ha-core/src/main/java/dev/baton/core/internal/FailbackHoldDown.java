package dev.baton.core.internal;

import dev.baton.core.Ticker;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hold-down of failback by priority ({@code dev.baton.core.FailbackPolicy}), on the active: for
 * each member with a strictly higher priority than the active, since when it has been ready (up,
 * caught up and healthy) without a break, by the node's {@link Ticker}. It only tracks and answers;
 * what "ready" means is judged by {@link FailbackHandOver}, which feeds it one look at a time.
 *
 * <p>A break starts a member's hold-down again: a look at which it is not ready, a look at which it
 * is missing, and a look at which its health record's revision differs from the one its hold-down
 * started with. The last catches a flap that came and went between two looks: a member publishes
 * its health record only when its health changes, and once at each start, so a new revision means
 * it fell sick and recovered, or restarted. A new activation of the active (another token) starts
 * every hold-down again: what an earlier activation saw is not carried over.
 *
 * <p>Never between equal priorities: a member whose priority is not strictly higher than the
 * active's is not tracked at all. Used by the role controller's thread only.
 */
final class FailbackHoldDown {
  private static final Logger LOG = LoggerFactory.getLogger(FailbackHoldDown.class);

  /**
   * One member, as the active sees it at one look.
   *
   * @param id the member
   * @param priority its priority
   * @param notReady why it is not ready (down, behind, unhealthy); empty when it is
   * @param healthRevision the revision of its health record, 0 when it has none
   */
  record Candidate(String id, int priority, String notReady, long healthRevision) {
    boolean ready() {
      return notReady.isEmpty();
    }
  }

  private record Held(long sinceNanos, long healthRevision) {}

  private final String selfId;
  private final long holdDownNanos;
  private final Ticker ticker;
  private final Map<String, Held> held = new LinkedHashMap<>();
  private long token = -1;

  FailbackHoldDown(String selfId, Duration holdDown, Ticker ticker) {
    this.selfId = selfId;
    this.holdDownNanos = holdDown.toNanos();
    this.ticker = ticker;
  }

  /**
   * One look by the active of {@code activeToken}, whose priority is {@code activePriority}, at the
   * members {@code seen} (best first: on a tie of priority the first wins).
   *
   * @return the member to hand the role to now: of those whose hold-down has run out, the one with
   *     the highest priority; empty when none
   */
  Optional<String> look(long activeToken, int activePriority, List<Candidate> seen) {
    long now = ticker.read();
    if (activeToken != token) {
      held.clear();
      token = activeToken;
    }
    Map<String, Candidate> byId = new LinkedHashMap<>();
    for (Candidate c : seen) {
      if (c.priority() > activePriority) {
        byId.put(c.id(), c);
      }
    }
    held.keySet()
        .removeIf(
            id -> {
              if (!byId.containsKey(id)) {
                LOG.info(
                    "{}: failback: {} is no longer a candidate; hold-down cleared", selfId, id);
                return true;
              }
              return false;
            });
    Candidate best = null;
    for (Candidate c : byId.values()) {
      Held h = held.get(c.id());
      if (!c.ready()) {
        if (h != null) {
          held.remove(c.id());
          LOG.info(
              "{}: failback: hold-down of {} (priority {}) broken after {} ms: {}",
              selfId,
              c.id(),
              c.priority(),
              TimeUnit.NANOSECONDS.toMillis(now - h.sinceNanos()),
              c.notReady());
        }
        continue;
      }
      if (h == null || h.healthRevision() != c.healthRevision()) {
        if (h != null) {
          LOG.info(
              "{}: failback: {} published a new health record (revision {}, was {}): its"
                  + " hold-down starts again",
              selfId,
              c.id(),
              c.healthRevision(),
              h.healthRevision());
        }
        held.put(c.id(), new Held(now, c.healthRevision()));
        LOG.info(
            "{}: failback: {} (priority {}, above this active's {}) is up, caught up and healthy;"
                + " the role fails back to it after {} ms without a break",
            selfId,
            c.id(),
            c.priority(),
            activePriority,
            TimeUnit.NANOSECONDS.toMillis(holdDownNanos));
        continue;
      }
      if (now - h.sinceNanos() >= holdDownNanos
          && (best == null || c.priority() > best.priority())) {
        best = c;
      }
    }
    return best == null ? Optional.empty() : Optional.of(best.id());
  }

  /** Forgets every hold-down: the next look starts each one again (maintenance mode). */
  void clear() {
    held.clear();
  }

  /** How long {@code id} has been held ready, if it is. */
  Optional<Duration> heldFor(String id) {
    Held h = held.get(id);
    return h == null
        ? Optional.empty()
        : Optional.of(Duration.ofNanos(ticker.read() - h.sinceNanos()));
  }
}
