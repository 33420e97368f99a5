package dev.baton.testing.cluster;

import dev.baton.core.BatonNode;
import dev.baton.core.spi.TestSupport;

/**
 * Faults a test injects into a {@link BatonNode} that runs in its own JVM. Test code only: it lives
 * in baton-testing (which every module's tests and the benchmarks use), so that no API class
 * carries a public test hook; it reaches the node through {@link TestSupport}, for Baton's own
 * modules.
 */
public final class NodeFaults {
  private NodeFaults() {}

  /**
   * Stops the node's Raft server at once without giving anything up, as a crash would. The
   * in-memory belief is frozen as it was, so {@link BatonNode#isActive()} keeps answering from the
   * lease until it expires, exactly what a process that is about to die would see. Does nothing
   * unless the node is started; the node is closed afterwards.
   */
  public static void crash(BatonNode node) {
    TestSupport.crash(node);
  }
}
