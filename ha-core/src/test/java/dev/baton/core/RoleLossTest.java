package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.process.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Losing the role: demotion runs and listeners hear it before the lease ends; the watchdog. */
class RoleLossTest {

  @Test
  void demotionRunsAndOnStandbyFiresBeforeTheLeaseEnds() {
    AtomicLong demotedAt = new AtomicLong();
    AtomicLong standbyAt = new AtomicLong();
    PromotionAction recordDemotion =
        new PromotionAction() {
          @Override
          public String name() {
            return "stop-serving";
          }

          @Override
          public void promote(StepContext ctx) {}

          @Override
          public void demote(StepContext ctx) {
            assertThat(ctx.phase()).isEqualTo(StepContext.Phase.DEMOTE);
            demotedAt.compareAndSet(0, System.nanoTime());
          }
        };
    PromotionPlan plan = PromotionPlan.builder().action(recordDemotion).build();
    try (TestCluster cluster =
        TestCluster.create(3, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(plan)).startAll()) {
      BatonNode active = cluster.awaitActive(Duration.ofSeconds(30));
      active.addListener(
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {}

            @Override
            public void onStandby(StandbyReason reason) {
              if (reason == StandbyReason.LEASE_EXPIRING
                  || reason == StandbyReason.LEADERSHIP_LOST) {
                standbyAt.compareAndSet(0, System.nanoTime());
              }
            }
          },
          Runnable::run);
      for (BatonNode n : cluster.running()) {
        if (n != active) {
          cluster.crash(n.id());
        }
      }
      long latestLeaseEnd = System.nanoTime() + active.timing().lease().toNanos();
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> demotedAt.get() != 0 && standbyAt.get() != 0);
      assertThat(standbyAt.get()).isLessThan(latestLeaseEnd);
      assertThat(demotedAt.get()).isLessThan(latestLeaseEnd);
      assertThat(active.cluster().journal())
          .anyMatch(
              e ->
                  e.phase() == StepContext.Phase.PROMOTE
                      && e.outcome() == JournalEntry.Outcome.COMPLETED);
    }
  }

  /**
   * n1, in its own JVM with the watchdog on, is active when its majority is crashed; its demotion
   * step starts while the lease still runs and hangs (ignoring interrupts) past the lease's end,
   * and the watchdog halts the process (exit 70) naming that demotion step.
   *
   * <p>The whole cluster runs with {@link WatchdogChild#WIDE_RESERVE} timing: n1 starts demoting
   * with 2 s of its lease left, so a starved controller still starts the demotion in time. (With
   * the default 250 ms reserve, a controller that woke only after the lease had ended skipped the
   * demotion, and the test used to accept that path, on which no demotion hung at all.)
   */
  @Test
  void watchdogHaltsANodeWhoseDemotionHangsPastTheLease() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0, WatchdogChild.WIDE_RESERVE, (id, b) -> b)) {
      BatonNode n2 = cluster.start("n2");
      cluster.start("n3");
      Path log = Files.createTempFile("watchdog-child", ".log");
      ChildJvm child = WatchdogTest.startChild(cluster, "hang-wide-reserve", log);
      try {
        WatchdogTest.makeChildActive(cluster, n2, child, log);
        long token = n2.status().activeToken();
        assertThat(token).isPositive();
        assertThat(child.isAlive()).as("child alive while active").isTrue();
        // n1 is active in the child JVM; take its majority away: its lease cannot be renewed.
        cluster.crash("n2");
        cluster.crash("n3");
        assertThat(child.waitFor(60, TimeUnit.SECONDS))
            .as("child halted; its output:%n%s", Files.readString(log))
            .isTrue();
        String output = Files.readString(log);
        assertThat(child.exitValue()).as("exit status; output:%n%s", output).isEqualTo(70);
        // The demotion of this very activation started, before the lease's end (its step's
        // deadline, which is at most the lease's end, was still ahead) ...
        Matcher demoting =
            Pattern.compile("DEMOTING token " + token + " deadline in (-?\\d+) ms").matcher(output);
        assertThat(demoting.find())
            .as("the demotion of token %d started; output:%n%s", token, output)
            .isTrue();
        assertThat(Long.parseLong(demoting.group(1)))
            .as("ms left before the demotion step's deadline (at most the lease's end)")
            .isPositive();
        // ... it was not skipped, and it was still running when the lease ended: the watchdog
        // halted the process for that step.
        assertThat(output).doesNotContain("skipped");
        assertThat(output)
            .contains(
                "WATCHDOG: the lease for token "
                    + token
                    + " has ended and step ['hangs-on-demote' (demote, token "
                    + token
                    + ")] is still running");
      } finally {
        child.close();
        Files.deleteIfExists(log);
      }
    }
  }
}
