package dev.baton.core;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KeyValueStoreTest {
  static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.create(3, 0).startAll();
    cluster.awaitActive(Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static BatonNode standby() {
    return cluster.running().stream().filter(n -> !n.isActive()).findFirst().orElseThrow();
  }

  @Test
  void putGetCasDeleteFromAStandby() {
    KeyValueStore kv = standby().kv();
    KvEntry first = kv.put("cfg/a", "1".getBytes(UTF_8));
    assertThat(kv.get("cfg/a")).contains(first);
    assertThat(first.createRevision()).isEqualTo(first.revision());

    assertThat(kv.compareAndSet("cfg/a", "wrong".getBytes(UTF_8), "2".getBytes(UTF_8))).isEmpty();
    KvEntry second =
        kv.compareAndSet("cfg/a", "1".getBytes(UTF_8), "2".getBytes(UTF_8)).orElseThrow();
    assertThat(second.revision()).isGreaterThan(first.revision());
    assertThat(second.createRevision()).isEqualTo(first.revision());

    assertThat(kv.compareAndSetRevision("cfg/a", first.revision(), "3".getBytes(UTF_8))).isEmpty();
    assertThat(kv.compareAndSetRevision("cfg/a", second.revision(), "3".getBytes(UTF_8)))
        .isPresent();
    assertThat(kv.compareAndSet("cfg/new", null, "x".getBytes(UTF_8))).isPresent();
    assertThat(kv.compareAndSet("cfg/new", null, "y".getBytes(UTF_8))).isEmpty();
    assertThat(kv.compareAndSetRevision("cfg/new2", 0, "z".getBytes(UTF_8))).isPresent();

    assertThat(kv.list("cfg/"))
        .extracting(KvEntry::key)
        .containsExactly("cfg/a", "cfg/new", "cfg/new2");
    assertThat(kv.delete("cfg/a")).isTrue();
    assertThat(kv.delete("cfg/a")).isFalse();
    assertThat(kv.get("cfg/a")).isEmpty();
  }

  @Test
  void invalidKeysAndValuesAreRefusedWithTheReason() {
    KeyValueStore kv = standby().kv();
    assertThatThrownBy(() -> kv.put("", new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key must not be empty");
    assertThatThrownBy(() -> kv.put("bad\nkey", new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("control character U+000A");
    assertThatThrownBy(() -> kv.put("big", new byte[KeyValueStore.MAX_VALUE_BYTES + 1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("65537 bytes; at most 65536");
    assertThatThrownBy(() -> kv.put("k".repeat(513), new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("513 bytes; at most 512");
    assertThat(kv.put("max", new byte[KeyValueStore.MAX_VALUE_BYTES]).value()).hasSize(65536);
  }

  /**
   * Issue 34 made Ratis's write buffer 1 MiB and its entry and AppendEntries limit 512 KiB
   * (RaftSettings). Baton's largest entry (a compare-and-set of a largest value against a largest
   * expected value under a largest key) commits, and a follower that missed more than both sizes of
   * such entries catches up from the log.
   */
  @Test
  void theLargestEntriesCommitAndAFollowerCatchesUpOnMoreThanAWriteBuffersWorth() {
    BatonNode writer = standby();
    BatonNode behind =
        cluster.running().stream()
            .filter(n -> !n.isActive() && n != writer)
            .findFirst()
            .orElseThrow();
    String behindId = behind.id();
    String key = "L".repeat(KeyValueStore.MAX_KEY_BYTES);
    byte[] first = new byte[KeyValueStore.MAX_VALUE_BYTES];
    byte[] second = new byte[KeyValueStore.MAX_VALUE_BYTES];
    Arrays.fill(first, (byte) 1);
    Arrays.fill(second, (byte) 2);
    writer.kv().put(key, first);
    assertThat(writer.kv().compareAndSet(key, first, second)).isPresent();

    cluster.stop(behindId);
    int entries = 24; // 24 × 64 KiB = 1.5 MiB, over the write buffer and the appender's limit
    for (int i = 0; i < entries; i++) {
      byte[] v = new byte[KeyValueStore.MAX_VALUE_BYTES];
      Arrays.fill(v, (byte) i);
      writer.kv().put("big/" + i, v);
    }
    BatonNode back = cluster.start(behindId);
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(back.kv().get("big/" + (entries - 1))).isPresent());
    for (int i = 0; i < entries; i++) {
      byte[] expected = new byte[KeyValueStore.MAX_VALUE_BYTES];
      Arrays.fill(expected, (byte) i);
      assertThat(back.kv().get("big/" + i).orElseThrow().value()).isEqualTo(expected);
    }
    assertThat(back.kv().get(key).orElseThrow().value()).isEqualTo(second);
  }

  @Test
  void watchDeliversChangesInRevisionOrderOnEveryNode() {
    Map<String, List<KvEvent>> seen = new ConcurrentHashMap<>();
    List<KeyValueStore.Watch> watches = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (BatonNode n : cluster.running()) {
      List<KvEvent> events = new CopyOnWriteArrayList<>();
      seen.put(n.id(), events);
      watches.add(n.kv().watch("w/", pool, events::add));
    }
    KeyValueStore kv = standby().kv();
    for (int i = 0; i < 20; i++) {
      kv.put("w/" + (i % 3), ("v" + i).getBytes(UTF_8));
    }
    kv.delete("w/0");
    kv.put("other", "ignored".getBytes(UTF_8));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> seen.values().stream().allMatch(l -> l.size() == 21));
    for (List<KvEvent> events : seen.values()) {
      assertThat(events).extracting(KvEvent::revision).isSorted().doesNotHaveDuplicates();
      assertThat(events.get(20).type()).isEqualTo(KvEvent.Type.DELETE);
      assertThat(events).allMatch(e -> e.entry().key().startsWith("w/"));
    }
    watches.forEach(KeyValueStore.Watch::close);
    pool.shutdown();
  }

  /**
   * Concurrent compare-and-set increments through a leader change, checked against a sequential
   * counter: every successful CAS moved the counter by exactly one, so the final value equals the
   * number of successes, and each client's reads never go backwards. (The full linearizability
   * check of recorded histories lives with the checker, in tests-linearizability.)
   */
  @Test
  void concurrentCasCounterStaysExactThroughALeaderChange() throws Exception {
    String key = "counter";
    cluster.running().get(0).kv().put(key, "0".getBytes(UTF_8));
    AtomicBoolean stop = new AtomicBoolean();
    java.util.concurrent.atomic.AtomicInteger progress =
        new java.util.concurrent.atomic.AtomicInteger();
    // Only compare-and-set calls that failed without an answer: they may have written.
    java.util.concurrent.atomic.AtomicInteger indeterminate =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger failedReads =
        new java.util.concurrent.atomic.AtomicInteger();
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<Future<int[]>> results = new ArrayList<>();
    List<BatonNode> nodes = cluster.running();
    for (int c = 0; c < 4; c++) {
      BatonNode via = nodes.get(c % nodes.size());
      results.add(
          clients.submit(
              () -> {
                int successes = 0;
                int lastSeen = -1;
                while (!stop.get()) {
                  int v;
                  try {
                    v = Integer.parseInt(via.kv().get(key).orElseThrow().valueAsString());
                  } catch (BatonException e) {
                    // A read that failed (a timeout during the election) wrote nothing: it is not
                    // indeterminate, and it does not widen the bound checked at the end.
                    failedReads.incrementAndGet();
                    continue;
                  }
                  if (v < lastSeen) {
                    return new int[] {successes, -1};
                  }
                  lastSeen = v;
                  try {
                    if (via.kv()
                        .compareAndSet(
                            key,
                            String.valueOf(v).getBytes(UTF_8),
                            String.valueOf(v + 1).getBytes(UTF_8))
                        .isPresent()) {
                      successes++;
                      progress.incrementAndGet();
                    }
                  } catch (BatonException e) {
                    // Indeterminate (a timeout during the election): the CAS may or may not have
                    // been applied. Count it apart; the final check allows for each of them.
                    indeterminate.incrementAndGet();
                  }
                }
                return new int[] {successes, 0};
              }));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> progress.get() >= 20);
    BatonNode leader = cluster.awaitActive(Duration.ofSeconds(10));
    leader
        .cluster()
        .switchActive(
            nodes.stream().filter(n -> n != leader).findFirst().get().id(), Duration.ofSeconds(20));
    int afterSwitch = progress.get();
    await().atMost(Duration.ofSeconds(30)).until(() -> progress.get() >= afterSwitch + 20);
    stop.set(true);
    clients.shutdown();
    assertThat(clients.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    int total = 0;
    for (Future<int[]> f : results) {
      int[] r = f.get();
      assertThat(r[1]).as("a client's reads went backwards").isNotEqualTo(-1);
      total += r[0];
    }
    int value =
        Integer.parseInt(cluster.running().get(0).kv().get(key).orElseThrow().valueAsString());
    assertThat(total).isPositive();
    assertThat(value)
        .as(
            "counter value with %d successful CAS, %d indeterminate CAS (%d failed reads not"
                + " counted)",
            total, indeterminate.get(), failedReads.get())
        .isBetween(total, total + indeterminate.get());
  }

  @Test
  void aWatchFromARevisionReplaysWhatChangedSinceThenGoesOnAndRefusesWhatItCannotReplay() {
    BatonNode node = standby();
    KeyValueStore kv = node.kv();
    KvEntry a1 = kv.put("resume/a", "1".getBytes(UTF_8));
    KvEntry b1 = kv.put("resume/b", "1".getBytes(UTF_8));
    KvEntry a2 = kv.put("resume/a", "2".getBytes(UTF_8));
    kv.put("other/x", "x".getBytes(UTF_8));
    // A linearizable read on this node: it has applied a2 once the read answers.
    assertThat(kv.get("resume/a")).contains(a2);

    List<KvEvent> seen = new CopyOnWriteArrayList<>();
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try (KeyValueStore.Watch w = kv.watch("resume/", a1.revision(), executor, seen::add)) {
      KvEntry c1 = kv.put("resume/c", "1".getBytes(UTF_8));
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() >= 3);
      assertThat(seen)
          .extracting(e -> e.type() + " " + e.entry().key() + "=" + e.entry().valueAsString())
          .containsExactly("PUT resume/b=1", "PUT resume/a=2", "PUT resume/c=1");
      assertThat(seen)
          .extracting(KvEvent::revision)
          .containsExactly(b1.revision(), a2.revision(), c1.revision());
    } finally {
      executor.shutdownNow();
    }

    // A delete leaves nothing to replay: a watch from before it is refused, naming the revision
    // to re-read from; from that revision on it works.
    assertThat(kv.delete("resume/b")).isTrue();
    KvEntry d = kv.put("resume/d", "1".getBytes(UTF_8));
    assertThat(kv.get("resume/d")).contains(d);
    assertThatThrownBy(() -> kv.watch("resume/", a2.revision(), Runnable::run, e -> {}))
        .isInstanceOfSatisfying(
            WatchRevisionGoneException.class,
            e -> {
              assertThat(e.requested()).isEqualTo(a2.revision());
              assertThat(e.oldestReplayable())
                  .isGreaterThan(a2.revision())
                  .isLessThan(d.revision());
              assertThat(e.getMessage())
                  .contains("after revision " + a2.revision())
                  .contains("watch from revision " + e.oldestReplayable());
            });
    long floor =
        catchGone(() -> kv.watch("resume/", a2.revision(), Runnable::run, e -> {}))
            .oldestReplayable();
    List<KvEvent> after = new CopyOnWriteArrayList<>();
    try (KeyValueStore.Watch w = kv.watch("resume/", floor, Runnable::run, after::add)) {
      assertThat(after)
          .extracting(e -> e.entry().key() + "@" + e.revision())
          .containsExactly("resume/d@" + d.revision());
    }
    assertThatThrownBy(() -> kv.watch("resume/", -1, Runnable::run, e -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-1");
  }

  private static WatchRevisionGoneException catchGone(Runnable r) {
    try {
      r.run();
    } catch (WatchRevisionGoneException e) {
      return e;
    }
    throw new AssertionError("the watch was not refused");
  }
}
