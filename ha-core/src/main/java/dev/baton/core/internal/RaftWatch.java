package dev.baton.core.internal;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Watches the Raft server once the node counts as started. Ratis may stop the server under the node
 * (a fatal error in the log or the state machine): the node then stops too and says why, rather
 * than run on as a member that cannot act.
 */
final class RaftWatch {
  private final NodeConfig config;
  private final RaftNode raft;
  private final Consumer<String> stopItself;
  private final Runnable everyTick;
  // Null until start().
  private volatile @Nullable ScheduledExecutorService executor;

  /**
   * @param stopItself called with why when the Raft server stopped under the node
   * @param everyTick run on the watch's thread at every look (it must not throw)
   */
  RaftWatch(NodeConfig config, RaftNode raft, Consumer<String> stopItself, Runnable everyTick) {
    this.config = config;
    this.raft = raft;
    this.stopItself = stopItself;
    this.everyTick = everyTick;
  }

  /**
   * Looks every 500 ms from now on.
   *
   * @param running whether the node still counts as started (a closed node is not stopped again)
   */
  void start(BooleanSupplier running) {
    ScheduledExecutorService watch =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-raft-watch-" + config.self().id());
              t.setDaemon(true);
              return t;
            });
    executor = watch;
    AtomicReference<List<String>> lastConfiguration = new AtomicReference<>(List.of());
    watch.scheduleWithFixedDelay(
        () -> {
          if (running.getAsBoolean() && !raft.alive()) {
            stopItself.accept(
                whyRaftStopped(
                    Objects.requireNonNull(
                        lastConfiguration.get(),
                        "set to List.of() and then only to configurationIds(), never null")));
          } else {
            lastConfiguration.set(raft.configurationIds());
          }
          everyTick.run();
        },
        500,
        500,
        TimeUnit.MILLISECONDS);
  }

  void stop() {
    ScheduledExecutorService watch = executor;
    if (watch != null) {
      watch.shutdown();
    }
  }

  /**
   * Why the Raft server stopped under the node, as far as the node can tell: Ratis stops a server
   * whose election finds it outside its own configuration (NOT_IN_CONF), and says so only at INFO.
   */
  private String whyRaftStopped(List<String> configuration) {
    String self = config.self().id();
    if (!configuration.isEmpty() && !configuration.contains(self)) {
      return "its Raft server stopped: "
          + self
          + " is not a voter of the Raft configuration it last held "
          + configuration
          + ", and Ratis stops a server whose election finds it outside its configuration (a removed"
          + " member, or a joiner that had not yet received the entry that adds it; see the errors"
          + " logged before this line)";
    }
    return "its Raft server stopped (see the errors logged before this line)";
  }
}
