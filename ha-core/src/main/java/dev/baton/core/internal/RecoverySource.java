package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerProto;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.segmented.LogSegment;
import org.apache.ratis.server.raftlog.segmented.LogSegmentPath;
import org.apache.ratis.util.MD5FileUtil;
import org.apache.ratis.util.SizeInBytes;

/**
 * One job: reads a surviving member's data directory offline for {@link ClusterRecovery} (its
 * identity, its Raft metadata, its newest snapshot and every log entry after it, applied in order)
 * into the state a recovered cluster is seeded with. It writes nothing.
 */
final class RecoverySource {
  private static final Pattern SNAPSHOT = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  private static final SizeInBytes MAX_ENTRY = SizeInBytes.valueOf("64MB");

  // Set by read() from the identity file before anything else reads them.
  String clusterId = "";
  String nodeId = "";
  long term;
  long snapshotIndex;
  long lastIndex;
  long knownCommit;
  int beyondKnownCommit;
  final Map<String, String> members = new TreeMap<>();
  final ReplicatedState state = new ReplicatedState();

  private RecoverySource() {}

  static RecoverySource read(Path from) {
    Path identity = from.resolve(DataDirectory.IDENTITY_FILE);
    if (!Files.isRegularFile(identity)) {
      throw new BatonException(
          "recover: "
              + from
              + " is not a Baton data directory (it has no "
              + DataDirectory.IDENTITY_FILE
              + ")");
    }
    RecoverySource s = new RecoverySource();
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(identity, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (IOException e) {
      throw new BatonException("recover: cannot read " + identity + ": " + e.getMessage(), e);
    }
    s.clusterId = p.getProperty("cluster.id", "");
    s.nodeId = p.getProperty("node.id", "");
    if (s.clusterId.isEmpty() || s.nodeId.isEmpty()) {
      throw new BatonException(
          "recover: " + identity + " names no cluster.id or no node.id; nothing was written");
    }
    DataDirectory.checkFormat(from, identity, p.getProperty("format.version"));
    Path group = from.resolve("raft").resolve(RaftNode.groupId(s.clusterId).getUuid().toString());
    if (!Files.isDirectory(group)) {
      throw new BatonException(
          "recover: "
              + from
              + " has no Raft group directory "
              + group
              + " for cluster '"
              + s.clusterId
              + "'; nothing was written");
    }
    try {
      readMeta(group.resolve("current"), s);
      readSnapshot(group.resolve("sm"), s);
      readLog(group.resolve("current"), s);
    } catch (IOException e) {
      throw new BatonException(
          "recover: cannot read " + group + ": " + e.getMessage() + "; nothing was written", e);
    }
    for (var m : s.state.members) {
      s.members.putIfAbsent(m.getNodeId(), m.getAddress());
    }
    return s;
  }

  private static void readMeta(Path current, RecoverySource s) throws IOException {
    Path meta = current.resolve("raft-meta");
    if (Files.isRegularFile(meta)) {
      Properties p = new Properties();
      try (Reader in = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
        p.load(in);
      }
      try {
        s.term = Long.parseLong(p.getProperty("term", "0").trim());
      } catch (NumberFormatException e) {
        throw new IOException(meta + " has term '" + p.getProperty("term") + "', not a number");
      }
    }
    Path conf = current.resolve("raft-meta.conf");
    if (Files.isRegularFile(conf)) {
      try (InputStream in = Files.newInputStream(conf)) {
        configuration(LogEntryProto.parseFrom(in), s);
      }
    }
  }

  private static void configuration(LogEntryProto e, RecoverySource s) {
    if (e.hasConfigurationEntry()) {
      s.members.clear();
      for (RaftPeerProto peer : e.getConfigurationEntry().getPeersList()) {
        s.members.put(peer.getId().toStringUtf8(), peer.getAddress());
      }
    }
  }

  private static void readSnapshot(Path sm, RecoverySource s) throws IOException {
    if (!Files.isDirectory(sm)) {
      return;
    }
    Path latest = null;
    long latestIndex = -1;
    long latestTerm = 0;
    try (Stream<Path> files = Files.list(sm)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Matcher m = SNAPSHOT.matcher(f.getFileName().toString());
        if (m.matches() && Long.parseLong(m.group(2)) > latestIndex) {
          latest = f;
          latestTerm = Long.parseLong(m.group(1));
          latestIndex = Long.parseLong(m.group(2));
        }
      }
    }
    if (latest == null) {
      return;
    }
    Snapshot snapshot =
        SnapshotStore.readChecked(
            latest.toFile(), MD5FileUtil.readStoredMd5ForFile(latest.toFile()), "this release");
    s.state.restore(snapshot);
    s.snapshotIndex = latestIndex;
    s.lastIndex = latestIndex;
    s.knownCommit = latestIndex;
    s.term = Math.max(s.term, latestTerm);
  }

  private static void readLog(Path current, RecoverySource s) throws IOException {
    List<LogSegmentPath> segments = new ArrayList<>();
    if (Files.isDirectory(current)) {
      try (Stream<Path> files = Files.list(current)) {
        files
            .map(LogSegmentPath::matchLogSegment)
            .filter(java.util.Objects::nonNull)
            .forEach(segments::add);
      }
    }
    segments.sort(Comparator.comparing(LogSegmentPath::getStartEnd));
    List<LogEntryProto> entries = new ArrayList<>();
    AtomicLong commit = new AtomicLong(s.snapshotIndex);
    for (LogSegmentPath segment : segments) {
      LogSegment.readSegmentFile(
          segment.getPath().toFile(),
          segment.getStartEnd(),
          MAX_ENTRY,
          RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION,
          null,
          e -> {
            s.lastIndex = Math.max(s.lastIndex, e.getIndex());
            s.term = Math.max(s.term, e.getTerm());
            if (e.hasMetadataEntry()) {
              commit.accumulateAndGet(e.getMetadataEntry().getCommitIndex(), Math::max);
            } else if (e.hasConfigurationEntry()) {
              configuration(e, s);
            } else if (e.hasStateMachineLogEntry() && e.getIndex() > s.snapshotIndex) {
              entries.add(e);
            }
          });
    }
    CommandApplier applier = new CommandApplier(s.state, new KvWatches(), new AtomicLong());
    List<Runnable> ignored = new ArrayList<>();
    // The whole log is applied: a leader elected with this log would commit all of it (Raft
    // commits a new leader's log with the first entry of its term), and the copy's own commit
    // index lags what this member applied (Ratis records it in a later entry). Entries past the
    // recorded commit index are counted, so the operator sees them.
    s.knownCommit = Math.max(s.snapshotIndex, commit.get());
    for (LogEntryProto e : entries) {
      if (e.getIndex() > s.knownCommit) {
        s.beyondKnownCommit++;
      }
      Command command;
      try {
        command = Command.parseFrom(e.getStateMachineLogEntry().getLogData().toByteArray());
      } catch (com.google.protobuf.InvalidProtocolBufferException x) {
        continue; // Skipped, as the state machine skips it.
      }
      if (command.getFormatVersion() > BatonStateMachine.FORMAT_VERSION) {
        throw new IOException(
            "log entry "
                + e.getIndex()
                + " has format version "
                + command.getFormatVersion()
                + " but this release reads up to version "
                + BatonStateMachine.FORMAT_VERSION);
      }
      applier.apply(command, e.getIndex(), e.getTerm(), ignored);
    }
  }
}
