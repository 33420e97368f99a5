package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.Member;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes {@code bootstrap} unable to stay armed (issue 28, item 5): before a node claims an
 * <em>empty</em> data directory because {@code bootstrap} is set, it asks every other configured
 * member whether it already holds this cluster's Raft group with a log. If any does, the cluster
 * exists and this node is not one of its first starts: it lost its data directory (a wiped disk
 * with a config, such as a ConfigMap shared by every pod, that still says {@code bootstrap: true}),
 * or the others started the cluster without it. Either way, starting it as a new voter would let it
 * vote with no memory of what it had acknowledged or whom it had voted for (two leaders in one term
 * become possible), so it refuses to start, changes nothing, and names the way back: the disk-loss
 * procedure (members remove, start with {@code joining}, members add).
 *
 * <p>A founder that starts after the others formed the cluster is not refused: if peers hold the
 * log but none of them has ever seen this node acknowledge an entry (their commit infos, which the
 * leader spreads to every follower, have no index for it), the node has nothing to forget and
 * starts, logging a warning. Only a node that some peer saw acknowledge entries is refused.
 *
 * <p>When some peer holds a snapshot, that late founder is let in only when the peers that answered
 * holding the log are a majority of the members: then every majority includes one of them, which
 * never votes for a candidate with an empty log, so no leader with an empty log (tokens from 1) can
 * be elected. When they are fewer, the node refuses. Without a snapshot anywhere, a minority of
 * holders is what a new cluster's first start looks like mid-way (two founders elected a leader and
 * the third asked before the second held the first entry, or while it was slow to answer): all they
 * hold came through Raft, whose voting rule keeps it, so the founder starts. The case this catches
 * is a cluster recovered from a lost majority ({@link ClusterRecovery}) where only some members
 * were recovered: a recovered member holds a snapshot at the token floor and no log, and two empty
 * members started with {@code bootstrap} beside it would be a majority of three that could elect
 * one of themselves and issue tokens from 1, below every token of the old cluster (I1). If no
 * recovered member answers yet, the empty ones cannot tell that from a new cluster's first start
 * and start (see the residual window below): recovered members must be started first
 * (RecoveredClusterBootstrapTest).
 *
 * <p>The question is Ratis's read-only admin call {@code groupInfo}, sent over the node's own Raft
 * transport with its own identity (the member certificate or the key derived from the cluster
 * secret; plaintext over an insecure transport). {@link RaftPortGuard} serves that one admin call,
 * and only to a caller that authenticates as a current member.
 *
 * <p><b>Residual window.</b> A peer that does not answer within the timeout (down, partitioned,
 * slow, not started yet) is not proof of anything, and nothing else is asked: when <em>no</em> peer
 * that holds the log answers (every founder starting together, which is the case this must allow,
 * looks the same as a wiped node restarting while all its peers are unreachable), the node starts
 * as today and logs at INFO whom it asked and what each said. A wiped node that restarts while
 * every peer holding the log is unreachable can therefore still come back as new; remove {@code
 * bootstrap} after the first start to close that window as well (docs/operations/disaster-recovery
 * .md).
 */
public final class BootstrapProbe {
  private static final Logger LOG = LoggerFactory.getLogger(BootstrapProbe.class);

  /**
   * The default bound on the whole probe (all peers are asked at once). A peer whose port is closed
   * answers at once; the bound matters for a peer that is slow or cut off, and for a cold JVM on a
   * loaded machine: a sidecar's first connection (gRPC, TLS, key derivation) took over 3 s at a
   * load of 30 on two cores, so a 3 s bound let the probe give up before any peer could answer.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private BootstrapProbe() {}

  /**
   * What one peer said. {@code index} is the highest index it holds (-1 if it holds nothing, {@link
   * RaftSeed#GENESIS_INDEX} if only the genesis); {@code snapshot} is the index of its newest
   * snapshot, -1 if it has none.
   */
  record Answer(String peer, long index, long snapshot, long selfCommit, String said) {
    Answer(String peer, String said) {
      this(peer, -1, -1, -1, said);
    }

