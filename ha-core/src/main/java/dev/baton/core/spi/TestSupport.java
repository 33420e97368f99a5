package dev.baton.core.spi;

import dev.baton.core.BatonNode;
import dev.baton.core.internal.NodeCrash;
import java.util.Objects;

/**
 * What Baton's testing module ({@code baton-testing}) needs of a node beyond ha-core's API: the
 * faults it injects. For Baton's own modules only, not covered by the compatibility promise (see
 * the {@linkplain dev.baton.core.spi package}); a test calls {@code
 * dev.baton.testing.cluster.NodeFaults}, not this class.
 */
public final class TestSupport {
  private TestSupport() {}

  /**
   * Stops {@code node}'s Raft server at once without giving anything up, as a crash would. The
   * in-memory belief is frozen as it was, so {@link BatonNode#isActive()} keeps answering from the
   * lease until it expires, exactly what a process that is about to die would see. Does nothing
   * unless the node is started; the node is closed afterwards.
   */
  public static void crash(BatonNode node) {
    NodeCrash.crash(Objects.requireNonNull(node, "node"));
  }
}
