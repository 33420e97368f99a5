package dev.baton.core.internal;

import dev.baton.core.BatonNode;
import java.util.Objects;
import java.util.function.Function;

/**
 * How a {@link BatonNode}'s Raft port is secured, for the control server of the same process (it
 * takes the node's cluster secret by default, so the control API is authenticated whenever the Raft
 * port is). Not an API: {@link BatonNode} registers the accessor when its class loads.
 */
public final class NodeSecurity {
  private static volatile Function<BatonNode, RaftSecurity> accessor;

  private NodeSecurity() {}

  /** Called once, by {@link BatonNode}'s static initializer. */
  public static void register(Function<BatonNode, RaftSecurity> a) {
    if (accessor != null) {
      throw new IllegalStateException("the node security accessor is already registered");
    }
    accessor = Objects.requireNonNull(a, "accessor");
  }

  /** The security of {@code node}'s Raft port. */
  public static RaftSecurity of(BatonNode node) {
    Function<BatonNode, RaftSecurity> a = accessor;
    if (a == null) {
      throw new IllegalStateException("BatonNode has not registered its security accessor");
    }
    return a.apply(Objects.requireNonNull(node, "node"));
  }
}
