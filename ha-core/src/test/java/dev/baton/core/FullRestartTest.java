package dev.baton.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.segmented.LogSegment;
import org.apache.ratis.server.raftlog.segmented.LogSegmentPath;
import org.apache.ratis.util.SizeInBytes;
import org.junit.jupiter.api.Test;

/**
 * Every node of the cluster crashes and restarts after writes, twice, with Ratis's log metadata off
 * (issue 40): a restarted node no longer learns from its own log how far it had committed, so it
 * applies up to its snapshot, and the rest once a leader tells it the commit index. Every
 * acknowledged write is there afterwards, read on every node, tokens only grow (I1), and every
 * node's own state catches up with the new activation.
 */
class FullRestartTest {

  @Test
  void everyAcknowledgedWriteSurvivesFullCrashesAndTokensOnlyGrow() throws Exception {
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))
            .startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      Map<String, String> acknowledged = new LinkedHashMap<>();
      long token = active.token();
      long highestRevision = 0;
      for (int cycle = 0; cycle < 2; cycle++) {
        // Past the snapshot threshold, then a tail that is only in the log: on restart each node
        // holds a snapshot and committed entries after it that it does not know are committed.
        for (int i = 0; i < 130; i++) {
          String key = "c" + cycle + "/k" + i;
          String value = "v" + cycle + "-" + i;
          BatonNode writer = i % 2 == 0 ? active : standbyOf(cluster);
          KvEntry e = writer.kv().put(key, value.getBytes(UTF_8));
          acknowledged.put(key, value);
          highestRevision = Math.max(highestRevision, e.revision());
        }
        for (String id : List.of("n1", "n2", "n3")) {
          cluster.crash(id);
        }
        assertThat(cluster.running()).isEmpty();
        cluster.startAll();

        active = cluster.awaitActive(Duration.ofSeconds(30));
        long again = active.token();
        assertThat(again).isGreaterThan(token).isGreaterThan(highestRevision);
        token = again;
        for (BatonNode n : cluster.running()) {
          Map<String, String> read = new LinkedHashMap<>();
          n.kv().list("c").forEach(e -> read.put(e.key(), e.valueAsString()));
          assertThat(read)
              .as("the KV read on %s after restart %d", n.id(), cycle + 1)
              .containsExactlyInAnyOrderEntriesOf(acknowledged);
        }
        // The followers' own applied state catches up too (from the leader's commit index).
        long expected = token;
        await()
            .atMost(Duration.ofSeconds(10))
            .untilAsserted(
                () ->
                    assertThat(cluster.running())
                        .allSatisfy(
                            n -> assertThat(n.status().highestToken()).isEqualTo(expected)));
      }
      // The setting this test is about: no log-metadata entry was written by any node.
      for (String id : List.of("n1", "n2", "n3")) {
        assertThat(metadataEntries(cluster.dataDir(id))).as("metadata entries on %s", id).isZero();
      }
    }
  }

  private static BatonNode standbyOf(TestCluster cluster) {
    return cluster.running().stream().filter(n -> !n.isActive()).findFirst().orElseThrow();
  }

  /** The log-metadata entries in every Raft log segment under {@code dataDir}. */
  private static int metadataEntries(Path dataDir) throws IOException {
    List<Path> segments = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.filter(p -> LogSegmentPath.matchLogSegment(p) != null).forEach(segments::add);
    }
    assertThat(segments).as("log segments under %s", dataDir).isNotEmpty();
    AtomicInteger metadata = new AtomicInteger();
    AtomicInteger entries = new AtomicInteger();
    for (Path p : segments) {
      LogSegment.readSegmentFile(
          p.toFile(),
          LogSegmentPath.matchLogSegment(p).getStartEnd(),
          SizeInBytes.valueOf("64MB"),
          RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION,
          null,
          e -> {
            entries.incrementAndGet();
            if (e.hasMetadataEntry()) {
              metadata.incrementAndGet();
            }
          });
    }
    assertThat(entries.get()).as("log entries read under %s", dataDir).isPositive();
    return metadata.get();
  }
}
