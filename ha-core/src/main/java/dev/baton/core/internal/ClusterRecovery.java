package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.Member;
import dev.baton.core.RecoveryRequest;
import dev.baton.core.internal.proto.MembershipRequest;
import dev.baton.core.internal.proto.Snapshot;
import dev.baton.core.internal.proto.SwitchRequest;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Recovery from a lost majority (docs/operations/disaster-recovery.md): reads one surviving
 * member's data directory offline (its newest snapshot and every log entry after it), and writes
 * the data directory of one member of a <em>new</em> cluster (a new cluster id, so a new Raft
 * group) seeded with that state.
 *
 * <p>Tokens are log indexes (I1). The new directory holds only a snapshot, at index {@code floor},
 * and an empty log, so the new cluster's first entry, and its first activation, has an index above
 * {@code floor}: {@code floor = max(last index in the copy, the highest token the fences hold) +
 * margin}. The copy alone cannot bound the tokens the lost majority may have issued after this
 * member last heard from it; the fences can (every token that protected anything was written to a
 * fence by a promotion plan before it was used), so the operator must state the highest token the
 * fences hold.
 *
 * <p>It refuses, and writes nothing, when the source is of a newer format, not a Baton data
 * directory, or of the same cluster id as the new cluster; when the target is not empty; and when
 * any old member's Raft address still answers a TCP connection.
 */
public final class ClusterRecovery {
  private ClusterRecovery() {}

  /** What it did. */
  public record Result(
      String oldClusterId,
      String fromNode,
      Map<String, String> oldMembers,
      long oldTerm,
      long snapshotIndex,
      long lastLogIndex,
      long knownCommit,
      int beyondKnownCommit,
      long highestToken,
      String lastActive,
      long fenceToken,
      long floor,
      int keys,
      int journal,
      String newClusterId,
      String nodeId,
      List<Member> newMembers,
      Path to) {

    /** A report for the operator, one fact a line. */
    public String describe() {
      StringBuilder b = new StringBuilder();
      b.append("recovered from a copy of node '")
          .append(fromNode)
          .append("' of cluster '")
          .append(oldClusterId)
          .append("'\n");
      b.append("  old members (none answered): ").append(oldMembers).append('\n');
      b.append("  old term ")
          .append(oldTerm)
          .append(", snapshot at index ")
          .append(snapshotIndex)
          .append(", last log index ")
          .append(lastLogIndex)
          .append(", applied the whole log; highest commit index the copy records ")
          .append(knownCommit);
      if (beyondKnownCommit > 0) {
        b.append(" (")
            .append(beyondKnownCommit)
            .append(
                " applied entries after it, as a leader elected with this log would commit them)");
      }
      b.append('\n');
      b.append("  highest token in the copy ")
          .append(highestToken)
          .append(" (last active: ")
          .append(lastActive.isEmpty() ? "none" : lastActive)
          .append("), highest token the fences hold (given) ")
          .append(fenceToken)
          .append('\n');
      b.append("  token floor ")
          .append(floor)
          .append(": the new cluster's first token is above it\n");
      b.append("  kept ")
          .append(keys)
          .append(" keys and ")
          .append(journal)
          .append(
              " journal records; dropped the member list, pending switch and pending membership")
          .append(" change\n");
      b.append("  wrote ")
          .append(to)
          .append(" for node '")
          .append(nodeId)
          .append("' of new cluster '")
          .append(newClusterId)
          .append("' with members ");
      List<String> ids = new ArrayList<>();
      newMembers.forEach(m -> ids.add(m.id() + "=" + m.address()));
      b.append(ids).append('\n');
      return b.toString();
    }
  }

