package dev.baton.examples.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.LocalPorts;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.NodeFaults;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three embedded services share one ledger. The active is cut off from its peers while its writer
 * is stopped right before a write, after its lease check passed (what a GC pause does); a new
 * active takes over and writes; then the old writer wakes up, still holding its old activation, and
 * tries its write. The fence must refuse it, and the ledger must show every sequence number exactly
 * once, in order, with tokens that never go down.
 */
class EmbeddedServiceTest {
  private static final Pattern LINE = Pattern.compile("token=(\\d+) seq=(\\d+) node=(\\S+)");
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;
  private final Map<String, BatonNode> nodes = new LinkedHashMap<>();
  private final Map<String, EmbeddedService> services = new LinkedHashMap<>();
  private final NetworkPartition partition = NetworkPartition.create();
  private final CountDownLatch resume = new CountDownLatch(1);

  @AfterEach
  void stop() {
    partition.heal();
    resume.countDown();
    services.values().forEach(EmbeddedService::close);
    nodes.values().forEach(NodeFaults::crash);
  }

  @Test
  void aStaleWriterThatKeepsRunningIsRefusedAndTheLedgerHasNoGapAndNoDuplicate() throws Exception {
    List<Member> members = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      members.add(Member.voter("n" + i, "127.0.0.1:" + LocalPorts.next()));
    }
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    List<Thread> starting = new ArrayList<>();
    for (Member m : members) {
      BatonNode node =
          BatonNode.builder()
              .clusterId("embedded-test")
              .nodeId(m.id())
              .members(members)
              .dataDir(dir.resolve(m.id()))
              .timing(Timing.scaledTo(Duration.ofMillis(500), Duration.ofMillis(1000)))
              .clusterSecret(secret)
              .bootstrap(true)
              .build();
      nodes.put(m.id(), node);
      Thread t = new Thread(node::start);
      t.start();
      starting.add(t);
    }
    for (Thread t : starting) {
      t.join();
    }
    for (BatonNode n : nodes.values()) {
      services.put(n.id(), new EmbeddedService(n).start());
    }
    await().atMost(WAIT).until(() -> ledger().size() >= 10);

    // Stop the active's writer right before its next write, after its lease check passed. Every
    // writer is armed, so whichever is active (the role may move under load) is the one stopped.
    CountDownLatch parked = new CountDownLatch(1);
    AtomicBoolean once = new AtomicBoolean();
    AtomicReference<String> parkedLine = new AtomicReference<>();
    AtomicReference<EmbeddedService> parkedWriter = new AtomicReference<>();
    for (EmbeddedService s : services.values()) {
      s.beforeWrite =
          line -> {
            if (once.compareAndSet(false, true)) {
              parkedLine.set(line);
              parkedWriter.set(s);
              parked.countDown();
              try {
                resume.await(2, TimeUnit.MINUTES);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          };
    }
    await().atMost(WAIT).until(() -> parked.getCount() == 0);
    EmbeddedService stale = parkedWriter.get();
    long oldToken = token(parkedLine.get());
    Matcher parkedAt = LINE.matcher(parkedLine.get());
    assertThat(parkedAt.matches()).as(parkedLine.get()).isTrue();
    BatonNode old = nodes.get(parkedAt.group(3));
    long staleWrites = stale.writes();

    // Cut the old active off: it loses its lease and a new active is elected and writes.
    partition.isolate(old.id(), nodes.keySet());
    BatonNode next = awaitActive(old);
    long newToken = next.token();
    assertThat(newToken).as("tokens only grow").isGreaterThan(oldToken);
    await()
        .atMost(WAIT)
        .until(() -> ledger().stream().filter(l -> token(l) > oldToken).count() >= 5);

    // The network heals and the old writer wakes up with its old activation in hand.
    partition.heal();
    resume.countDown();
    await()
        .atMost(WAIT)
        .alias("the old writer tried its write and the fence refused it")
        .until(() -> stale.refusals() > 0);
    assertThat(stale.writes())
        .as("the old writer wrote nothing after its pause")
        .isEqualTo(staleWrites);

    int size = ledger().size();
    await().atMost(WAIT).until(() -> ledger().size() >= size + 10);

    List<String> all = EmbeddedService.ledger(next.kv());
    long lastToken = 0;
    long lastSeq = 0;
    int firstNew = -1;
    for (int i = 0; i < all.size(); i++) {
      String line = all.get(i);
      Matcher m = LINE.matcher(line);
      assertThat(m.matches()).as(line).isTrue();
      long token = Long.parseLong(m.group(1));
      long seq = Long.parseLong(m.group(2));
      assertThat(token).as("tokens never go down: " + line).isGreaterThanOrEqualTo(lastToken);
      assertThat(seq).as("each sequence number once, no gap: " + line).isEqualTo(lastSeq + 1);
      if (firstNew < 0 && token > oldToken) {
        firstNew = i;
      }
      lastToken = token;
      lastSeq = seq;
    }
    assertThat(firstNew).as("the new active wrote").isPositive();
    assertThat(all.subList(firstNew, all.size()))
        .as("nothing with the old token after the new one")
        .noneMatch(l -> token(l) == oldToken);
  }

  /** The active node other than {@code not}, once there is one. */
  private BatonNode awaitActive(BatonNode not) {
    return await()
        .atMost(WAIT)
        .until(
            () -> nodes.values().stream().filter(n -> n != not && n.isActive()).findFirst(),
            Optional::isPresent)
        .get();
  }

  /** The ledger as the cluster holds it, read through a node that is not cut off. */
  private List<String> ledger() {
    BatonNode via = nodes.values().stream().filter(BatonNode::isActive).findFirst().orElse(null);
    if (via == null) {
      return List.of();
    }
    try {
      return EmbeddedService.ledger(via.kv());
    } catch (RuntimeException e) {
      return List.of(); // no answer in time (an election is under way): ask again
    }
  }

  private static long token(String line) {
    Matcher m = LINE.matcher(line);
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }
}
