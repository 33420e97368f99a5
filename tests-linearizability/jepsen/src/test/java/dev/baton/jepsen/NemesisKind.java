package dev.baton.jepsen;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** The faults the suite injects; each application is recorded in the run's schedule. */
public enum NemesisKind {
  /** The nodes split into two random halves (iptables DROP both ways between them). */
  PARTITION_HALVES,
  /** The active node cut off from every other node. */
  PARTITION_ISOLATE_ACTIVE,
  /**
   * The active node (the Raft leader) cut off from every other node right after a linearizable KV
   * read through it: a leader that answers reads from an earlier round would serve the old value
   * after the majority side has written a new one.
   */
  PARTITION_LEADER_AFTER_READ,
  /**
   * Jepsen's majorities ring: every node sees a majority, no two see the same one (5+ nodes; with 3
   * nodes every node sees both others, so it is a bridge instead).
   */
  PARTITION_MAJORITY_RING,
  /** Two halves joined by one node that sees both. */
  PARTITION_BRIDGE,
  /** SIGKILL of a node (random, the active, or all nodes), restarted after the fault. */
  KILL,
  /** SIGSTOP of the active node for longer than the lease, then SIGCONT. */
  PAUSE,
  /**
   * Clock-rate drift: a node is restarted with its whole clock running at another rate (its lease
   * ticker and its Ratis election timers, see {@code NodeApp.drifted}), beyond the configured 1%
   * bound.
   */
  CLOCK,
  /** SIGKILL of the PostgreSQL primary; the standby is promoted, the old primary rejoins. */
  PG_KILL,
  /**
   * The active paused while it holds an open fenced PostgreSQL transaction (a share lock on the
   * fence row, a row lock on the commit counter), and cut off from the primary: its successor's
   * fence advance must end that orphaned session (the paused client can neither commit nor close
   * it), and the transaction must never commit once the node wakes up.
   */
  PG_PAUSED_TXN,
  /** SIGSTOP of the DNS server (BIND) during a failover. */
  DNS_PAUSE,
  /**
   * A planned switch-active to a random standby through the gRPC control API, plain, while the
   * third node is cut off, or with the target paused right after the request (the transfer then
   * fails or lands late).
   */
  SWITCH_ACTIVE,
  /**
   * Membership change: a standby is removed from the cluster, its data directory wiped, and it is
   * added back as a new voter that starts with {@code joining} and catches up (the documented way
   * to replace a node).
   */
  MEMBERSHIP,
  /**
   * A wiped data directory: a node is killed, its data directory emptied (a replaced disk), and it
   * is started again as it was. Baton must refuse to let it vote with no memory; the nemesis then
   * re-adds it the documented way (remove, start with {@code joining}, add).
   */
  WIPE,
  /**
   * An outsider on the network (the harness, with no secret): a plain Ratis client and a raw
   * server-protocol stub try a raw write, a reconfiguration, a leadership transfer and a forced
   * election; every attempt must be refused.
   */
  OUTSIDER,
  /**
   * Health gating (issue 31): each node runs a health check the harness flips with a marker file in
   * the node's directory. One fault runs three phases: (1) the active turns unhealthy, and the role
   * must move to a healthy node (the harness waits up to {@link Checks#HEALTH_MOVE_BOUND} for it);
   * (2) every node is unhealthy at once, and an active stays; (3) the active's health flaps until
   * the fault ends. Healed at the end: every marker removed.
   */
  HEALTH,
  /**
   * Region loss (issue 32): the active is SIGSTOPped and its region, the active and the PostgreSQL
   * primary, is cut off (iptables) from the other nodes and from the standby, while that primary
   * stays up and a writer on the harness keeps committing on it with the old active's token through
   * the public SQL protocol ({@code baton.check_fence}). The harness promotes the standby, as an
   * external HA manager would, without reaching the old primary; a successor must become active. No
   * commit with the old token may land on the old primary after the old active's lease would have
   * ended (the fence lease's {@code valid_until}). Healed: SIGCONT, the old primary rebuilt as the
   * new primary's standby.
   */
  REGION_CUT;

  /** The partitions, all kinds. */
  public static final Set<NemesisKind> PARTITIONS =
      EnumSet.of(
          PARTITION_HALVES,
          PARTITION_ISOLATE_ACTIVE,
          PARTITION_LEADER_AFTER_READ,
          PARTITION_MAJORITY_RING,
          PARTITION_BRIDGE);

  public String wireName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Parses {@code partition,kill,pause} style lists; {@code partition} means all five kinds. */
  public static Set<NemesisKind> parse(String csv) {
    Set<NemesisKind> out = EnumSet.noneOf(NemesisKind.class);
    for (String s : csv.split(",")) {
      String n = s.trim().toUpperCase(Locale.ROOT).replace('-', '_');
      if (n.isEmpty()) {
        continue;
      }
      if (n.equals("PARTITION")) {
        out.addAll(PARTITIONS);
      } else if (n.equals("ALL")) {
        out.addAll(EnumSet.allOf(NemesisKind.class));
      } else {
        out.add(NemesisKind.valueOf(n));
      }
    }
    return out;
  }
}
