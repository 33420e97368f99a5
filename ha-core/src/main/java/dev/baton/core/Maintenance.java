package dev.baton.core;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * The cluster's maintenance mode ({@link Cluster#maintenance()}, {@link
 * Cluster#maintenance(boolean, String)}): one flag for the whole cluster, replicated through Raft
 * like the role itself, kept in snapshots, so it survives restarts, a full restart of every member
 * included.
 *
 * <p><b>What it changes.</b> While it is on, no role move starts for health reasons: an active
 * whose demoting health check is down stays active (its {@link NodeStatus.Health#note() health
 * note} says that maintenance holds it, and one WARN line is logged when that starts). When it is
 * turned off, health gating moves the role as it would have, at once if the active is still
 * unhealthy. No {@link FailbackPolicy failback} by priority happens either, and every hold-down
 * starts again when it is turned off.
 *
 * <p><b>What it does not change.</b>
 *
 * <ul>
 *   <li>A planned {@link Cluster#switchActive switch-active}, {@link Cluster#stepDown step-down} or
 *       {@link BatonNode#resign() resign} still works: maintenance is when an operator moves the
 *       role by hand.
 *   <li>The death of the active still frees the role: a crashed, paused, partitioned or closed
 *       active loses its lease as always, Raft elects a leader, and a new active is made with a
 *       higher token (I4 holds in maintenance too). Patroni's pause does the opposite (it keeps the
 *       primary and does nothing when it dies), and its users then ask why it did not fail over.
 *       Here an operator who turns maintenance on to work on a database or a plane never finds,
 *       afterwards, that a crash during the work left the cluster without an active: the lease
 *       cannot be kept by a dead node anyway, so the only choice a pause could make is "no active",
 *       which Baton never chooses on its own.
 *   <li>Which node takes a free role: a leader whose own checks are down still passes leadership to
 *       a healthy peer rather than activate (docs/lease.md, "Health gating", effect 2). That
 *       chooses the next active after a loss; it moves no role that someone holds.
 *   <li>Safety: the lease, the tokens and the fences never read the flag.
 * </ul>
 *
 * @param on whether maintenance mode is on
 * @param reason the text the operator gave (empty when none)
 * @param setBy the member whose API received the last change; empty when it was never set
 * @param client the control-API client that asked for the last change, by the name in its TLS
 *     certificate that authorised it (with a cluster secret, the name the client gave: any holder
 *     of the secret may give any name); empty when it was asked through this Java API, or through a
 *     control API without TLS, where no client has a name
 * @param setAt that member's wall clock when it proposed the change; empty when never set. For
 *     people to read only: members' clocks may disagree by any amount, and the order of changes is
 *     their {@code index}
 * @param index the Raft log index of the entry that made the last change, 0 when never set
 */
public record Maintenance(
    boolean on,
    String reason,
    Optional<String> setBy,
    Optional<String> client,
    Optional<Instant> setAt,
    long index) {

  /** The longest reason accepted, in characters. */
  public static final int MAX_REASON_LENGTH = 500;

  /** The state of a cluster where maintenance mode was never set: off. */
  public static final Maintenance NEVER_SET =
      new Maintenance(false, "", Optional.empty(), Optional.empty(), Optional.empty(), 0);

  public Maintenance {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(setBy, "setBy");
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(setAt, "setAt");
  }
}
