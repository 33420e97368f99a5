package dev.baton.core.internal;

import dev.baton.core.Maintenance;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Maintenance mode as the control server of the same process sets it: like {@code
 * Cluster.maintenance(boolean, String)}, with the asking client's certificate name recorded beside
 * the member, which the public API has no parameter for (an embedder names no client). Not an API:
 * {@code BatonNode} registers the accessor, with its own class, when its class loads, as for {@link
 * NodeSecurity}.
 */
public final class NodeMaintenance {
  // Null until the node class registers it.
  private static volatile @Nullable Accessor<?> accessor;

  private NodeMaintenance() {}

  /** Sets maintenance mode on one node type's instance. */
  @FunctionalInterface
  public interface Setter<N> {
    Maintenance set(N node, boolean on, String reason, String client);
  }

  private record Accessor<N>(Class<N> nodeType, Setter<? super N> setter) {
    Maintenance set(Object node, boolean on, String reason, String client) {
      if (!nodeType.isInstance(node)) {
        throw new IllegalArgumentException(
            "not a " + nodeType.getName() + ": " + node.getClass().getName());
      }
      return setter.set(nodeType.cast(node), on, reason, client);
    }
  }

  /** Called once, by the node class's static initializer, with that class. */
  public static <N> void register(Class<N> nodeType, Setter<? super N> setter) {
    if (accessor != null) {
      throw new IllegalStateException("the node maintenance accessor is already registered");
    }
    accessor =
        new Accessor<>(
            Objects.requireNonNull(nodeType, "nodeType"), Objects.requireNonNull(setter, "setter"));
  }

  /**
   * Turns maintenance mode on or off through {@code node}, recording {@code client} (empty: none)
   * as the client that asked.
   */
  public static Maintenance set(Object node, boolean on, String reason, String client) {
    Accessor<?> a = accessor;
    if (a == null) {
      throw new IllegalStateException("BatonNode has not registered its maintenance accessor");
    }
    return a.set(Objects.requireNonNull(node, "node"), on, reason, client);
  }
}
