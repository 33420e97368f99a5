package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.Member;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import dev.baton.core.internal.proto.Query;
import dev.baton.core.internal.proto.QueryResult;
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
import java.util.function.Consumer;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.jspecify.annotations.Nullable;

/**
 * Everything Baton needs from Ratis, in one place: the server, a local submission path for the role
 * controller's own entries, a client for operations any node may be asked to do, and the admin
 * operations (leadership transfer, configuration change), which run in-process on the leader: the
 * Raft port serves the admin service to nobody (RaftPortGuard). No Ratis type leaves this package.
 *
 * <p>What stays here is the server's lifecycle and what the role logic reads of it (leadership, the
 * majority-acknowledged send time, the configuration); the settings are {@link RaftSettings}, the
 * requests to the own server {@link LocalRequests}, the writes through whichever node leads {@link
 * LeaderClient}, and the read-index read on the leader {@link ReadIndexRead}.
 *
 * <p>Size: about 550 lines, 320 of them code: one thin method per thing Baton asks of Ratis (so
 * that no Ratis type leaves this package), each with the Javadoc that says which Ratis behaviour it
 * relies on. Splitting it further would spread the Ratis surface over more classes.
 */
public final class RaftNode implements AutoCloseable {

  private final NodeConfig config;
  private final RaftGroupId groupId;
  private final RaftPeerId selfId;
  private final BatonStateMachine stateMachine;
  private final RaftServer server;
  private final LeaderClient client;
  private final LocalRequests local;
  private final MemberDirectory directory;
  private final HeartbeatAcks heartbeatAcks;
  private volatile @Nullable DivisionInfo division;
  private final ElectionTimer electionTimer;
  private final ClientId localClientId = ClientId.randomId();
  private final ReadIndexRead reads;

