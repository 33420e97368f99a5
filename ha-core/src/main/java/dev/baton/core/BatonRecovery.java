package dev.baton.core;

import dev.baton.core.internal.ClusterRecovery;

/**
 * Recovery from a majority lost for good (docs/operations/disaster-recovery.md; the CLI's {@code
 * baton recover}): reads a copy of one surviving member's data directory offline and writes the
 * data directory of one member of a <em>new</em> cluster (a new cluster id, so a new Raft group),
 * seeded with its state: the KV, the journal and the last activation, and a token floor above every
 * token the old cluster may have issued, so that fences keep refusing the old cluster's writers.
 * Run it once per new member, each time from the same copy, then start every new member on its
 * directory (no bootstrap).
 *
 * <p>It refuses, writing nothing, while any old member answers on its Raft address, when the copy
 * is of a newer format or not a Baton data directory, when the target is not empty, and when the
 * new cluster id is the old one.
 */
public final class BatonRecovery {
  private BatonRecovery() {}

  /**
   * Reads, checks and writes.
   *
   * @throws BatonException naming what it refused, or what it could not read or write
   */
  public static RecoveryResult recover(RecoveryRequest request) {
    ClusterRecovery.Result r = ClusterRecovery.recover(request);
    return new RecoveryResult(
        r.oldClusterId(),
        r.fromNode(),
        r.floor(),
        r.newClusterId(),
        r.nodeId(),
        r.to(),
        r.describe());
  }
}