  /**
   * Reads, checks and writes; throws {@link BatonException} naming what it refused. Its API is
   * {@link dev.baton.core.BatonRecovery#recover}.
   */
  public static Result recover(RecoveryRequest r) {
    if (r.newClusterId() == null || r.newClusterId().isBlank()) {
      throw new BatonException("recover: the new cluster id is empty");
    }
    if (r.newMembers().stream().noneMatch(m -> m.id().equals(r.nodeId()))) {
      throw new BatonException(
          "recover: node '"
              + r.nodeId()
              + "' is not one of the new members "
              + ids(r.newMembers()));
    }
    if (r.fenceToken() < 0 || r.margin() < 0) {
      throw new BatonException(
          "recover: the fence token ("
              + r.fenceToken()
              + ") and the margin ("
              + r.margin()
              + ") must not be negative");
    }
    checkTargetEmpty(r.to());
    RecoverySource source = RecoverySource.read(r.from());
    if (source.clusterId.equals(r.newClusterId())) {
      throw new BatonException(
          "recover: the new cluster id '"
              + r.newClusterId()
              + "' is the old cluster's ("
              + r.from().resolve(DataDirectory.IDENTITY_FILE)
              + "): a recovered cluster needs a new id, so that no node of the old one can ever talk"
              + " to it; nothing was written");
    }
    probe(source.members, r.probeTimeout());

    long floor;
    try {
      floor =
          Math.addExact(
              Math.max(Math.max(source.lastIndex, source.state.highestToken), r.fenceToken()),
              r.margin());
    } catch (ArithmeticException e) {
      throw new BatonException("recover: the token floor overflows a 64-bit token");
    }
    ReplicatedState state = source.state;
    String lastActive =
        state.activation.getNodeId().isEmpty()
            ? ""
            : state.activation.getNodeId() + ", token " + state.activation.getToken();
    long highestInCopy = Math.max(state.highestToken, state.activation.getToken());
    state.highestToken = floor;
    state.members = List.of();
    state.membersIndex = 0;
    state.pendingSwitch = SwitchRequest.getDefaultInstance();
    state.pendingMembership = MembershipRequest.getDefaultInstance();
    state.membershipOutcomes.clear();
    write(r, state.toSnapshot(true), source.term, floor);
    return new Result(
        source.clusterId,
        source.nodeId,
        source.members,
        source.term,
        source.snapshotIndex,
        source.lastIndex,
        source.knownCommit,
        source.beyondKnownCommit,
        highestInCopy,
        lastActive,
        r.fenceToken(),
        floor,
        state.kv.size(),
        state.journal.size(),
        r.newClusterId(),
        r.nodeId(),
        List.copyOf(r.newMembers()),
        r.to());
  }

  private static String ids(Collection<Member> members) {
    List<String> ids = new ArrayList<>();
    members.forEach(m -> ids.add(m.id()));
    return ids.toString();
  }

  private static void checkTargetEmpty(Path to) {
    if (Files.exists(to)) {
      if (!Files.isDirectory(to)) {
        throw new BatonException("recover: target " + to + " exists and is not a directory");
      }
      try (Stream<Path> s = Files.list(to)) {
        if (s.findAny().isPresent()) {
          throw new BatonException(
              "recover: target data directory "
                  + to
                  + " is not empty; recover writes only into an empty (or missing) directory,"
                  + " nothing was written");
        }
      } catch (IOException e) {
        throw new BatonException("recover: cannot read target " + to + ": " + e.getMessage(), e);
      }
    }
  }

  private static void probe(Map<String, String> members, Duration timeout) {
    if (members.isEmpty()) {
      throw new BatonException(
          "recover: the copy names no members (no Raft configuration found), so it cannot check"
              + " that the old cluster is down; nothing was written");
    }
    for (Map.Entry<String, String> m : members.entrySet()) {
      String address = m.getValue();
      int colon = address.lastIndexOf(':');
      if (colon < 0) {
        continue;
      }
      String host = address.substring(0, colon);
      int port;
      try {
        port = Integer.parseInt(address.substring(colon + 1));
      } catch (NumberFormatException e) {
        continue;
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      } catch (IOException e) {
        continue; // Does not answer.
      }
      throw new BatonException(
          "recover: old member '"
              + m.getKey()
              + "' still answers at "
              + address
              + ": the old cluster (or something on its Raft port) is still up. Recovery starts a"
              + " new cluster and is only for a majority lost for good: stop every old node (or,"
              + " if the lost members can come back, bring them back instead); nothing was"
              + " written");
    }
  }

  private static void write(RecoveryRequest r, Snapshot snapshot, long term, long floor) {
    Path to = r.to();
    try {
      RaftSeed.write(to, r.newClusterId(), term, floor, snapshot, "written by baton recover");
      Properties p = new Properties();
      p.setProperty("cluster.id", r.newClusterId());
      p.setProperty("node.id", r.nodeId());
      p.setProperty("format.version", String.valueOf(BatonStateMachine.FORMAT_VERSION));
      p.setProperty("recovered.from.cluster", readCluster(r.from()));
      p.setProperty("recovered.token.floor", Long.toString(floor));
      // The identity file last: a directory without it is not taken by a node.
      Path tmp = to.resolve(DataDirectory.IDENTITY_FILE + ".tmp");
      try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        p.store(w, "Baton node identity: do not edit");
      }
      Files.move(
          tmp,
          to.resolve(DataDirectory.IDENTITY_FILE),
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new BatonException("recover: cannot write " + to + ": " + e.getMessage(), e);
    }
  }

  private static String readCluster(Path from) throws IOException {
    Properties p = new Properties();
    try (Reader in =
        Files.newBufferedReader(
            from.resolve(DataDirectory.IDENTITY_FILE), StandardCharsets.UTF_8)) {
      p.load(in);
    }
    return p.getProperty("cluster.id", "");
  }
}