    /** Holds an entry past the genesis every founder starts from ({@link RaftSeed}). */
    boolean holdsLog() {
      return index > RaftSeed.GENESIS_INDEX;
    }

    /** Holds a snapshot other than the genesis: one taken, installed or written by recovery. */
    boolean holdsSnapshot() {
      return snapshot > RaftSeed.GENESIS_INDEX;
    }
  }

  /**
   * Asks the peers; throws if one holds this cluster's log and saw this node, else logs whom it
   * asked and returns.
   *
   * @param dir the empty data directory about to be claimed, for the message
   * @return true when the cluster already runs without this node (a founder that started late)
   * @throws BatonException naming each peer that holds the log, its index and the group
   */
  public static boolean check(NodeConfig config, Path dir, Duration timeout) {
    String self = config.self().id();
    List<Member> peers =
        config.members().stream().filter(m -> !m.id().equals(self)).collect(Collectors.toList());
    RaftGroupId group = RaftNode.groupId(config.clusterId());
    if (peers.isEmpty()) {
      LOG.info(
          "{}: bootstrap: data directory {} is empty and this is the only member; starting a new"
              + " cluster",
          self,
          dir);
      return false;
    }
    List<Answer> answers = ask(config, peers, group, timeout);
    List<Answer> holders = answers.stream().filter(Answer::holdsLog).toList();
    // A peer's commit infos carry what every member last acknowledged (the leader piggybacks them
    // on its appends, so followers know them too). A node that acknowledged anything had a log:
    // without it, it would vote and count in majorities with no memory of what it acknowledged.
    List<Answer> sawThisNode = holders.stream().filter(a -> a.selfCommit() >= 0).toList();
    if (!sawThisNode.isEmpty()) {
      throw new BatonException(refusal(config, dir, group, sawThisNode));
    }
    int majority = config.members().size() / 2 + 1;
    if (!holders.isEmpty()
        && holders.size() < majority
        && holders.stream().anyMatch(Answer::holdsSnapshot)) {
      // Some peer holds state from a snapshot, but those that hold the log are no majority: empty
      // members could still form a majority of their own and elect one of them with an empty log,
      // whose tokens start again from 1, below the snapshot's. The case that happens: a member
      // written by 'baton recover' (a snapshot at the token floor and no log, no leader yet)
      // beside members started empty with bootstrap. Without a snapshot anywhere, a minority of
      // holders is a new cluster's first start seen mid-way (two founders elected a leader and
      // this one asked before the second had the first entry, or while it was too slow to
      // answer): everything that cluster holds came through Raft from its founders, so Raft's own
      // voting rule keeps it, and refusing would stop a founder that did nothing wrong.
      throw new BatonException(minorityRefusal(config, dir, group, holders, majority));
    }
    if (!holders.isEmpty()) {
      // The cluster exists but none of its members has ever heard from this node: a founder that
      // started after the others formed the cluster. It has nothing to forget; it starts as a
      // follower with an empty log and receives the log from the leader, as Raft allows. This is
      // safe because a majority holds the log: every majority then includes a member holding it,
      // which never votes for a candidate with an empty log, so no leader with an empty log (and
      // tokens from 1) can be elected.
      LOG.warn(
          "{}: bootstrap: data directory {} is empty; the cluster already runs ({}), but no member"
              + " has ever seen this node acknowledge an entry: starting as a founder that started"
              + " late, to receive the log from the leader. Remove bootstrap from this node's"
              + " configuration once it has started",
          self,
          dir,
          holders.stream().map(a -> a.peer() + ": " + a.said()).collect(Collectors.joining("; ")));
      return true;
    }
    LOG.info(
        "{}: bootstrap: data directory {} is empty; asked the other members whether they hold"
            + " cluster {}'s Raft group {} with a log (within {} ms); no peer said it does ({})."
            + " Starting as"
            + " the first start of a new cluster. Remove bootstrap from this node's configuration"
            + " once the cluster has started",
        self,
        dir,
        config.clusterId(),
        group.getUuid(),
        timeout.toMillis(),
        answers.stream().map(a -> a.peer() + ": " + a.said()).collect(Collectors.joining("; ")));
    return false;
  }

