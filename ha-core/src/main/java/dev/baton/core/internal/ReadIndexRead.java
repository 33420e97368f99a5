package dev.baton.core.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.baton.core.BatonException;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * A linearizable read on the leader by read index with a fresh round, with no log entry and no
 * fsync ({@link RaftNode#read}, which decides when it applies and reads through the log otherwise).
 * Its own class so that RaftNode stays the server's lifecycle and what the role logic reads of it.
 */
final class ReadIndexRead {
  /** How long a read waits for an acknowledgement or an apply before it asks and looks again. */
  private static final long ROUND_POLL_NANOS = 2_000_000;

  /**
   * Whether a read asks again on every acknowledgement that does not settle it (the behaviour
   * before issue 40's second step) rather than only every {@link #ROUND_POLL_NANOS}: the system
   * property {@code baton.read.reaskOnAck}, read when the node starts, for side by side measurement
   * only ({@code scripts/bench kv-interleaved}). Asking on every acknowledgement sent a heartbeat
   * for each straggling reply of an earlier round, and those extra sends made the next read's round
   * wait behind Ratis's gap between two sends (README, KV).
   */
  private final boolean reaskOnAck =
      Boolean.parseBoolean(System.getProperty("baton.read.reaskOnAck", "false"));

  private final RaftNode raft;
  private final HeartbeatAcks acks;
  private final BatonStateMachine stateMachine;
  private final Duration timeout;
  private final String selfId;
  private final AppliedSignal applied = new AppliedSignal();

  ReadIndexRead(
      RaftNode raft,
      HeartbeatAcks acks,
      BatonStateMachine stateMachine,
      Duration timeout,
      String selfId) {
    this.raft = raft;
    this.acks = acks;
    this.stateMachine = stateMachine;
    this.timeout = timeout;
    this.selfId = selfId;
    stateMachine.addObserver((command, result, index, term) -> applied.signal());
  }

  /**
   * The read index read on the leader of {@code term} (Raft thesis §6.4, as etcd does it): with the
   * commit index {@code readIndex} noted when the read arrived, it takes a reading {@code arrived}
   * of the node's clock, asks every follower for an AppendEntries round now ({@code
   * LogAppender.triggerHeartbeat()}), and waits until a round <em>built after</em> {@code arrived}
   * (strictly later reading, {@link HeartbeatAcks}: taken before Ratis builds the request) was
   * acknowledged with SUCCESS in {@code term} by a majority of the configuration, this node
   * counting itself ({@link RaftNode#majorityAckedSendTime(long)}, the lease's own source). A
   * follower that acknowledged such a round had not moved past {@code term} when it received it,
   * after the read arrived; so no leader of a later term was elected before the read arrived, and
   * nothing was committed before then beyond {@code readIndex}. Then it waits until this node
   * applied up to {@code readIndex} and answers from the applied state. Concurrent reads share
   * rounds: a read asks at once and again only every 2 ms while its round is not there yet, and
   * Ratis sends one heartbeat per follower for all the asks it received since its last send.
   *
   * <p>A leader cut off after the read arrived gets no acknowledgement of such a round, so it never
   * answers: when the operation timeout passes first, the read is refused (falling back to the log
   * would wait just the same). When it stops leading {@code term} while waiting, the read goes
   * through the log instead, which finds the new leader.
   */
  QueryResult onLeader(
      Query query,
      long term,
      long readIndex,
      Runnable noted,
      Function<Query, QueryResult> throughLog) {
    long arrived = acks.read();
    noted.run();
    long timeoutNanos = timeout.toNanos();
    long start = System.nanoTime();
    boolean asked = false;
    long askedAt = start;
    try {
      while (true) {
        long seen = acks.acknowledgements();
        OptionalLong acked = raft.majorityAckedSendTime(term);
        if (acked.isPresent() && acked.getAsLong() - arrived > 0) {
          break;
        }
        if (!raft.leads(term)) {
          return throughLog.apply(query);
        }
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          throw new BatonException(
              "read refused: no round sent after the read arrived was acknowledged by a majority"
                  + " within "
                  + timeout.toMillis()
                  + " ms (leader "
                  + selfId
                  + ", term "
                  + term
                  + ")");
        }
        // Ask at once, and again every ROUND_POLL_NANOS while no round settles the read: a round
        // in flight when the read arrived does not count, and an ask that came while Ratis was
        // between building and sending a request is dropped by Ratis. Not on every
        // acknowledgement: most are stragglers of an earlier round, and each extra ask is an
        // extra send that the next read's round then waits behind.
        long now = System.nanoTime();
        if (!asked || reaskOnAck || now - askedAt >= ROUND_POLL_NANOS) {
          acks.triggerHeartbeats();
          asked = true;
          askedAt = now;
        }
        acks.awaitNext(seen, Math.min(left, ROUND_POLL_NANOS));
      }
      while (stateMachine.getLastAppliedTermIndex().getIndex() < readIndex) {
        long left = timeoutNanos - (System.nanoTime() - start);
        if (left <= 0) {
          throw new BatonException(
              "read refused: this leader had not applied up to the read index "
                  + readIndex
                  + " within "
                  + timeout.toMillis()
                  + " ms");
        }
        applied.awaitNext(Math.min(left, ROUND_POLL_NANOS));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BatonException("read interrupted", e);
    }
    // The state under the state machine's lock has applied at least readIndex (it only grows on
    // the leader).
    try {
      Message answer =
          stateMachine.query(Message.valueOf(ByteString.copyFrom(query.toByteArray()))).join();
      return QueryResult.parseFrom(answer.getContent().toByteArray());
    } catch (CompletionException | InvalidProtocolBufferException e) {
      throw new BatonException("read refused: " + e.getMessage(), e);
    }
  }

  /** Wakes reads waiting for the state machine to apply up to their read index. */
  private static final class AppliedSignal {
    private long count;

    synchronized void signal() {
      count++;
      notifyAll();
    }

    /** Waits at most {@code nanos} for the next signal (entries without a command send none). */
    synchronized void awaitNext(long nanos) throws InterruptedException {
      long seen = count;
      long end = System.nanoTime() + nanos;
      long left = nanos;
      while (count == seen && left > 0) {
        TimeUnit.NANOSECONDS.timedWait(this, left);
        left = end - System.nanoTime();
      }
    }
  }
}
