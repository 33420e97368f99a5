package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A voter whose data directory is empty must not start as if it were new: it would vote with no
 * memory of what it had acknowledged. The sequence: stop n3; write 20 keys; kill n2, wipe
 * its data directory and restart it; kill n1 and start n3. Before the fix n2 came back as an empty
 * voter of the full configuration, able to elect the lagging n3 (a token the fences had passed, the
 * 20 keys lost); in the run the issue reports, the cluster sat with no active for over a minute and
 * no log line said why.
 */
class EmptyDataDirectoryTest {
  @TempDir Path dir;

  @Test
  void aWipedVoterRefusesToStartAndComesBackOnlyTheDocumentedWayLosingNothing() {
    List<Long> tokens = new CopyOnWriteArrayList<>();
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) ->
                    b.listener(
                        new RoleListener() {
                          @Override
                          public void onActive(ActiveContext context) {
                            tokens.add(context.token());
                          }

                          @Override
                          public void onStandby(StandbyReason reason) {}
                        },
                        Runnable::run))
            .startAll()) {
      cluster.awaitActive(Duration.ofSeconds(60));
      // 1. Stop n3 (moving the role off it first if it holds it).
      if (cluster.node("n3").isActive()) {
        cluster.node("n3").cluster().switchActive("n1", Duration.ofSeconds(30));
      }
      cluster.stop("n3");
      // 2. Write 20 keys.
      BatonNode writer = cluster.awaitActive(Duration.ofSeconds(60));
      for (int i = 0; i < 20; i++) {
        writer.kv().put("k/" + i, Integer.toString(i).getBytes(StandardCharsets.UTF_8));
      }
      long highestBefore =
          cluster.running().stream().mapToLong(n -> n.status().highestToken()).max().orElseThrow();
      // 3. Kill n2, wipe its data directory, restart it: refused, with the way back named.
      cluster.crash("n2");
      Path n2Dir = cluster.dataDir("n2");
      TestCluster.emptyDirectory(n2Dir);
      assertThatThrownBy(() -> cluster.start("n2"))
          .isInstanceOf(BatonException.class)
          .hasMessageContaining("data directory " + n2Dir)
          .hasMessageContaining("is empty")
          .hasMessageContaining("baton members remove n2")
          .hasMessageContaining("joining: true")
          .hasMessageContaining("members add --id n2");
      assertThat(n2Dir).isEmptyDirectory();
      // 4. Kill n1 and start n3: n3 alone is no majority, and n2 gave no amnesiac vote.
      cluster.crash("n1");
      BatonNode n3 = cluster.start("n3");
      assertThat(cluster.activeSeenDuring(n3.timing().electionTimeoutMax().multipliedBy(4)))
          .as("an active with n1 down and n2 refused")
          .isEmpty();
      // n1 comes back on its disk; then n2 the documented way: remove, start joining, add.
      cluster.start("n1");
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
      active.cluster().removeMember("n2");
      BatonNode n2 = cluster.builderFor("n2").joining(true).build();
      n2.start();
      try {
        Member n2Member =
            cluster.members().stream().filter(m -> m.id().equals("n2")).findFirst().orElseThrow();
        active.cluster().addMember(n2Member);
        await("n2 is a voter again and has applied the latest activation")
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    n2.status().members().stream()
                            .anyMatch(m -> m.member().id().equals("n2") && m.inConfiguration())
                        && n2.status().highestToken() > highestBefore);
        BatonNode now = cluster.awaitActive(Duration.ofSeconds(60));
        for (int i = 0; i < 20; i++) {
          Optional<KvEntry> e = now.kv().get("k/" + i);
          assertThat(e).as("key k/%d", i).isPresent();
          assertThat(new String(e.get().value(), StandardCharsets.UTF_8))
              .isEqualTo(Integer.toString(i));
        }
        long last = tokens.get(tokens.size() - 1);
        assertThat(last).as("the token after the wipe").isGreaterThan(highestBefore);
        assertThat(tokens).as("tokens in the order nodes activated").isSorted();
      } finally {
        n2.close();
      }
    }
  }

  @Test
  void aFreshDirectoryNeedsBootstrapOrJoining() {
    Member self = Member.voter("a", "127.0.0.1:" + TestCluster.freePort());
    BatonNode.Builder b =
        BatonNode.builder()
            .clusterId("c")
            .nodeId("a")
            .members(List.of(self))
            .dataDir(dir.resolve("a"))
            .clusterSecret(TestCluster.newClusterSecret());
    assertThatThrownBy(() -> b.build().start())
        .isInstanceOf(BatonException.class)
        .hasMessageContaining("data directory " + dir.resolve("a"))
        .hasMessageContaining("bootstrap: true");
    assertThat(dir.resolve("a")).doesNotExist();
    assertThatThrownBy(() -> b.bootstrap(true).joining(true).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bootstrap and joining");
  }
}
