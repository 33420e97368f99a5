package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Invariant I5: promotion is journaled, resumed by a successor, and never flaps. */
class PromotionPipelineTest {

  private static final StepPolicy FAST =
      StepPolicy.mustSucceed()
          .withTimeout(Duration.ofSeconds(20))
          .withMaxAttempts(2)
          .withBackoff(Duration.ofMillis(50), Duration.ofMillis(100));

  /** An action recording every run; the first run blocks until the test crashes its node. */
  static final class BlockingFirst implements PromotionAction {
    final List<String> runs = new CopyOnWriteArrayList<>();
    final CountDownLatch never = new CountDownLatch(1);

    @Override
    public String name() {
      return "switch-writer";
    }

    @Override
    public void promote(StepContext ctx) throws Exception {
      runs.add(ctx.nodeId() + "@" + ctx.token());
      if (runs.size() == 1) {
        never.await();
      }
    }
  }

  @Test
  void preflightRunsOnceOnEveryEligibleNodeAndAFailingOneIsCountedButStopsNothing() {
    List<String> preflights = new CopyOnWriteArrayList<>();
    List<String> fencePreflights = new CopyOnWriteArrayList<>();
    Map<String, SimpleMeterRegistry> registries = new ConcurrentHashMap<>();
    Fence fence =
        new Fence() {
          @Override
          public String name() {
            return "fence";
          }

          @Override
          public void advance(long token, StepContext context) {}

          @Override
          public long currentToken() {
            fencePreflights.add(Thread.currentThread().getName());
            return 0;
          }
        };
    PromotionAction action =
        new PromotionAction() {
          @Override
          public String name() {
            return "writer";
          }

          @Override
          public void promote(StepContext ctx) {}

          @Override
          public void preflight() {
            String node = Thread.currentThread().getName().replace("baton-action-", "");
            preflights.add(node);
            if (node.equals("n2")) {
              throw new IllegalStateException("standby of n2 unreachable");
            }
          }
        };
    PromotionPlan plan = PromotionPlan.builder().fence(fence).action(action, FAST).build();
    try (TestCluster cluster =
        TestCluster.create(
                2,
                1,
                TestCluster.TIMING,
                (id, b) -> {
                  SimpleMeterRegistry r = new SimpleMeterRegistry();
                  registries.put(id, r);
                  return b.promotionPlan(plan).meterRegistry(r);
                })
            .startAll()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                assertThat(preflights).containsExactlyInAnyOrder("n1", "n2");
                assertThat(fencePreflights).hasSize(2);
              });
      // The failed check is counted on n2 only; nobody ran the witness's.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                assertThat(preflightCount(registries.get("n2"), "writer", "preflight-failed"))
                    .isEqualTo(1.0);
                assertThat(preflightCount(registries.get("n1"), "writer", "preflight-passed"))
                    .isEqualTo(1.0);
                assertThat(preflightCount(registries.get("n1"), "fence", "preflight-passed"))
                    .isEqualTo(1.0);
              });
      assertThat(preflightCount(registries.get("w1"), "writer", "preflight-passed")).isZero();
      // A failing pre-flight stops nothing: an active is elected and n2 still may take over.
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      if (!active.id().equals("n2")) {
        active.cluster().switchActive("n2", Duration.ofSeconds(30));
        assertThat(cluster.awaitActive(Duration.ofSeconds(30)).id()).isEqualTo("n2");
      }
      assertThat(preflights).hasSize(2);
    }
  }

  private static double preflightCount(SimpleMeterRegistry r, String step, String outcome) {
    Counter c = r.find("baton.promotion.steps").tag("step", step).tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void successorFinishesThePlanWithAHigherTokenAfterACrashMidPromotion() {
    BlockingFirst action = new BlockingFirst();
    PromotionPlan plan =
        PromotionPlan.builder()
            .action(new Noop("fence-like-step"), FAST)
            .action(action, FAST)
            .build();
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(plan)).startAll()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> action.runs.size() == 1);
      String first = action.runs.get(0).split("@")[0];
      long firstToken = Long.parseLong(action.runs.get(0).split("@")[1]);
      BatonNode stuck = cluster.node(first);
      assertThat(stuck.role()).isEqualTo(Role.PROMOTING);
      assertThat(stuck.isActive()).as("not active before the plan completes").isFalse();

      cluster.crash(first);
      BatonNode successor = cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(successor.id()).isNotEqualTo(first);
      assertThat(successor.token()).isGreaterThan(firstToken);
      assertThat(action.runs).hasSize(2);

      List<JournalEntry> journal = successor.cluster().journal();
      assertThat(journal)
          .filteredOn(e -> e.step().equals("switch-writer"))
          .extracting(e -> e.nodeId() + "@" + e.token() + ":" + e.outcome())
          .containsSubsequence(
              first + "@" + firstToken + ":STARTED",
              successor.id() + "@" + successor.token() + ":STARTED",
              successor.id() + "@" + successor.token() + ":COMPLETED");
      assertThat(journal)
          .filteredOn(e -> e.nodeId().equals(first) && e.step().equals("switch-writer"))
          .extracting(JournalEntry::outcome)
          .doesNotContain(JournalEntry.Outcome.COMPLETED);
      assertThat(successor.status().promotion().state()).isEqualTo(PromotionState.COMPLETED);
    }
  }

  @Test
  void anIdempotentActionSeesTheJournalAndDoesNoHarmfulRepeat() {
    AtomicInteger executions = new AtomicInteger();
    AtomicInteger harmfulWork = new AtomicInteger();
    List<Long> seenLastCompleted = new CopyOnWriteArrayList<>();
    PromotionAction migrate =
        new PromotionAction() {
          @Override
          public String name() {
            return "one-time-migration";
          }

          @Override
          public void promote(StepContext ctx) {
            executions.incrementAndGet();
            seenLastCompleted.add(ctx.lastCompletedToken().orElse(0));
            if (ctx.lastCompletedToken().isEmpty()) {
              harmfulWork.incrementAndGet();
            }
          }
        };
    PromotionPlan plan = PromotionPlan.builder().action(migrate, FAST).build();
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(plan)).startAll()) {
      BatonNode first = cluster.awaitActive(Duration.ofSeconds(30));
      long firstToken = first.token();
      String other = cluster.running().stream().filter(n -> n != first).findFirst().get().id();
      long second = first.cluster().switchActive(other, Duration.ofSeconds(20));
      await().atMost(Duration.ofSeconds(20)).until(() -> cluster.node(other).isActive());
      assertThat(executions.get()).isEqualTo(2);
      assertThat(harmfulWork.get()).isEqualTo(1);
      assertThat(seenLastCompleted).containsExactly(0L, firstToken);
      assertThat(second).isGreaterThan(firstToken);
    }
  }

  /**
   * The node that promotes first fails its required action; the role moves to a good node and then
   * stays there: no node activates again, neither the failed node once its back-off (5 s) is over
   * nor anyone else.
   *
   * <p>Start-up is kept apart from the part under test: on a loaded 2-core machine a node can lose
   * its first lease within 100 ms of winning it and activate again, a start-up effect that is not
   * flapping. So the test first waits for a settled active (one good node, one token, for 1.5 s),
   * and then asserts zero role changes over a window that lasts until well after the failed node's
   * back-off has ended.
   */
  @Test
  void aRequiredActionFailingOnOneNodeMovesTheRoleWithoutFlapping() {
    Duration backoff = Duration.ofSeconds(5);
    AtomicReference<String> badNode = new AtomicReference<>();
    AtomicLong failedAt = new AtomicLong();
    List<String> activations = new CopyOnWriteArrayList<>();
    PromotionAction failsOnOne =
        new PromotionAction() {
          @Override
          public String name() {
            return "needs-local-disk";
          }

          @Override
          public void promote(StepContext ctx) {
            activations.add(ctx.nodeId() + "@" + ctx.token());
            badNode.compareAndSet(null, ctx.nodeId());
            if (ctx.nodeId().equals(badNode.get())) {
              failedAt.set(System.nanoTime());
              throw new IllegalStateException("disk on " + ctx.nodeId() + " is read-only");
            }
          }
        };
    PromotionPlan plan = PromotionPlan.builder().action(failsOnOne, FAST).build();
    try (TestCluster cluster =
        TestCluster.create(
                3, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(plan).failureBackoff(backoff))
            .startAll()) {
      BatonNode first = cluster.awaitActive(Duration.ofSeconds(30));
      assertThat(first.id()).isNotEqualTo(badNode.get());
      BatonNode bad = cluster.node(badNode.get());
      assertThat(bad.status().promotion().state()).isEqualTo(PromotionState.FAILED);
      assertThat(bad.status().promotion().lastError()).get().asString().contains("is read-only");

      // Start-up: wait until one good node has held the role with one token for 1.5 s.
      AtomicReference<String> holder = new AtomicReference<>("");
      AtomicLong holderSince = new AtomicLong(System.nanoTime());
      long settled = Duration.ofMillis(1500).toNanos();
      await("a settled active")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                String now = cluster.active().map(n -> n.id() + "@" + n.token()).orElse("");
                if (!now.equals(holder.get())) {
                  holder.set(now);
                  holderSince.set(System.nanoTime());
                  return false;
                }
                return !now.isEmpty() && System.nanoTime() - holderSince.get() >= settled;
              });
      BatonNode active = cluster.node(holder.get().split("@")[0]);
      long token = active.token();
      assertThat(active.id()).isNotEqualTo(badNode.get());

      // The part under test: from here no role change at all, over at least 4 s and until 2 s
      // after the failed node's back-off has ended (when it could try again).
      List<String> before = List.copyOf(activations);
      long end =
          Math.max(
              System.nanoTime() + Duration.ofSeconds(4).toNanos(),
              failedAt.get() + backoff.plusSeconds(2).toNanos());
      await("a window without role changes")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(20))
          .until(
              () -> {
                assertThat(active.isActive()).as("%s still active", active.id()).isTrue();
                assertThat(active.token()).as("%s's token", active.id()).isEqualTo(token);
                assertThat(activations).as("activations").isEqualTo(before);
                return System.nanoTime() - end > 0;
              });
      assertThat(activations).as("activations after the window").isEqualTo(before);
      assertThat(cluster.active()).contains(active);
      assertThat(active.token()).isEqualTo(token);
    }
  }

  @Test
  void whenEveryNodeFailsTheBackoffBoundsTheAttempts() {
    List<Long> attemptsAt = new CopyOnWriteArrayList<>();
    PromotionAction alwaysFails =
        new PromotionAction() {
          @Override
          public String name() {
            return "broken-everywhere";
          }

          @Override
          public void promote(StepContext ctx) {
            attemptsAt.add(System.nanoTime());
            throw new IllegalStateException("target unreachable");
          }
        };
    StepPolicy once = FAST.withMaxAttempts(1);
    PromotionPlan plan = PromotionPlan.builder().action(alwaysFails, once).build();
    try (TestCluster cluster =
        TestCluster.create(
                3,
                0,
                TestCluster.TIMING,
                (id, b) -> b.promotionPlan(plan).failureBackoff(Duration.ofSeconds(3)))
            .startAll()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> !attemptsAt.isEmpty());
      long start = attemptsAt.get(0);
      long window = Duration.ofSeconds(6).toNanos();
      await().atMost(Duration.ofSeconds(15)).until(() -> System.nanoTime() - start > window);
      long inWindow = attemptsAt.stream().filter(t -> t - start <= window).count();
      // Each of 3 nodes may try at most once per 3 s back-off: at most 3 × (6 / 3 + 1) = 9.
      assertThat(inWindow).isBetween(2L, 9L);
      assertThat(cluster.active()).isEmpty();
    }
  }

  static final class Noop implements PromotionAction {
    private final String name;

    Noop(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public void promote(StepContext ctx) {}
  }
}
