package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.NetworkPartition;
import dev.baton.testing.cluster.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Membership changes while the cluster serves: the active keeps its activation across an add and a
 * remove, a follower's request goes through the leader, a voter added after a snapshot counts, a
 * change the new voter does not confirm in time is reported, a wiped member added back survives
 * silence. These run one after another in one JVM (ha-core's pom), as the class did before: most
 * assert that the active kept its activation across the change, which a lease round lost to load
 * breaks, or wait out a short operation timeout. {@link MembershipFaultsTest} has the changes
 * across faults and the refused ones, which run with the other classes in two JVMs.
 */
class MembershipTest {

  @Test
  void addAFourthVoterAndRemoveOneWhileTheActiveKeepsServing() {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      long token = active.token();

      Member n4 = cluster.newMember("n4", false);
      BatonNode fourth = cluster.builderFor("n4").joining(true).build();
      fourth.start();
      active.cluster().addMember(n4);
      assertThat(active.cluster().members()).extracting(Member::id).contains("n4");
      active.kv().put("after-add", "1".getBytes());
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  fourth.status().members().stream()
                      .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));

      String victim =
          cluster.running().stream()
              .filter(n -> n != active && !n.id().equals("n4"))
              .findFirst()
              .get()
              .id();
      active.cluster().removeMember(victim);
      cluster.stop(victim);
      assertThat(active.cluster().members())
          .extracting(Member::id)
          .doesNotContain(victim)
          .contains("n4");

      // The active served throughout: same activation, still active, writes commit.
      assertThat(active.isActive()).isTrue();
      assertThat(active.token()).isEqualTo(token);
      assertThat(active.kv().put("after-remove", "2".getBytes()).revision()).isPositive();

      // The new voter counts: stop another old voter; {active, n4} is still a majority of 3.
      String other =
          cluster.running().stream()
              .filter(n -> n != active && !n.id().equals("n4"))
              .findFirst()
              .get()
              .id();
      cluster.stop(other);
      assertThat(active.kv().put("with-n4", "3".getBytes()).revision()).isPositive();
      fourth.close();
    }
  }

  /**
   * A new voter that does not confirm the configuration that adds it within the change timeout
   * (here: every append carrying that entry to n4 is lost, so n4 catches up to just before it and
   * stays there). The change is made (Raft's configuration and the member list have n4), but the
   * caller is told: the add fails with a {@link BatonTimeoutException} that names n4 and says not
   * to remove another member yet. Before, the add returned as if all was well and only the leader
   * logged a WARN, so an operator's next step (remove the member n4 replaces) could leave a
   * majority that cannot elect.
   */
  @Test
  void anAddWhoseNewVoterDoesNotConfirmInTimeIsReportedToTheCallerNamingIt() {
    // The add waits out the whole change timeout, three operation timeouts
    // (MembershipCoordinator): 9 s here instead of the default 15 s.
    try (TestCluster cluster =
            TestCluster.create(
                    3, 0, TestCluster.TIMING, (id, b) -> b.operationTimeout(Duration.ofSeconds(3)))
                .startAll();
        NetworkPartition net = NetworkPartition.create()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      Member n4 = cluster.newMember("n4", false);
      net.dropAppends(
          "n4",
          request ->
              request.getEntriesList().stream()
                  .anyMatch(
                      e ->
                          e.hasConfigurationEntry()
                              && e.getConfigurationEntry().getPeersList().stream()
                                  .anyMatch(p -> p.getId().toStringUtf8().equals("n4"))));
      BatonNode fourth = cluster.builderFor("n4").joining(true).build();
      fourth.start();
      try {
        assertThatThrownBy(() -> active.cluster().addMember(n4))
            .isInstanceOf(BatonTimeoutException.class)
            .hasMessageContaining(
                "membership change (add n4): n4 is in the Raft configuration and the member list"
                    + " now, but did not confirm the new configuration")
            .hasMessageContaining("do not stop or remove another member");
        assertThat(active.cluster().members()).anyMatch(m -> m.id().equals("n4"));
        net.heal();
        await("n4 holds the configuration that adds it once its link is whole")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    fourth.status().members().stream()
                        .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));
      } finally {
        fourth.close();
      }
    }
  }

  /**
   * A follower asked to change membership does not call Raft's admin service (the Raft port serves
   * it to nobody): its request goes through the log and the leader carries it out.
   */
  @Test
  void aFollowerAddsAndRemovesAMemberThroughTheLeader() {
    try (TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      BatonNode follower = cluster.running().stream().filter(n -> n != active).findFirst().get();
      Member n4 = cluster.newMember("n4", false);
      BatonNode fourth = cluster.builderFor("n4").joining(true).build();
      fourth.start();
      follower.cluster().addMember(n4);
      assertThat(follower.cluster().members()).extracting(Member::id).contains("n4");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  active.status().members().stream()
                      .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));
      follower.cluster().removeMember("n4");
      assertThat(follower.cluster().members()).extracting(Member::id).doesNotContain("n4");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  active.status().members().stream()
                      .noneMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));
      assertThat(active.isActive()).isTrue();
      fourth.close();
    }
  }

  /**
   * A member added after the others have taken a snapshot and purged their logs catches up by
   * installing that snapshot: it must come out with the same state (KV, activation) and count in
   * the majority.
   */
  @Test
  void aVoterAddedAfterASnapshotInstallsItAndCounts() {
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))
            .startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      for (int i = 0; i < 300; i++) {
        active.kv().put("before/" + i, Integer.toString(i).getBytes());
      }
      await("every member has taken a snapshot")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> cluster.running().stream().allMatch(n -> hasSnapshot(cluster.dataDir(n.id()))));

      Member n4 = cluster.newMember("n4", false);
      BatonNode fourth = cluster.builderFor("n4").joining(true).build();
      fourth.start();
      active.cluster().addMember(n4);
      await("n4 is in the configuration and has applied the cluster's log")
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  fourth.status().members().stream()
                          .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration())
                      && fourth.status().activeNodeId().equals(Optional.of(active.id()))
                      && fourth.status().highestToken() == active.token());
      assertThat(hasSnapshot(cluster.dataDir("n4")))
          .as("n4 caught up through the leader's snapshot (the log before it was purged)")
          .isTrue();

      // n4 counts: with one old voter stopped, {active, n4, the other} is 3 of 4.
      String victim =
          cluster.running().stream().filter(n -> n != active && n != fourth).findFirst().get().id();
      cluster.stop(victim);
      assertThat(active.kv().put("after-add", "1".getBytes()).revision()).isPositive();
      assertThat(fourth.kv().get("before/299")).isPresent();
      assertThat(active.isActive()).isTrue();
      fourth.close();
    }
  }

  /**
   * The Jepsen-style suite's wipe fault (s48): a member removed, wiped and added back catches up
   * with a snapshot that holds a configuration without it, then the log up to the entry that adds
   * it. Once the leader counts it as caught up, its AppendEntries stop being "initializing" and the
   * joiner's Raft server starts its election timer; if it then hears nothing for an election
   * timeout before it holds the entry that adds it, its pre-vote finds it outside its own
   * configuration and Ratis 3.3 shuts the server down (LeaderElection: NOT_IN_CONF). The
   * configuration counted a dead member from then on, and removing another one could never commit.
   *
   * <p>Here the joiner gets, once caught up, only heartbeats (no entries), and after the first one
   * nothing at all for several election timeouts. On the old code its server stopped within about
   * two election timeouts ("STOPPING: its Raft server stopped") and the {@code during} wait below
   * failed. A joiner now starts as a Raft listener of itself: it cannot campaign before it holds a
   * configuration that makes it a voter, and becomes a follower when it does.
   */
  @Test
  void aWipedMemberAddedBackSurvivesSilenceBeforeItHoldsTheEntryThatAddsIt() throws Exception {
    try (TestCluster cluster =
            TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.snapshotThreshold(100))
                .startAll();
        NetworkPartition partition = NetworkPartition.create()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      java.util.List<String> others =
          cluster.running().stream()
              .map(BatonNode::id)
              .filter(id -> !id.equals(active.id()))
              .toList();
      String v = others.get(0);
      String t = others.get(1);
      Member member =
          cluster.members().stream().filter(m -> m.id().equals(v)).findFirst().orElseThrow();

      active.cluster().removeMember(v);
      cluster.stop(v);
      TestCluster.emptyDirectory(cluster.dataDir(v));
      for (int i = 0; i < 300; i++) {
        active.kv().put("wiped/" + i, Integer.toString(i).getBytes());
      }
      await("the remaining members took a snapshot whose configuration has no " + v)
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> cluster.running().stream().allMatch(n -> hasSnapshot(cluster.dataDir(n.id()))));

      // v never gets the entry that adds it; once caught up (no longer "initializing") it gets
      // heartbeats only, and after a few of them nothing at all.
      java.util.concurrent.atomic.AtomicInteger heartbeats =
          new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicBoolean heard =
          new java.util.concurrent.atomic.AtomicBoolean();
      partition.dropAppends(
          v,
          request -> {
            if (heard.get()) {
              return true;
            }
            boolean addsV =
                request.getEntriesList().stream()
                    .anyMatch(
                        e ->
                            e.hasConfigurationEntry()
                                && e.getConfigurationEntry().getPeersList().stream()
                                    .anyMatch(p -> p.getId().toStringUtf8().equals(v)));
            if (addsV) {
              return true; // an append built as the leader counted v caught up may still carry it
            }
            if (request.getInitializing()) {
              return false;
            }
            if (request.getEntriesCount() == 0) {
              heard.set(heartbeats.incrementAndGet() >= 5);
              return false;
            }
            return true;
          });
      BatonNode back = cluster.builderFor(v).joining(true).build();
      back.start();
      try {
        // Whether the add returns is asserted below, and the cluster's state after it.
        Thread adding = onDaemonThread("test-add-" + v, () -> active.cluster().addMember(member));
        await(v + " heard a caught-up leader's heartbeats")
            .atMost(Duration.ofSeconds(30))
            .untilTrue(heard);
        await(v + "'s Raft server keeps running while it hears nothing, 4 s > 2 election timeouts")
            .during(Duration.ofSeconds(4))
            .atMost(Duration.ofSeconds(6))
            .until(() -> !back.stoppedItself().toCompletableFuture().isDone());
        partition.heal();

        adding.join(Duration.ofSeconds(60).toMillis());
        assertThat(adding.isAlive()).as("the add of " + v + " returned").isFalse();
        await(v + " is a voter again and has applied the cluster's log")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    back.status().members().stream()
                            .anyMatch(m -> m.member().id().equals(v) && m.inConfiguration())
                        && back.kv().get("wiped/299").isPresent());

        // v is a working voter: with t removed, {active, v} is the whole configuration.
        active.cluster().removeMember(t);
        cluster.stop(t);
        assertThat(cluster.awaitActive(Duration.ofSeconds(30)).kv().put("after", "1".getBytes()))
            .satisfies(r -> assertThat(r.revision()).isPositive());
        assertThat(back.stoppedItself().toCompletableFuture().isDone()).isFalse();
      } finally {
        back.close();
      }
    }
  }

  /**
   * Starts {@code call} on a daemon thread of its own named {@code name} and returns the thread. A
   * RuntimeException the call ends with is dropped: the tests assert the cluster's state instead.
   */
  static Thread onDaemonThread(String name, Runnable call) {
    Thread t =
        new Thread(
            () -> {
              try {
                call.run();
              } catch (RuntimeException e) {
                // asserted through the cluster's state
              }
            },
            name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static boolean hasSnapshot(Path dataDir) {
    return dev.baton.testing.cluster.SnapshotFiles.newestTaken(dataDir).isPresent();
  }
}
