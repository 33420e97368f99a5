package dev.baton.core.internal;

import dev.baton.core.Backoff;
import dev.baton.core.BatonException;
import dev.baton.core.BatonTimeoutException;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;

/**
 * One job: the writes any node may be asked to make, sent through a Ratis client that finds the
 * leader wherever it is (NotLeader redirects, the retry policy of {@link RaftSettings}), each
 * bounded by the operation timeout. Also what a Raft reply means to Baton ({@link #commandResult},
 * {@link #describe}), which {@link RaftNode}'s in-process requests share.
 */
final class LeaderClient implements AutoCloseable {
  private final RaftClient client;
  private final Duration operationTimeout;
  private final ExecutorService pool =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "baton-client");
            t.setDaemon(true);
            return t;
          });

  LeaderClient(RaftClient client, Duration operationTimeout) {
    this.client = client;
    this.operationTimeout = operationTimeout;
  }

  /**
   * Sends a write through the client, which finds the leader wherever it is. A leader that is
   * handing its leadership over refuses writes until the transfer ends (Ratis's
   * LeaderSteppingDownException, which its client does not retry); the entry was not appended, so
   * the write is sent again after a short pause, within the operation timeout.
   */
  CommandResult write(Command command) {
    long deadline = System.nanoTime() + operationTimeout.toNanos();
    for (int retry = 1; ; retry++) {
      Duration left = Duration.ofNanos(deadline - System.nanoTime());
      try {
        RaftClientReply reply =
            await(
                blocking(() -> client.io().send(BatonStateMachine.message(command.toByteArray()))),
                left.isNegative() ? Duration.ZERO : left,
                "write");
        return commandResult(reply);
      } catch (BatonException e) {
        long pause = STEPPING_DOWN.delay(retry).toNanos();
        if (!leaderSteppingDown(e) || deadline - System.nanoTime() < pause) {
          throw e;
        }
        try {
          TimeUnit.NANOSECONDS.sleep(pause);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new BatonException("write interrupted", ie);
        }
      }
    }
  }

  // A transfer lasts at most its timeout (a few election timeouts): retry a little faster than
  // that.
  private static final Backoff STEPPING_DOWN =
      new Backoff(Duration.ofMillis(20), Duration.ofMillis(200), true);

  private static boolean leaderSteppingDown(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof LeaderSteppingDownException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Runs a blocking client call on the client pool. The blocking client follows NotLeader redirects
   * and retries with the retry policy; the caller stops waiting at its own deadline.
   */
  private CompletableFuture<RaftClientReply> blocking(IoCall call) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return call.run();
          } catch (IOException e) {
            throw new CompletionException(e);
          }
        },
        pool);
  }

  @FunctionalInterface
  private interface IoCall {
    RaftClientReply run() throws IOException;
  }

  /** The state machine's answer in {@code reply}; a reply Raft refused throws, saying why. */
  static CommandResult commandResult(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      throw new BatonException("Raft refused the entry: " + describe(reply));
    }
    try {
      return CommandResult.parseFrom(reply.getMessage().getContent().toByteArray());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new BatonException("unreadable reply", e);
    }
  }

  /** Why Raft refused a request, in words. */
  static String describe(RaftClientReply reply) {
    if (reply.getNotLeaderException() != null) {
      return "not the leader (leader: " + reply.getNotLeaderException().getSuggestedLeader() + ")";
    }
    Exception e = reply.getException();
    if (e == null) {
      return "unknown reason";
    }
    // An exception without a message is named by its class rather than as "null".
    String message = e.getMessage();
    return message != null ? message : e.toString();
  }

  private static <T> T await(CompletableFuture<T> future, Duration timeout, String what) {
    try {
      return future.get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException(what + " interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof BatonException b) {
        throw b;
      }
      throw new BatonException(what + " failed: " + cause, cause);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new BatonTimeoutException(
          what + " did not complete within " + timeout.toMillis() + " ms (no leader reachable?)",
          e);
    }
  }

  /** Stops the pool's threads, then the client. */
  @Override
  public void close() throws IOException {
    pool.shutdownNow();
    client.close();
  }
}
