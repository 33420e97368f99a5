package dev.baton.core.internal;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.protocol.TermIndex;

/**
 * Ratis's gRPC transport, unchanged except that every log appender's {@link LeaderState} is wrapped
 * so that {@link HeartbeatAcks} learns when each AppendEntries request was built (a reading of the
 * node's clock) and which of them a follower acknowledged with SUCCESS in the request's term. The
 * appender is Ratis's own {@code GrpcLogAppender}, paced while its follower does not answer ({@link
 * PacedLogAppender}): what is sent and how replies are handled do not change. The appenders of the
 * latest leadership are also handed to {@link HeartbeatAcks}, so that the role controller can ask
 * them for a heartbeat sooner than Ratis's idle interval ({@code LogAppender.triggerHeartbeat()},
 * {@link HeartbeatAcks#triggerHeartbeats()}). Ratis creates the factory by class name ({@link
 * Type}), and finds the {@link HeartbeatAcks} of its node in its {@link Parameters} under {@link
 * #ACKS_KEY}.
 */
public final class AckTrackingGrpcFactory extends GrpcFactory {
  /** The {@link Parameters} key of the node's {@link HeartbeatAcks}. */
  public static final String ACKS_KEY = "baton.heartbeat-acks";

  /**
   * The {@code RpcType} to give {@code RaftConfigKeys.Rpc.setType}: Ratis stores its name, a class
   * name, and instantiates it through its public no-argument constructor.
   */
  public static final class Type implements RpcType {
    public Type() {}

    @Override
    public String name() {
      return Type.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
      return new AckTrackingGrpcFactory(parameters);
    }
  }

  private final HeartbeatAcks acks;

  public AckTrackingGrpcFactory(Parameters parameters) {
    super(parameters);
    this.acks = parameters.getNonNull(ACKS_KEY, HeartbeatAcks.class);
  }

  @Override
  public LogAppender newLogAppender(
      RaftServer.Division server, LeaderState state, FollowerInfo follower) {
    String id = follower.getId().toString();
    LogAppender appender = new PacedLogAppender(server, new Tap(state, id, acks), follower);
    // Kept so that the role controller can ask for a heartbeat now
    // (HeartbeatAcks.triggerHeartbeats).
    acks.appenderCreated(state, id, appender);
    return appender;
  }

  /**
   * The leader state of one appender (one follower, one leadership): everything goes to Ratis's own
   * state; on the way, the build of each request and each reply is noted.
   */
  private static final class Tap implements LeaderState {
    /** Requests built and not yet answered are forgotten beyond this many (oldest first). */
    private static final int MAX_PENDING = 1024;

    private final LeaderState delegate;
    private final String follower;
    private final HeartbeatAcks acks;
    // call id -> {term, clock reading}; guarded by itself. Call ids grow with each request built.
    private final TreeMap<Long, long[]> built = new TreeMap<>();

    Tap(LeaderState delegate, String follower, HeartbeatAcks acks) {
      this.delegate = delegate;
      this.follower = follower;
      this.acks = acks;
    }

    @Override
    public AppendEntriesRequestProto newAppendEntriesRequestProto(
        FollowerInfo f, List<LogEntryProto> entries, TermIndex previous, long callId) {
      // Read before the request exists, so before Ratis stamps and sends it: never late.
      long reading = acks.read();
      AppendEntriesRequestProto request =
          delegate.newAppendEntriesRequestProto(f, entries, previous, callId);
      synchronized (built) {
        built.put(callId, new long[] {request.getLeaderTerm(), reading});
        while (built.size() > MAX_PENDING) {
          built.pollFirstEntry();
        }
      }
      return request;
    }

    @Override
    public void onAppendEntriesReply(LogAppender appender, AppendEntriesReplyProto reply) {
      try {
        noteReply(reply);
      } finally {
        delegate.onAppendEntriesReply(appender, reply);
      }
    }

    private void noteReply(AppendEntriesReplyProto reply) {
      long callId = reply.getServerReply().getCallId();
      long[] sent;
      synchronized (built) {
        sent = built.remove(callId);
        if (sent != null && reply.getResult() == AppendEntriesReplyProto.AppendResult.SUCCESS) {
          // Requests built earlier were read earlier: this acknowledgement supersedes theirs.
          Map<Long, long[]> older = built.headMap(callId, false);
          older.clear();
        }
      }
      if (sent == null
          || reply.getResult() != AppendEntriesReplyProto.AppendResult.SUCCESS
          || reply.getTerm() != sent[0]) {
        return;
      }
      acks.acknowledged(follower, sent[0], sent[1]);
    }

    @Override
    public void restart(LogAppender appender) {
      delegate.restart(appender);
    }

    @Override
    public void checkHealth(FollowerInfo f) {
      delegate.checkHealth(f);
    }

    @Override
    public boolean onFollowerTerm(FollowerInfo f, long followerTerm) {
      return delegate.onFollowerTerm(f, followerTerm);
    }

    @Override
    public void onFollowerCommitIndex(FollowerInfo f, long commitIndex) {
      delegate.onFollowerCommitIndex(f, commitIndex);
    }

    @Override
    public void onFollowerSuccessAppendEntries(FollowerInfo f) {
      delegate.onFollowerSuccessAppendEntries(f);
    }

    @Override
    public boolean isFollowerBootstrapping(FollowerInfo f) {
      return delegate.isFollowerBootstrapping(f);
    }
  }
}
