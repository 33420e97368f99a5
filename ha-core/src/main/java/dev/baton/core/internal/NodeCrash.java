package dev.baton.core.internal;

import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A crash of a node, for the fault injection of Baton's testing module: the node's Raft server
 * stops at once without giving anything up. Not an API: {@code BatonNode} registers the accessor,
 * with its own class, when its class loads, as for {@link NodeSecurity}; the testing module reaches
 * it through {@code dev.baton.core.spi.TestSupport}.
 */
public final class NodeCrash {
  // Null until the node class registers it.
  private static volatile @Nullable Accessor<?> accessor;

  private NodeCrash() {}

  private record Accessor<N>(Class<N> nodeType, Consumer<? super N> crash) {
    void crash(Object node) {
      if (!nodeType.isInstance(node)) {
        throw new IllegalArgumentException(
            "not a " + nodeType.getName() + ": " + node.getClass().getName());
      }
      crash.accept(nodeType.cast(node));
    }
  }

  /** Called once, by the node class's static initializer, with that class. */
  public static <N> void register(Class<N> nodeType, Consumer<? super N> crash) {
    if (accessor != null) {
      throw new IllegalStateException("the node crash accessor is already registered");
    }
    accessor =
        new Accessor<>(
            Objects.requireNonNull(nodeType, "nodeType"), Objects.requireNonNull(crash, "crash"));
  }

  /** Crashes {@code node}. */
  public static void crash(Object node) {
    Accessor<?> a = accessor;
    if (a == null) {
      throw new IllegalStateException("BatonNode has not registered its crash accessor");
    }
    a.crash(Objects.requireNonNull(node, "node"));
  }
}
