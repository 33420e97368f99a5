package dev.baton.testing.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.util.CodeInjectionForTesting;

/**
 * Drops Raft messages between chosen nodes of in-JVM clusters, using Ratis's own test injection
 * points: the receiving server refuses the request (AppendEntries, RequestVote,
 * StartLeaderElection, InstallSnapshot) before it touches any state, so to both sides the message
 * is lost; or a slow link makes the receiver handle each message late. Client requests are not
 * affected. One JVM-wide table: close (heal) in a finally block.
 */
public final class NetworkPartition implements AutoCloseable {
  private static final Set<String> CUT = ConcurrentHashMap.newKeySet();
  private static final Map<String, Duration> SLOW = new ConcurrentHashMap<>();
  private static final Set<String> ELECTION_REQUESTS_THROUGH = ConcurrentHashMap.newKeySet();
  private static final Map<String, Predicate<AppendEntriesRequestProto>> APPENDS_DROPPED =
      new ConcurrentHashMap<>();

  static {
    for (String point :
        new String[] {
          "RaftServerImpl.appendEntries",
          "RaftServerImpl.requestVote",
          "RaftServerImpl.startLeaderElection",
          "RaftServerImpl.installSnapshot"
        }) {
      CodeInjectionForTesting.put(point, dropper(point.endsWith("startLeaderElection")));
    }
  }

  private static CodeInjectionForTesting.Code dropper(boolean electionRequests) {
    return (localId, remoteId, args) -> {
      String link = remoteId + "->" + localId;
      if (remoteId != null
          && CUT.contains(link)
          && !(electionRequests && ELECTION_REQUESTS_THROUGH.contains(link))) {
        throw new IllegalStateException("partitioned: " + remoteId + " -> " + localId);
      }
      Predicate<AppendEntriesRequestProto> dropAppend =
          localId == null ? null : APPENDS_DROPPED.get(localId.toString());
      if (dropAppend != null
          && args != null
          && args.length >= 2
          && args[1] instanceof AppendEntriesRequestProto request
          && dropAppend.test(request)) {
        throw new IllegalStateException(
            "partitioned: " + remoteId + " -> " + localId + " (this append)");
      }
      Duration late = remoteId == null ? null : SLOW.get(remoteId + "->" + localId);
      if (late != null) {
        // An injected slow link, not a wait for a state: the receiver handles it late.
        try {
          Thread.sleep(late.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return false;
    };
  }

  private NetworkPartition() {}

  public static NetworkPartition create() {
    return new NetworkPartition();
  }

  /** Drops messages both ways between {@code a} and {@code b}. */
  public NetworkPartition cut(String a, String b) {
    CUT.add(a + "->" + b);
    CUT.add(b + "->" + a);
    return this;
  }

  /** Isolates {@code node} from every one of {@code others}. */
  public NetworkPartition isolate(String node, Iterable<String> others) {
    for (String o : others) {
      if (!o.equals(node)) {
        cut(node, o);
      }
    }
    return this;
  }

  /**
   * Lets StartLeaderElection requests that claim to come from {@code from} reach {@code to} through
   * a cut. The cut drops a message by the sender id it claims, so without this a request forged in
   * {@code from}'s name over another connection would be dropped too; the real {@code from} sends
   * one only when it hands leadership over.
   */
  public NetworkPartition letElectionRequestsThrough(String from, String to) {
    ELECTION_REQUESTS_THROUGH.add(from + "->" + to);
    return this;
  }

  /** Every message from {@code from} reaches {@code to} {@code late} later (one way). */
  public NetworkPartition slow(String from, String to, Duration late) {
    SLOW.put(from + "->" + to, late);
    return this;
  }

  /**
   * Drops the AppendEntries requests to {@code to} that {@code drop} picks (it sees each request
   * before the receiver touches any state, in the receiver's own thread): a lossy link that loses
   * only some kinds of message.
   */
  public NetworkPartition dropAppends(String to, Predicate<AppendEntriesRequestProto> drop) {
    APPENDS_DROPPED.put(to, drop);
    return this;
  }

  public void heal() {
    APPENDS_DROPPED.clear();
    CUT.clear();
    SLOW.clear();
    ELECTION_REQUESTS_THROUGH.clear();
  }

  @Override
  public void close() {
    heal();
  }
}
