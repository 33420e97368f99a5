package dev.baton.core;

import java.time.Duration;
import java.util.Optional;

/**
 * One activation of this node: its fencing token and a way to ask, at the moment of a side effect,
 * whether it still holds the role.
 *
 * <p>The lease check is only as good as the clock-rate bound it was built on; a pause between the
 * check and the effect can outlive the lease. For effects on shared resources, carry {@link
 * #token()} to a {@link Fence} that checks it: that holds regardless of timing.
 */
public interface ActiveContext {

  /** The fencing token of this activation: greater than every token issued before it. */
  long token();

  /** The id of this node. */
  String nodeId();

  /** The node that was active before this activation, if known. */
  Optional<String> previousActive();

  /** The token of the previous activation, or 0 when there was none. */
  long previousToken();

  /** Whether this activation still holds a valid lease at this instant. */
  boolean isLeaseValid();

  /** How much of the lease remains at this instant (zero when it has ended). */
  Duration leaseRemaining();

  /**
   * Returns normally if the lease is valid now.
   *
   * @throws NotActiveException naming the token, when this activation is over
   */
  void checkLease();
}
