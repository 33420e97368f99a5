package dev.baton.core.internal;

import dev.baton.core.BatonException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.LockSupport;

/**
 * Starting the Raft server: the quiet period before it (step 3 of the lease argument), the check
 * that its port is free, and errors that name the port and the reason when it cannot start.
 */
final class RaftStartup {
  private final NodeConfig config;
  private final long quietUntil;

  /**
   * Starts the quiet period now. Step 3 of the lease argument: this node may have acknowledged the
   * old active's lease round just before it crashed, and has forgotten it. Staying silent for one
   * minimum election timeout means it cannot help elect a new leader while that lease may still
   * run.
   */
  RaftStartup(NodeConfig config) {
    this.config = config;
    this.quietUntil = System.nanoTime() + config.timing().electionTimeoutMin().toNanos();
  }

  /**
   * Waits out the rest of the quiet period, then starts {@code raft}.
   *
   * @throws BatonException if the Raft server cannot start (the port is taken, or its storage holds
   *     what this release cannot read), with the reason in its message
   */
  void start(RaftNode raft) {
    long wait;
    while ((wait = quietUntil - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
    }
    // Again, just before Ratis binds: the quiet period gave another process time to take it.
    requirePortFree(config);
    try {
      raft.start();
    } catch (IOException | RuntimeException e) {
      // Ratis wraps what a division's start threw (CompletionException): the reason an operator
      // needs (a snapshot in a newer format names both versions, say) goes to the top.
      throw cannotStart(config, reasonOf(e), e);
    }
  }

  /**
   * Ratis ends the whole JVM (System.exit, in its gRPC services' start) when it cannot bind the
   * Raft port, so a taken port is found here first and refused with an error naming it. A port
   * taken between the last check and Ratis's bind still ends the process, as before.
   */
  static void requirePortFree(NodeConfig config) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress(config.bindHost(), config.bindPort()));
    } catch (IOException | RuntimeException e) {
      throw cannotStart(config, "the port cannot be bound (" + reasonOf(e) + "); is it taken?", e);
    }
  }

  private static BatonException cannotStart(NodeConfig config, String reason, Exception cause) {
    return new BatonException(
        "node "
            + config.self().id()
            + " cannot start its Raft server on "
            + config.bindHost()
            + ":"
            + config.bindPort()
            + ": "
            + reason,
        cause);
  }

  private static String reasonOf(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}