  private static String minorityRefusal(
      NodeConfig config, Path dir, RaftGroupId group, List<Answer> holders, int majority) {
    String self = config.self().id();
    return "bootstrap is set and data directory "
        + dir
        + " is empty (or missing), but "
        + holders.stream()
            .map(a -> "peer " + a.peer() + " (log index " + a.index() + ")")
            .collect(Collectors.joining(", "))
        + " already "
        + (holders.size() == 1 ? "holds" : "hold")
        + " the Raft group "
        + group.getUuid()
        + " of cluster '"
        + config.clusterId()
        + "' with a log or a snapshot, and "
        + (holders.size() == 1 ? "it is" : "they are")
        + " no majority ("
        + majority
        + " of "
        + config.members().size()
        + "): members started empty could elect one of them with an empty log, whose tokens would"
        + " start again from 1, below the tokens this cluster's state already holds. This is what"
        + " happens when a member's directory was written by 'baton recover' and the others are"
        + " started empty with bootstrap. Refusing to start, nothing was changed. Node '"
        + self
        + "': if this cluster was recovered from a lost majority, stop, run 'baton recover' for"
        + " this node from the same copy into "
        + dir
        + " and start it without 'bootstrap'; if it is a running cluster that lost this node's"
        + " directory, bring the node back with 'joining: true' ('baton members remove "
        + self
        + "', start with 'joining: true', 'baton members add --id "
        + self
        + " --raft <host:port>'). See docs/operations/disaster-recovery.md";
  }

  private static String refusal(
      NodeConfig config, Path dir, RaftGroupId group, List<Answer> holders) {
    String self = config.self().id();
    String who =
        holders.stream()
            .map(
                a ->
                    "peer "
                        + a.peer()
                        + " (log index "
                        + a.index()
                        + (a.selfCommit() >= 0
                            ? ", and it saw this node acknowledge up to index " + a.selfCommit()
                            : "")
                        + ")")
            .collect(Collectors.joining(", "));
    return "bootstrap is set and data directory "
        + dir
        + " is empty (or missing), but "
        + who
        + " already "
        + (holders.size() == 1 ? "holds" : "hold")
        + " the Raft group "
        + group.getUuid()
        + " of cluster '"
        + config.clusterId()
        + "' with a log: this cluster exists, so this is not its first start. Node '"
        + self
        + "' either lost its data directory (and its configuration still says bootstrap) or the"
        + " cluster was started without it; as a new voter it would vote with no memory of the"
        + " log. Refusing to start, nothing was changed. Remove 'bootstrap' from this node's"
        + " configuration (it is for the first start of a new cluster only), then bring the node"
        + " back as after a disk loss: from a running member, 'baton members remove "
        + self
        + "', then start this node with 'joining: true' (BatonNode.Builder.joining(true)), then"
        + " 'baton members add --id "
        + self
        + " --raft <host:port>'. See docs/operations/disaster-recovery.md";
  }

