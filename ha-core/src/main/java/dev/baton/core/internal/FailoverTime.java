package dev.baton.core.internal;

import dev.baton.core.Activation;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.server.DivisionInfo;

/**
 * The failover time as the new active sees it, for {@code baton_failover_duration_seconds}: from
 * the end of the previous active's lease, as this node can place it on its own clock, to the moment
 * this node turned ACTIVE (its promotion plan completed).
 *
 * <p>Where the previous lease ended: no node can read another's lease, and clocks of different
 * nodes are not comparable, so the end is placed from what this node saw as a follower: the last
 * AppendEntries (a heartbeat or entries) it received from the previous active while that node led,
 * plus the lease's length. The previous active's lease ran from the send time of a round a majority
 * acknowledged (docs/lease.md, step 1); when it crashed or froze, its rounds stopped for every
 * member at once, so its last renewal was sent no later than this node's last receipt, and its
 * lease ended no later than that receipt plus the lease (up to the 1% drift bound). The figure is
 * then at least the part of the failover that followed the lease's end: the election (which waits
 * out a follower time-out of at least {@code electionTimeoutMin} from that receipt, longer than the
 * lease), the activation and the promotion plan. When the previous active was cut off from this
 * node alone and kept renewing through another member, its lease ended later than placed here, and
 * the figure counts that extra time too.
 *
 * <p>Only activations whose history reason is FAILOVER count (not a start, a switch, a health move
 * or a failback: there the old active gave the role up before the transfer), and only when this
 * node heard from the previous active as its leader; a node that restarted since, or never followed
 * it, records nothing.
 *
 * <p>The figure goes to the histogram and, through the report that this node is ACTIVE, into the
 * activation's history record ({@code Activation.failoverDuration()}), where every member and the
 * status page's timeline read it.
 *
 * <p>Thread-safe: the controller's thread notes receipts, the thread that completes a promotion
 * measures.
 */
final class FailoverTime {
  private final String self;
  private final BatonStateMachine stateMachine;
  private final long leaseNanos;
  private final NodeMetrics metrics;
  // Leader id -> the term and this node's clock reading when it last received an AppendEntries
  // from it.
  private final Map<String, Heard> lastHeard = new HashMap<>();

  private record Heard(long term, long at) {}

  FailoverTime(String self, BatonStateMachine stateMachine, Lease lease, NodeMetrics metrics) {
    this.self = self;
    this.stateMachine = stateMachine;
    this.leaseNanos = lease.lengthNanos();
    this.metrics = metrics;
  }

  /**
   * A step of the controller while this node follows: notes when it last heard from its leader.
   * Ratis keeps that time until the follower times out, which is at least {@code
   * electionTimeoutMin} after it; the controller steps a follower at least every quarter of that,
   * so the last receipt is read before it is gone.
   */
  synchronized void following(DivisionInfo info, long now) {
    var role = info.getRoleInfoProto();
    if (info.getLeaderId() == null
        || !role.hasFollowerInfo()
        || !role.getFollowerInfo().hasLeaderInfo()) {
      return;
    }
    long elapsed = role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
    lastHeard.put(
        info.getLeaderId().toString(),
        new Heard(info.getCurrentTerm(), now - TimeUnit.MILLISECONDS.toNanos(elapsed)));
  }

  /**
   * This node turns ACTIVE at {@code now} with {@code token}: the time of the failover in ns, when
   * it is one and this node heard from the previous active as its leader in the term of that
   * activation (a figure from an older term of the same node would be no bound at all); empty
   * otherwise. Changes nothing: {@link #record} counts it once the node is ACTIVE, and the report
   * that it is ACTIVE carries it into the history ({@link ActiveReport}).
   */
  synchronized OptionalLong measure(long token, long now) {
    List<Activation> history = stateMachine.history();
    Activation current = null;
    for (int i = history.size() - 1; i >= 0; i--) {
      Activation a = history.get(i);
      if (a.token() == token) {
        current = a;
      } else if (current != null && a.token() == current.previousToken()) {
        if (current.reason() != Activation.Reason.FAILOVER || a.nodeId().equals(self)) {
          return OptionalLong.empty();
        }
        Heard heard = lastHeard.get(a.nodeId());
        if (heard != null && heard.term() == a.term()) {
          return OptionalLong.of(Math.max(0, now - (heard.at() + leaseNanos)));
        }
        return OptionalLong.empty();
      }
    }
    return OptionalLong.empty();
  }

  /** Counts {@code failoverNanos}, {@link #measure}'s figure, in the histogram if there is one. */
  void record(OptionalLong failoverNanos) {
    failoverNanos.ifPresent(metrics::failover);
  }
}
