package dev.baton.jepsen;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.core.BatonNode;
import dev.baton.core.Member;
import dev.baton.core.testing.RaftOutsider;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.jepsen.node.EventLog;
import dev.baton.jepsen.node.RefusalRecorder;
import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outsider nemesis's probe (loopback, no Docker). Against ports nobody listens on, an attempt
 * that never reached a node is not a refusal, and a probe made only of such attempts checks
 * nothing, so outsider-refused must answer UNKNOWN, never VALID; against a real cluster, each
 * attempt is refused and counted by a node, and the check is VALID.
 */
class OutsiderProbeTest {

  /** A loopback port that was free a moment ago and that nothing listens on now. */
  private static int deadPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aProbeThatReachedNoNodeIsUnknownNotRefused() throws IOException {
    List<Member> members = new ArrayList<>();
    for (String id : List.of("n1", "n2", "n3")) {
      members.add(Member.voter(id, "127.0.0.1:" + deadPort()));
    }
    List<RaftOutsider.Attempt> attempts;
    try (RaftOutsider o = RaftOutsider.plaintext("jepsen", members)) {
      attempts =
          List.of(
              o.rawWrite("garbage from an outsider".getBytes(StandardCharsets.UTF_8)),
              o.setConfiguration(List.of("n1")),
              o.transferLeadership("n2"),
              o.startLeaderElection("n2", "n1", 1));
    }
    List<Nemesis.Event> schedule = new ArrayList<>();
    schedule.add(new Nemesis.Event(1, NemesisKind.OUTSIDER, "start", "outsider probes"));
    long t = 2;
    for (RaftOutsider.Attempt a : attempts) {
      schedule.add(new Nemesis.Event(t++, NemesisKind.OUTSIDER, "attempt", "begins"));
      schedule.add(
          new Nemesis.Event(t++, NemesisKind.OUTSIDER, Nemesis.outsiderPhase(a), a.what()));
    }
    schedule.add(new Nemesis.Event(t, NemesisKind.OUTSIDER, "end", "outsider done"));
    assertThat(attempts).as("%s", attempts).noneMatch(RaftOutsider.Attempt::succeeded);
    Checks.Outcome r = Checks.outsiderRefused(schedule, List.of());
    assertThat(r.validity()).as(r.summary() + " from " + attempts).isEqualTo(Validity.UNKNOWN);
    // Nothing listens, so no node recorded a refusal (no refusals at all).
    assertThat(r.summary()).contains("no node counted a refusal");
  }

  /**
   * The other side, against a real cluster (three in-JVM nodes on loopback with the cluster secret,
   * each with the node app's refusal recorder): the same probe as the nemesis is refused, and every
   * attempt is confirmed by a node's refusal counter, so the check is VALID.
   */
  @Test
  void aProbeOfARealClusterIsRefusedAndCountedByItsNodes(@TempDir Path dir) throws Exception {
    Map<String, MeterRegistry> meters = new ConcurrentHashMap<>();
    List<RefusalRecorder> recorders = new ArrayList<>();
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) ->
                    b.meterRegistry(meters.computeIfAbsent(id, k -> new SimpleMeterRegistry())))
            .startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      Map<String, Path> files = new LinkedHashMap<>();
      List<EventLog> logs = new ArrayList<>();
      for (Map.Entry<String, MeterRegistry> e : meters.entrySet()) {
        Path f = dir.resolve(e.getKey() + ".jsonl");
        files.put(e.getKey(), f);
        EventLog log = new EventLog(f);
        logs.add(log);
        log.write("start", "node", e.getKey(), "incarnation", 0);
        RefusalRecorder r = new RefusalRecorder(e.getValue(), log);
        recorders.add(r);
        Thread t = new Thread(r, "refusals-" + e.getKey());
        t.setDaemon(true);
        t.start();
      }
      String other =
          cluster.members().stream()
              .map(Member::id)
              .filter(id -> !id.equals(active.id()))
              .findFirst()
              .orElseThrow();
      List<Nemesis.Event> schedule = new ArrayList<>();
      Nemesis.probeRaftPort(
          cluster.clusterId(),
          cluster.members(),
          Nemesis.forgedCertificates(dir.resolve("forger"), 3).get(active.id()),
          active.id(),
          other,
          active.status().term(),
          (kind, phase, detail) ->
              schedule.add(new Nemesis.Event(System.nanoTime(), kind, phase, detail)));
      recorders.forEach(RefusalRecorder::stop);
      for (EventLog log : logs) {
        log.close();
      }
      NodeEvents events = NodeEvents.read(files);
      Checks.Outcome r = Checks.outsiderRefused(schedule, events.refusals);
      assertThat(r.validity()).as(r.summary() + " from " + schedule).isEqualTo(Validity.VALID);
      assertThat(r.details()).containsEntry("refused", 4);
      assertThat(active.isActive()).isTrue();
    }
  }
}