  private static List<Answer> ask(
      NodeConfig config, List<Member> peers, RaftGroupId group, Duration timeout) {
    // The node's own transport: its TLS identity, checking that each server is a member.
    MemberDirectory directory = new MemberDirectory(config, new BatonStateMachine());
    RaftTransport transport = RaftTransport.create(config, directory, kind -> {});
    Parameters parameters = new Parameters();
    if (transport.tls != null) {
      GrpcConfigKeys.TLS.setConf(parameters, transport.tls);
      GrpcConfigKeys.Admin.setTlsConf(parameters, transport.tls);
      GrpcConfigKeys.Client.setTlsConf(parameters, transport.tls);
    }
    RaftProperties properties = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(
        properties, TimeDuration.valueOf(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS));
    ExecutorService pool =
        Executors.newFixedThreadPool(
            peers.size(),
            r -> {
              Thread t = new Thread(r, "baton-bootstrap-probe");
              t.setDaemon(true);
              return t;
            });
    Map<String, CompletableFuture<Answer>> pending = new LinkedHashMap<>();
    try (RaftClient client =
        RaftClient.newBuilder()
            .setRaftGroup(RaftGroup.valueOf(group, RaftNode.toPeers(config.members())))
            .setProperties(properties)
            .setParameters(parameters)
            .setRetryPolicy(RetryPolicies.noRetry())
            .build()) {
      for (Member p : peers) {
        pending.put(
            p.id(),
            CompletableFuture.supplyAsync(() -> askOne(client, p.id(), group, config), pool));
      }
      long deadline = System.nanoTime() + timeout.toNanos();
      List<Answer> answers = new ArrayList<>();
      for (Map.Entry<String, CompletableFuture<Answer>> e : pending.entrySet()) {
        long left = Math.max(0, deadline - System.nanoTime());
        try {
          answers.add(e.getValue().get(left, TimeUnit.NANOSECONDS));
        } catch (TimeoutException t) {
          answers.add(new Answer(e.getKey(), "no answer within " + timeout.toMillis() + " ms"));
        } catch (ExecutionException x) {
          answers.add(new Answer(e.getKey(), "no answer: " + x.getCause()));
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
          throw new BatonException("interrupted while asking the peers before bootstrap", x);
        }
      }
      return answers;
    } catch (IOException e) {
      throw new BatonException("cannot ask the peers before bootstrap: " + e, e);
    } finally {
      pool.shutdownNow();
    }
  }

  private static Answer askOne(RaftClient client, String peer, RaftGroupId group, NodeConfig c) {
    GroupInfoReply reply;
    try {
      reply = client.getGroupManagementApi(RaftPeerId.valueOf(peer)).info(group);
    } catch (GroupMismatchException e) {
      return new Answer(peer, "does not run this cluster's group");
    } catch (IOException | RuntimeException e) {
      if (hasCause(e, GroupMismatchException.class)) {
        return new Answer(peer, "does not run this cluster's group");
      }
      return new Answer(peer, "no answer: " + firstLine(e));
    }
    if (!reply.isSuccess()) {
      if (reply.getException() instanceof GroupMismatchException) {
        return new Answer(peer, "does not run this cluster's group");
      }
      return new Answer(peer, "no answer: " + firstLine(reply.getException()));
    }
    long index = -1;
    long snapshot = -1;
    LogInfoProto log = reply.getLogInfoProto();
    if (log != null) {
      if (log.hasLastEntry()) {
        index = Math.max(index, log.getLastEntry().getIndex());
      }
      if (log.hasCommitted()) {
        index = Math.max(index, log.getCommitted().getIndex());
      }
      if (log.hasApplied()) {
        index = Math.max(index, log.getApplied().getIndex());
      }
      if (log.hasLastSnapshot()) {
        snapshot = log.getLastSnapshot().getIndex();
        index = Math.max(index, snapshot);
      }
    }
    long selfCommit = -1;
    String selfId = c.self().id();
    for (CommitInfoProto ci : reply.getCommitInfos()) {
      String id = RaftPeerId.valueOf(ci.getServer().getId()).toString();
      if (id.equals(peer)) {
        index = Math.max(index, ci.getCommitIndex());
      } else if (id.equals(selfId)) {
        selfCommit = Math.max(selfCommit, ci.getCommitIndex());
      }
    }
    return new Answer(
        peer,
        index,
        snapshot,
        selfCommit,
        index > RaftSeed.GENESIS_INDEX
            ? "holds the group with log index " + index
            : "holds the group, nothing past the genesis");
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  /** The failure and its root cause ("UNAVAILABLE: io exception" alone says little), one line. */
  private static String firstLine(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String s = root == e ? String.valueOf(e) : e + " (" + root + ")";
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
