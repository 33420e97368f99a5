package dev.baton.core.internal;

import dev.baton.core.Timing;
import java.io.File;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * One job: the Ratis settings of a node's server and of its client, from the node's configuration.
 * {@link RaftNode} builds both from these; nothing here starts anything. The settings the lease
 * argument rests on (pre-vote on, the election timeouts of {@link Timing}) are set here and only
 * here.
 */
final class RaftSettings {
  private RaftSettings() {}

  /** The server's properties: storage, timeouts, pre-vote, reads, snapshots, bind address. */
  static RaftProperties server(NodeConfig config) {
    RaftProperties properties = new RaftProperties();
    Timing t = config.timing();
    RaftServerConfigKeys.setStorageDir(properties, List.of(new File(config.dataDir(), "raft")));
    RaftServerConfigKeys.Rpc.setTimeoutMin(properties, millis(t.electionTimeoutMin()));
    RaftServerConfigKeys.Rpc.setTimeoutMax(properties, millis(t.electionTimeoutMax()));
    RaftServerConfigKeys.Rpc.setRequestTimeout(properties, millis(config.operationTimeout()));
    // The lease argument (docs/lease.md, step 2) rests on pre-vote: a follower that heard from a
    // valid leader within the minimum election timeout refuses a pre-vote, while Ratis skips that
    // check in the real vote of a higher term. Never turn it off.
    RaftServerConfigKeys.LeaderElection.setPreVote(properties, true);
    RaftServerConfigKeys.Read.setOption(properties, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, config.snapshotThreshold());
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
    RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SizeInBytes.valueOf("8MB"));
    // Memory (issue 34): the log writer allocates its write buffer up front as a zeroed direct
    // buffer, so all of it is resident; Ratis's default is 8 MiB, the largest single item of an
    // idle sidecar's direct memory. The buffer must hold one entry of the appender's limit plus 8
    // bytes, and that limit is also the largest entry Ratis accepts and the most one AppendEntries
    // carries. Baton's largest entry is a compare-and-set of a MAX_VALUE_BYTES value against a
    // MAX_VALUE_BYTES expected value under a MAX_KEY_BYTES key, 131,635 bytes: 512 KiB leaves
    // about four times that (KeyValueStoreTest writes the largest entry).
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(properties, SizeInBytes.valueOf("512KB"));
    RaftServerConfigKeys.Log.setWriteBufferSize(properties, SizeInBytes.valueOf("1MB"));
    RaftServerConfigKeys.Log.Appender.setRetryPolicy(properties, appenderRetryPolicy(t));
    // Off (issue 40): with it on, Ratis appends, replicates and fsyncs a metadata entry (the new
    // commit index) after every commit advance, a second write per put on every node. Its only
    // use on restart is to let a node apply up to the commit index it last recorded before it
    // hears a leader (RaftLogBase.open); without it a restarted node applies up to its snapshot
    // and the rest once a leader tells it the commit index. Baton acts on nothing before that: a
    // leader acts only once ready (its first entry of the term applied, so everything before it
    // too), a follower only answers reads through the log, and tokens are the indexes of
    // activation entries, which only grow. docs/lease.md ("Log metadata off");
    // FullRestartTest.
    RaftServerConfigKeys.Log.setLogMetadataEnabled(properties, logMetadata());
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(
        properties, TimeDuration.valueOf(appenderWaitMicros(), TimeUnit.MICROSECONDS));
    GrpcConfigKeys.Server.setHost(properties, config.bindHost());
    GrpcConfigKeys.Server.setPort(properties, config.bindPort());
    // Explicit, so a change of Ratis's default cannot silently swap the transport: Ratis's gRPC
    // transport, with each log appender's leader state wrapped to learn which AppendEntries rounds
    // a follower acknowledged (HeartbeatAcks, issue 33). The client keeps plain gRPC.
    RaftConfigKeys.Rpc.setType(properties, new AckTrackingGrpcFactory.Type());
    return properties;
  }

  /**
   * The system property that sets Ratis's {@code raft.server.log.log-metadata.enabled}, for side by
   * side measurement only ({@code scripts/bench kv-interleaved}); nodes read it when they start.
   */
  static final String LOG_METADATA_PROPERTY = "baton.raft.logMetadata";

  /**
   * The system property that sets Ratis's {@code raft.server.log.appender.wait-time.min} in
   * microseconds, for side by side measurement only, like {@link #LOG_METADATA_PROPERTY}. The
   * default is 100 µs, not Ratis's 1 ms (issue 40): an appender sleeps out the rest of that gap
   * before a send that follows its previous send to the same follower sooner, and the heartbeat of
   * a linearizable read, asked for right after the previous read's round, nearly always did, so
   * every read waited about a millisecond. 0 is worse than either: the get's p50 rose to about 110
   * ms side by side (README, KV).
   */
  static final String APPENDER_WAIT_PROPERTY = "baton.raft.appenderWaitMicros";

  static boolean logMetadata() {
    String v = System.getProperty(LOG_METADATA_PROPERTY, "false");
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException(
          LOG_METADATA_PROPERTY + " must be true or false, not '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  static long appenderWaitMicros() {
    String v = System.getProperty(APPENDER_WAIT_PROPERTY, "100");
    try {
      long micros = Long.parseLong(v);
      if (micros >= 0) {
        return micros;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new IllegalArgumentException(
        APPENDER_WAIT_PROPERTY + " must be a whole number of microseconds >= 0, not '" + v + "'");
  }

  /**
   * How long the leader's log appender for a follower sleeps after each failed request: 1 ms for
   * the first ten, then {@code electionTimeoutMin / 8} (100 ms by default) for as long as it fails.
   * Ratis's default ({@code 1ms,10, 1s,20, 5s,1000}) slept 1 s after the tenth error and 5 s after
   * the thirtieth, and that sleep is not cut short by a heartbeat request: a follower that had been
   * down for a few seconds (a restart) was reached up to 1–5 s after its Raft server was back, so a
   * switch to it waited that long for its log (issue 33, the cold switch target). A failed request
   * to a down peer is a refused connection, so trying ten times a second costs next to nothing.
   */
  static String appenderRetryPolicy(Timing t) {
    long sleep = Math.max(1, t.electionTimeoutMin().toMillis() / 8);
    return "1ms,10, " + sleep + "ms," + Integer.MAX_VALUE;
  }

  /**
   * The parameters the server and the client share: where the ack-tracking transport reports
   * acknowledgements, the TLS of every channel (none when insecure), and the guard every call on
   * the Raft port passes.
   */
  static Parameters parameters(HeartbeatAcks heartbeatAcks, RaftTransport transport) {
    Parameters parameters = new Parameters();
    parameters.put(AckTrackingGrpcFactory.ACKS_KEY, heartbeatAcks, HeartbeatAcks.class);
    GrpcTlsConfig tls = transport.tls;
    if (tls != null) {
      GrpcConfigKeys.TLS.setConf(parameters, tls);
      GrpcConfigKeys.Server.setTlsConf(parameters, tls);
      GrpcConfigKeys.Admin.setTlsConf(parameters, tls);
      GrpcConfigKeys.Client.setTlsConf(parameters, tls);
    }
    // Every call on the Raft port (server, client and admin services share it) passes the guard.
    GrpcConfigKeys.Server.setServicesCustomizer(
        parameters, (builder, types) -> builder.intercept(transport.guard));
    return parameters;
  }

  /**
   * The client's properties: one attempt waits at most 1 s (an election is under way, or a node is
   * gone); the retry policy then tries the suggested leader or the next peer.
   */
  static RaftProperties client() {
    RaftProperties clientProperties = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(
        clientProperties, TimeDuration.valueOf(1, TimeUnit.SECONDS));
    return clientProperties;
  }

  /** The client's retries: every 100 ms, for about the operation timeout (at least 3 attempts). */
  static RetryPolicy clientRetry(NodeConfig config) {
    long attempts = Math.max(3, config.operationTimeout().toMillis() / 100);
    return RetryPolicies.retryUpToMaximumCountWithFixedSleep(
        (int) attempts, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS));
  }

  private static TimeDuration millis(Duration d) {
    return TimeDuration.valueOf(d.toMillis(), TimeUnit.MILLISECONDS);
  }
}
