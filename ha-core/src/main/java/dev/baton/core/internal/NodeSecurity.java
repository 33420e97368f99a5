package dev.baton.core.internal;

import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * How a node's Raft port is secured, for the control server of the same process (it takes the
 * node's cluster secret by default, so the control API is authenticated whenever the Raft port is).
 * Not an API: {@code BatonNode} registers the accessor, with its own class, when its class loads.
 * The node's type arrives here as a value, so this package does not depend on the class that
 * depends on it (API types, then internal, then BatonNode, then control).
 */
public final class NodeSecurity {
  // Null until the node class registers it.
  private static volatile @Nullable Accessor<?> accessor;

  private NodeSecurity() {}

  private record Accessor<N>(Class<N> nodeType, Function<? super N, RaftSecurity> security) {
    RaftSecurity of(Object node) {
      if (!nodeType.isInstance(node)) {
        throw new IllegalArgumentException(
            "not a " + nodeType.getName() + ": " + node.getClass().getName());
      }
      return security.apply(nodeType.cast(node));
    }
  }

  /** Called once, by the node class's static initializer, with that class. */
  public static <N> void register(Class<N> nodeType, Function<? super N, RaftSecurity> security) {
    if (accessor != null) {
      throw new IllegalStateException("the node security accessor is already registered");
    }
    accessor =
        new Accessor<>(
            Objects.requireNonNull(nodeType, "nodeType"),
            Objects.requireNonNull(security, "security"));
  }

  /** The security of {@code node}'s Raft port. */
  public static RaftSecurity of(Object node) {
    Accessor<?> a = accessor;
    if (a == null) {
      throw new IllegalStateException("BatonNode has not registered its security accessor");
    }
    return a.of(Objects.requireNonNull(node, "node"));
  }
}
