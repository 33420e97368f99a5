package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.BatonTimeoutException;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * Everything Baton needs from Ratis, in one place: the server, a local submission path for the role
 * controller's own entries, a client for operations any node may be asked to do, and the admin
 * operations (leadership transfer, configuration change), which run in-process on the leader: the
 * Raft port serves the admin service to nobody (RaftPortGuard). No Ratis type leaves this package.
 */
public final class RaftNode implements AutoCloseable {

  private final NodeConfig config;
  private final RaftGroupId groupId;
  private final RaftPeerId selfId;
  private final BatonStateMachine stateMachine;
  private final RaftServer server;
  private final RaftClient client;
  private final MemberDirectory directory;
  private final HeartbeatAcks heartbeatAcks;
  private volatile DivisionInfo division;
  private final ClientId localClientId = ClientId.randomId();
  private final AtomicLong localCallId = new AtomicLong();
  private final java.util.concurrent.ExecutorService clientPool =
      java.util.concurrent.Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "baton-client");
            t.setDaemon(true);
            return t;
          });

  /**
   * @param clock the node's clock: the send times of {@link #majorityAckedSendTime()} are its
   *     readings
   * @param refused told the kind of every call or handshake the Raft port refuses (for a metric)
   */
  public RaftNode(
      NodeConfig config,
      BatonStateMachine stateMachine,
      MonotonicClock clock,
      java.util.function.Consumer<String> refused)
      throws IOException {
    this.config = config;
    this.stateMachine = stateMachine;
    stateMachine.trustLocalClient(localClientId);
    this.directory = new MemberDirectory(config, stateMachine);
    this.groupId = groupId(config.clusterId());
    this.selfId = RaftPeerId.valueOf(config.self().id());
    this.heartbeatAcks = new HeartbeatAcks(clock, config.self().id());

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
    GrpcConfigKeys.Server.setHost(properties, config.bindHost());
    GrpcConfigKeys.Server.setPort(properties, config.bindPort());
    // Explicit, so a change of Ratis's default cannot silently swap the transport: Ratis's gRPC
    // transport, with each log appender's leader state wrapped to learn which AppendEntries rounds
    // a follower acknowledged (HeartbeatAcks, issue 33). The client keeps plain gRPC.
    RaftConfigKeys.Rpc.setType(properties, new AckTrackingGrpcFactory.Type());

    Parameters parameters = new Parameters();
    parameters.put(AckTrackingGrpcFactory.ACKS_KEY, heartbeatAcks, HeartbeatAcks.class);
    RaftTransport transport = RaftTransport.create(config, directory, refused);
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

    RaftGroup initialGroup =
        config.joining()
            ? RaftGroup.valueOf(groupId)
            : RaftGroup.valueOf(groupId, toPeers(config.members()));
    this.server =
        RaftServer.newBuilder()
            .setServerId(selfId)
            .setGroup(initialGroup)
            .setProperties(properties)
            .setParameters(parameters)
            .setStateMachine(stateMachine)
            .setOption(RaftStorage.StartupOption.RECOVER)
            .build();
    directory.attach(
        () -> {
          try {
            return server.getDivision(groupId).getRaftConf();
          } catch (IOException e) {
            return null;
          }
        });

    RaftProperties clientProperties = new RaftProperties();
    // One attempt waits at most 1 s (an election is under way, or a node is gone); the retry
    // policy then tries the suggested leader or the next peer.
    RaftClientConfigKeys.Rpc.setRequestTimeout(
        clientProperties, TimeDuration.valueOf(1, TimeUnit.SECONDS));
    long attempts = Math.max(3, config.operationTimeout().toMillis() / 100);
    this.client =
        RaftClient.newBuilder()
            .setRaftGroup(RaftGroup.valueOf(groupId, toPeers(config.members())))
            .setProperties(clientProperties)
            .setParameters(parameters)
            .setRetryPolicy(
                RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                    (int) attempts, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
            .build();
  }

  /** The Raft group id of a cluster id: a name-based UUID, so every node derives the same one. */
  public static RaftGroupId groupId(String clusterId) {
    return RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("baton-cluster:" + clusterId).getBytes(StandardCharsets.UTF_8)));
  }

  static List<RaftPeer> toPeers(Collection<Member> members) {
    List<RaftPeer> peers = new ArrayList<>();
    for (Member m : members) {
      peers.add(toPeer(m));
    }
    return peers;
  }

  static RaftPeer toPeer(Member m) {
    // Eligible voters share one Ratis priority so that Ratis never transfers leadership away from
    // an active node on its own (a transfer skips pre-vote, see docs/lease.md step 4). Witnesses
    // rank lower, so a witness that wins an election yields to an eligible peer.
    return RaftPeer.newBuilder()
        .setId(m.id())
        .setAddress(m.address())
        .setPriority(m.eligible() ? 1 : 0)
        .build();
  }

  public void start() throws IOException {
    server.start();
    division = server.getDivision(groupId).getInfo();
  }

  public BatonStateMachine stateMachine() {
    return stateMachine;
  }

  public String selfId() {
    return selfId.toString();
  }

  /** Whether the Raft server runs (not closing or closed, by us or by Ratis after an error). */
  public boolean alive() {
    try {
      return server.getDivision(groupId).getInfo().isAlive();
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  public DivisionInfo info() {
    try {
      return server.getDivision(groupId).getInfo();
    } catch (IOException e) {
      throw new BatonException(
          "Raft group of cluster " + config.clusterId() + " is not running", e);
    }
  }

  /**
   * Whether this node's Raft server leads in {@code term} at this instant: two volatile reads of
   * Ratis's own state, cheap enough for {@code isActive()} on every request. A leader steps down
   * (or moves to a higher term) the moment it hears of a newer term, a forced election included,
   * and never leads the same term again, so once this is false for a term it stays false.
   */
  public boolean leads(long term) {
    DivisionInfo d = division;
    return d != null && d.isLeader() && d.getCurrentTerm() == term;
  }

  /**
   * On the leader: the latest send time, a reading of the node's clock, of an AppendEntries round
   * (heartbeat or entries) that a majority of the current configuration acknowledged with SUCCESS
   * in this leader's current term, this node counting itself ({@link HeartbeatAcks}). Empty when
   * this node does not lead, or no round of its term has such a majority yet. Never goes backwards
   * within a term; a new term starts from nothing.
   */
  public OptionalLong majorityAckedSendTime() {
    DivisionInfo d = division;
    if (d == null || !d.isLeader()) {
      return OptionalLong.empty();
    }
    long term = d.getCurrentTerm();
    List<String> voters = new ArrayList<>();
    List<String> previous = new ArrayList<>();
    try {
      var conf = server.getDivision(groupId).getRaftConf();
      conf.getCurrentPeers().forEach(p -> voters.add(p.getId().toString()));
      conf.getPreviousPeers().forEach(p -> previous.add(p.getId().toString()));
    } catch (IOException e) {
      return OptionalLong.empty();
    }
    OptionalLong sent = heartbeatAcks.majorityAckedSendTime(term, voters, previous);
    // The figures must be this term's and this node must still lead in it.
    return leads(term) ? sent : OptionalLong.empty();
  }

  /**
   * {@link #majorityAckedSendTime()}, answered only while this node leads in {@code term} (before
   * and after the figures are read), so the value belongs to that term: what the lease of an
   * activation in {@code term} is renewed from (docs/lease.md, step 1).
   */
  public OptionalLong majorityAckedSendTime(long term) {
    if (!leads(term)) {
      return OptionalLong.empty();
    }
    OptionalLong sent = majorityAckedSendTime();
    return leads(term) ? sent : OptionalLong.empty();
  }

  /**
   * On the leader: asks every log appender of this leadership to send a heartbeat now instead of
   * after Ratis's idle interval ({@code electionTimeoutMin / 2}), so that {@link
   * #majorityAckedSendTime()} advances about as often as this is called. Does nothing on a
   * follower.
   */
  public void triggerHeartbeats() {
    if (isLeader()) {
      heartbeatAcks.triggerHeartbeats();
    }
  }

  /**
   * On the leader: asks for heartbeats from just enough followers for a majority with this node
   * (one of two in a 3-voter cluster), rotating among those that answered their last ask ({@link
   * HeartbeatAcks#triggerHeartbeats(Collection, int)}); from every follower when {@code all},
   * during a configuration change, or when this node is not a voter of the current configuration.
   * What a majority acknowledged is counted the same way in every case; only the number of rounds
   * an idle cluster sends and answers changes. Does nothing on a follower.
   */
  public void triggerHeartbeats(boolean all) {
    if (!isLeader()) {
      return;
    }
    List<String> voters = new ArrayList<>();
    boolean changing;
    try {
      var conf = server.getDivision(groupId).getRaftConf();
      conf.getCurrentPeers().forEach(p -> voters.add(p.getId().toString()));
      changing = !conf.getPreviousPeers().isEmpty();
    } catch (IOException e) {
      return;
    }
    if (all || changing || !voters.contains(selfId.toString())) {
      heartbeatAcks.triggerHeartbeats();
      return;
    }
    // A majority of the voters, this node counting itself.
    heartbeatAcks.triggerHeartbeats(voters, voters.size() / 2);
  }

  /** The index of the last entry in this node's Raft log (-1 when it is empty or not running). */
  public long lastLogIndex() {
    try {
      var last = server.getDivision(groupId).getRaftLog().getLastEntryTermIndex();
      return last == null ? -1 : last.getIndex();
    } catch (IOException e) {
      return -1;
    }
  }

  /** Whether this node's server is the leader now. */
  public boolean isLeader() {
    DivisionInfo d = division;
    return d != null && d.isLeader();
  }

  /** Whether this node's server is the leader and has committed an entry of its term. */
  public boolean isLeaderReady() {
    DivisionInfo d = division;
    return d != null && d.isLeader() && d.isLeaderReady();
  }

  /** The Raft leader as this node knows it. */
  public Optional<String> leaderId() {
    try {
      RaftPeerId leader = info().getLeaderId();
      return Optional.ofNullable(leader).map(RaftPeerId::toString);
    } catch (BatonException e) {
      return Optional.empty();
    }
  }

  /** The ids of the voters in the current Raft configuration. */
  public List<String> configurationIds() {
    try {
      List<String> ids = new ArrayList<>();
      for (RaftPeer p : server.getDivision(groupId).getRaftConf().getCurrentPeers()) {
        ids.add(p.getId().toString());
      }
      return ids;
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * Whether the Raft configuration is a joint one: a change is in the log and not finished. Raft
   * finishes it (any later leader does), whatever became of the call that began it.
   */
  public boolean configurationInTransition() {
    try {
      return !server.getDivision(groupId).getRaftConf().getPreviousPeers().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  /** The log index of the current Raft configuration entry (-1 if unknown). */
  public long configurationIndex() {
    try {
      return server.getDivision(groupId).getRaftConf().getLogEntryIndex();
    } catch (IOException e) {
      return -1;
    }
  }

  /**
   * On the leader: the commit index each follower last reported, by member id (the leader's own
   * included). A follower whose commit index has reached the configuration entry holds that entry,
   * so it knows it is a voter and answers votes.
   */
  public Map<String, Long> commitIndexes() {
    Map<String, Long> out = new HashMap<>();
    try {
      for (CommitInfoProto c : server.getDivision(groupId).getCommitInfos()) {
        out.put(RaftPeerId.valueOf(c.getServer().getId()).toString(), c.getCommitIndex());
      }
    } catch (IOException e) {
      // not running: no figures
    }
    return out;
  }

  /**
   * On the leader: how long ago (ms) each follower last answered an RPC, by member id; empty when
   * this node does not lead. A follower that answered within an election timeout is reachable, so a
   * leadership transfer to it can succeed.
   */
  public Map<String, Long> followerResponseAgesMillis() {
    Map<String, Long> out = new HashMap<>();
    try {
      var info = server.getDivision(groupId).getInfo().getRoleInfoProto();
      if (info.hasLeaderInfo()) {
        for (var f : info.getLeaderInfo().getFollowerInfoList()) {
          out.put(RaftPeerId.valueOf(f.getId().getId()).toString(), f.getLastRpcElapsedTimeMs());
        }
      }
    } catch (IOException | RuntimeException e) {
      // not running or not leading: no figures
    }
    return out;
  }

  /**
   * Submits a command to this node's own server, without forwarding: the role controller's
   * activation and lease entries must be proposed by this node as leader or not at all.
   */
  public CompletableFuture<CommandResult> submitLocal(Command command) {
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(localClientId)
            .setServerId(selfId)
            .setGroupId(groupId)
            .setCallId(localCallId.incrementAndGet())
            .setMessage(BatonStateMachine.message(command.toByteArray()))
            .setType(RaftClientRequest.writeRequestType())
            .setTimeoutMs(config.operationTimeout().toMillis())
            .build();
    try {
      return server.submitClientRequestAsync(request).thenApply(RaftNode::commandResult);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Sends a write through the client, which finds the leader wherever it is. */
  public CommandResult write(Command command) {
    RaftClientReply reply =
        await(
            blocking(() -> client.io().send(BatonStateMachine.message(command.toByteArray()))),
            config.operationTimeout(),
            "write");
    return commandResult(reply);
  }

  /**
   * A linearizable read: it goes through the log as an entry that changes nothing and is answered
   * when it applies, so only under proof of a round that a majority acknowledged after the read
   * arrived. Ratis 3.3's read-index answered at once when nothing had committed since the leader's
   * last acknowledged round, so a leader cut off right after a read served old values until it
   * stepped down (up to about two election timeouts); see StaleReadTest.
   */
  public QueryResult read(Query query) {
    CommandResult r = write(Commands.kvRead(query));
    if (!r.getApplied()) {
      throw new BatonException("read refused: " + r.getRefusal());
    }
    return r.getRead();
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
            throw new java.util.concurrent.CompletionException(e);
          }
        },
        clientPool);
  }

  @FunctionalInterface
  private interface IoCall {
    RaftClientReply run() throws IOException;
  }

  /**
   * Makes this server, if it leads, step down to follower (a transfer request with no target), so
   * that the next leader, this server included, is elected in a new term.
   */
  public void stepDown(Duration timeout) throws IOException {
    transfer(null, timeout, "step-down");
  }

  /**
   * Asks this node, the leader, to hand leadership to {@code target}, through the local server so
   * that the wait is the transfer's own timeout and not a client RPC timeout.
   */
  public void transferLeadership(String target, Duration timeout) throws IOException {
    transfer(RaftPeerId.valueOf(target), timeout, "leadership transfer to " + target);
  }

  /** A transfer-leadership request to the local server; {@code target} null steps down. */
  private void transfer(RaftPeerId target, Duration timeout, String what) throws IOException {
    TransferLeadershipRequest request =
        new TransferLeadershipRequest(
            localClientId,
            selfId,
            groupId,
            localCallId.incrementAndGet(),
            target,
            timeout.toMillis());
    RaftClientReply reply;
    try {
      reply =
          server
              .transferLeadershipAsync(request)
              .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(what + " interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException(what + " failed: " + e, e);
    }
    if (!reply.isSuccess()) {
      throw new IOException(what + " failed: " + describe(reply));
    }
  }

  /**
   * On the leader, in-process: replaces the Raft configuration (the voters) with {@code members}.
   * Waits while new members catch up, at most {@code timeout}. Changing it to what it already is
   * succeeds at once.
   */
  public void setConfigurationLocal(List<Member> members, Duration timeout) throws IOException {
    SetConfigurationRequest request =
        new SetConfigurationRequest(
            localClientId, selfId, groupId, localCallId.incrementAndGet(), toPeers(members));
    RaftClientReply reply;
    try {
      reply = server.setConfigurationAsync(request).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("configuration change interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException("configuration change failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException(
          "configuration change did not complete within "
              + timeout.toMillis()
              + " ms (is every new member started, with joining: true?)",
          e);
    }
    if (!reply.isSuccess()) {
      throw new IOException("configuration change failed: " + describe(reply));
    }
  }

  private static CommandResult commandResult(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      throw new BatonException("Raft refused the entry: " + describe(reply));
    }
    try {
      return CommandResult.parseFrom(reply.getMessage().getContent().toByteArray());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new BatonException("unreadable reply", e);
    }
  }

  private static String describe(RaftClientReply reply) {
    if (reply.getNotLeaderException() != null) {
      return "not the leader (leader: " + reply.getNotLeaderException().getSuggestedLeader() + ")";
    }
    return reply.getException() == null ? "unknown reason" : reply.getException().getMessage();
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

  /** Stops the server without giving anything up (what a crash looks like to the others). */
  @Override
  public void close() throws IOException {
    clientPool.shutdownNow();
    try {
      client.close();
    } finally {
      server.close();
    }
  }

  private static TimeDuration millis(Duration d) {
    return TimeDuration.valueOf(d.toMillis(), TimeUnit.MILLISECONDS);
  }
}