  /**
   * @param clock the node's clock: the send times of {@link #majorityAckedSendTime()} are its
   *     readings
   * @param refused told the kind of every call or handshake the Raft port refuses (for a metric)
   */
  public RaftNode(
      NodeConfig config,
      BatonStateMachine stateMachine,
      MonotonicClock clock,
      Consumer<String> refused)
      throws IOException {
    this.config = config;
    this.stateMachine = stateMachine;
    stateMachine.trustLocalClient(localClientId);
    this.directory = new MemberDirectory(config, stateMachine);
    this.groupId = groupId(config.clusterId());
    this.selfId = RaftPeerId.valueOf(config.self().id());
    this.heartbeatAcks = new HeartbeatAcks(clock, config.self().id());
    this.reads =
        new ReadIndexRead(
            this, heartbeatAcks, stateMachine, config.operationTimeout(), config.self().id());

    Parameters parameters =
        RaftSettings.parameters(heartbeatAcks, RaftTransport.create(config, directory, refused));
    RaftGroup initialGroup =
        config.joining()
            ? RaftGroup.valueOf(groupId, joiner(config.self()))
            : RaftGroup.valueOf(groupId, toPeers(config.members()));
    this.server =
        RaftServer.newBuilder()
            .setServerId(selfId)
            .setGroup(initialGroup)
            .setProperties(RaftSettings.server(config))
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
    this.electionTimer =
        new ElectionTimer(
            config.self().id(),
            config.timing().electionTimeoutMin().toNanos(),
            config.timing().electionTimeoutMax().toNanos(),
            this::divisionOrNull);
    this.local =
        new LocalRequests(server, selfId, groupId, config.operationTimeout(), localClientId);
    this.client =
        new LeaderClient(
            RaftClient.newBuilder()
                .setRaftGroup(RaftGroup.valueOf(groupId, toPeers(config.members())))
                .setProperties(RaftSettings.client())
                .setParameters(parameters)
                .setRetryPolicy(RaftSettings.clientRetry(config))
                .build(),
            config.operationTimeout());
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

  /**
   * The initial group of a joining node (empty data directory): itself, as a Ratis listener. Ratis
   * starts a server that is a listener of its own configuration as a listener, which never starts
   * an election. Without this a joiner started outside any configuration and, once the leader
   * counted it as caught up, ran its election timer while it was still catching up with a
   * configuration that does not contain it (the leader's snapshot, then the log up to the entry
   * that adds it). An election timeout of silence then (a slow catch-up, a leader change) made its
   * pre-vote find it outside its own configuration, and Ratis 3.3 shuts a server down on that
   * (LeaderElection, NOT_IN_CONF): the cluster then counted a dead voter, and a later removal could
   * never commit
   * (MembershipTest#aWipedMemberAddedBackSurvivesSilenceBeforeItHoldsTheEntryThatAddsIt).
   *
   * <p>The first snapshot or configuration entry from the leader replaces this configuration. Ratis
   * turns a listener into a follower as soon as it appends a stable configuration that has it as a
   * voter (ServerState#updateConfiguration), so the node takes part in elections from the entry
   * that makes it a voter on. Until then it grants no vote, which changes nothing for safety; and a
   * configuration that adds it becomes stable only after the joint one committed on a majority of
   * the old voters.
   */
  static RaftPeer joiner(Member self) {
    return RaftPeer.newBuilder(toPeer(self)).setStartupRole(RaftPeerRole.LISTENER).build();
  }

  public void start() throws IOException {
    server.start();
    division = server.getDivision(groupId).getInfo();
    electionTimer.start();
  }

  /** This node's Raft division (Ratis's server of the cluster's group), or null if none. */
  RaftServer.@Nullable Division divisionOrNull() {
    try {
      return server.getDivision(groupId);
    } catch (IOException e) {
      return null;
    }
  }

  /** How many elections this node's {@link ElectionTimer} has started. */
  public long electionsStartedByTimer() {
    return electionTimer.electionsStarted();
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
   * On the leader of {@code term}: the latest send time (a reading of the node's clock) of a
   * request that {@code follower} acknowledged with SUCCESS in that term ({@link
   * HeartbeatAcks#acknowledgedBy}); empty when this node does not lead {@code term} or the follower
   * has acknowledged nothing in it.
   */
  public OptionalLong acknowledgedBy(String follower, long term) {
    if (!leads(term)) {
      return OptionalLong.empty();
    }
    OptionalLong sent = heartbeatAcks.acknowledgedBy(follower, term);
    return leads(term) ? sent : OptionalLong.empty();
  }

  /**
   * On the leader of {@code term}: the index of the last entry {@code follower} is known to hold
   * (its match index, from Ratis's {@code FollowerInfo}); -1 when this node does not lead {@code
   * term} or has no log appender for the follower.
   */
  public long matchIndex(String follower, long term) {
    if (!leads(term)) {
      return -1;
    }
    long m = heartbeatAcks.matchIndex(follower);
    return leads(term) ? m : -1;
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
   * How long ago each peer last answered this node, by member id, each judged up or not ({@link
   * PeerContact}). The leader knows it of every follower; a follower only of its leader (it hears
   * from no one else); a node with no leader, or not running, of nobody.
   */
  public Map<String, PeerContact> peerContacts() {
    try {
      DivisionInfo info = server.getDivision(groupId).getInfo();
      return PeerContact.of(
          info.getRoleInfoProto(), info.getLeaderId(), config.timing().electionTimeoutMax());
    } catch (IOException | RuntimeException e) {
      // not running: no figures
      return Map.of();
    }
  }

  /**
   * Submits a command to this node's own server, without forwarding: the role controller's
   * activation and lease entries must be proposed by this node as leader or not at all.
   */
  public CompletableFuture<CommandResult> submitLocal(Command command) {
    return local.submit(command);
  }

  /** Sends a write through the client, which finds the leader wherever it is. */
  public CommandResult write(Command command) {
    return client.write(command);
  }

  /**
   * A linearizable read. On the leader, by read index with a fresh round (Raft thesis §6.4), with
   * no log entry and no fsync: {@link ReadIndexRead}. Anywhere else (a follower, a leader that has
   * not yet committed an entry of its term, a leader that lost its leadership while the read
   * waited) through the log, as an entry that changes nothing and is answered when it applies
   * ({@link #readThroughLog}). Ratis 3.3's own read-index answers at once when nothing committed
   * since the leader's last acknowledged round, so a leader cut off right after a read served old
   * values until it stepped down (up to about two election timeouts); see StaleReadTest. That is
   * why the round is counted here ({@link HeartbeatAcks}) and not by Ratis.
   *
   * @throws BatonException when the read is refused: on the leader, no round sent after the read
   *     arrived had a majority's acknowledgement within the operation timeout (the leader is cut
   *     off, or the majority is down)
   */
  public QueryResult read(Query query) {
    return read(query, () -> {});
  }

  /**
   * {@link #read(Query)}, running {@code noted} on the leader right after it noted the read index,
   * before it asks for the round (tests cut the leader off there).
   */
  QueryResult read(Query query, Runnable noted) {
    DivisionInfo d = division;
    if (d == null || !d.isLeader()) {
      return readThroughLog(query);
    }
    long term = d.getCurrentTerm();
    // Ready: the entry this leader appended when it took office, an entry of its term, has been
    // committed and applied (Ratis LeaderStateImpl.isReady, its startup entry applied). From then
    // on its commit index covers every entry any earlier leader committed (Leader Completeness),
    // and in its term only it commits. Read after `ready`, and `ready` read while leading `term`
    // (checked before and after), the commit index below is such an index.
    if (!d.isLeaderReady() || !leads(term)) {
      return readThroughLog(query);
    }
    long readIndex;
    try {
      readIndex = server.getDivision(groupId).getRaftLog().getLastCommittedIndex();
    } catch (IOException e) {
      return readThroughLog(query);
    }
    if (!leads(term)) {
      return readThroughLog(query);
    }
    return reads.onLeader(query, term, readIndex, noted, this::readThroughLog);
  }

  /**
   * A linearizable read through the log: an entry that changes nothing, answered when it applies,
   * so only under proof of a round that a majority acknowledged after the read arrived.
   */
  private QueryResult readThroughLog(Query query) {
    CommandResult r = write(Commands.kvRead(query));
    if (!r.getApplied()) {
      throw new BatonException("read refused: " + r.getRefusal());
    }
    return r.getRead();
  }

  /**
   * Makes this server, if it leads, step down to follower (a transfer request with no target), so
   * that the next leader, this server included, is elected in a new term.
   */
  public void stepDown(Duration timeout) throws IOException {
    local.transfer(null, timeout, "step-down");
  }

  /**
   * Asks this node, the leader, to hand leadership to {@code target}, through the local server so
   * that the wait is the transfer's own timeout and not a client RPC timeout.
   */
  public void transferLeadership(String target, Duration timeout) throws IOException {
    local.transfer(RaftPeerId.valueOf(target), timeout, "leadership transfer to " + target);
  }

  /**
   * On the leader, in-process: replaces the Raft configuration (the voters) with {@code members}.
   * Waits while new members catch up, at most {@code timeout}. Changing it to what it already is
   * succeeds at once.
   */
  public void setConfigurationLocal(List<Member> members, Duration timeout) throws IOException {
    local.setConfiguration(members, timeout);
  }

  /** Stops the server without giving anything up (what a crash looks like to the others). */
  @Override
  public void close() throws IOException {
    electionTimer.close();
    try {
      client.close();
    } finally {
      server.close();
    }
  }
}
