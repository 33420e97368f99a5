package dev.baton.examples.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.Member;
import dev.baton.core.Timing;
import dev.baton.core.internal.LocalPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three embedded services share one ledger: only the active writes, every sequence number is
 * written exactly once, in order, and tokens in the ledger never go down, across a crash of the
 * active.
 */
class EmbeddedServiceTest {
  private static final Pattern LINE = Pattern.compile("token=(\\d+) seq=(\\d+) node=(\\S+)");
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;
  private final Map<String, BatonNode> nodes = new LinkedHashMap<>();
  private final Map<String, EmbeddedService> services = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    services.values().forEach(EmbeddedService::close);
    nodes.values().forEach(BatonNode::crashForTesting);
  }

  @Test
  void onlyTheActiveWritesAndTheLedgerStaysInOrderAcrossAFailover() throws Exception {
    Path ledger = dir.resolve("ledger.txt");
    List<Member> members = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      members.add(Member.voter("n" + i, "127.0.0.1:" + freePort()));
    }
    List<Thread> starting = new ArrayList<>();
    byte[] secret = new byte[32];
    new java.security.SecureRandom().nextBytes(secret);
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
      services.put(n.id(), new EmbeddedService(n, ledger).start());
    }

    await().atMost(WAIT).until(() -> lines(ledger).size() >= 10);
    BatonNode active =
        await()
            .atMost(WAIT)
            .until(
                () -> nodes.values().stream().filter(BatonNode::isActive).findFirst(),
                java.util.Optional::isPresent)
            .get();
    long oldToken = active.token();
    // Stop the active's worker first (as a crash would stop it), then crash its node.
    services.remove(active.id()).close();
    nodes.remove(active.id()).crashForTesting();
    int before = lines(ledger).size();

    await().atMost(WAIT).until(() -> lines(ledger).stream().anyMatch(l -> token(l) > oldToken));
    await().atMost(WAIT).until(() -> lines(ledger).size() >= before + 10);

    List<String> all = lines(ledger);
    long lastToken = 0;
    long lastSeq = 0;
    for (String line : all) {
      Matcher m = LINE.matcher(line);
      assertThat(m.matches()).as(line).isTrue();
      long token = Long.parseLong(m.group(1));
      long seq = Long.parseLong(m.group(2));
      assertThat(token).as("tokens never go down: " + line).isGreaterThanOrEqualTo(lastToken);
      assertThat(seq).as("each sequence number once, in order: " + line).isEqualTo(lastSeq + 1);
      lastToken = token;
      lastSeq = seq;
    }
    // The crashed node wrote nothing after the new token appeared.
    int firstNew = 0;
    while (token(all.get(firstNew)) <= oldToken) {
      firstNew++;
    }
    assertThat(all.subList(firstNew, all.size())).noneMatch(l -> l.endsWith("node=" + active.id()));
  }

  private static List<String> lines(Path ledger) {
    try {
      return Files.exists(ledger) ? Files.readAllLines(ledger) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long token(String line) {
    Matcher m = LINE.matcher(line);
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  private static int freePort() {
    return LocalPorts.next();
  }
}
