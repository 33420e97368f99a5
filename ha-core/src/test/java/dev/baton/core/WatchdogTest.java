package dev.baton.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.process.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The watchdog halts a node when any step of its plan is still running at the end of its lease
 * (issue 15, item 5), not only a demotion that is still being waited for. Each case runs the node
 * in its own JVM ({@link WatchdogChild}), which must halt with exit status 70.
 */
class WatchdogTest {

  /**
   * The demotion step's timeout (50 ms) is shorter than the lease left: the demotion returns, the
   * step's thread keeps running. Before, the watchdog was stopped when the demotion returned.
   */
  @Test
  void aDemotionStepThatOutlivesItsShortTimeoutHaltsTheNodeAtTheLeaseEnd() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0)) {
      BatonNode n2 = cluster.start("n2");
      cluster.start("n3");
      Path log = Files.createTempFile("watchdog-child", ".log");
      ChildJvm child = startChild(cluster, "short-demote", log);
      try {
        makeChildActive(cluster, n2, child, log);
        cluster.crash("n2");
        cluster.crash("n3");
        assertThat(child.waitFor(30, TimeUnit.SECONDS))
            .as("child halted; its output:%n%s", Files.readString(log))
            .isTrue();
        assertThat(child.exitValue()).isEqualTo(70);
        String output = Files.readString(log);
        assertThat(output).contains("DEMOTING token").contains("WATCHDOG");
        assertThat(output).contains("'hangs-on-demote' (demote");
      } finally {
        child.close();
        Files.deleteIfExists(log);
      }
    }
  }

  /**
   * A promotion step that ignores interrupts outlives its timeout: the plan fails, the node gives
   * the role up, and the step's thread still runs. Before, such a thread was not watched at all.
   */
  @Test
  void aPromotionWorkerThatIgnoresItsCancellationHaltsTheNodeAtTheLeaseEnd() throws Exception {
    try (TestCluster cluster = TestCluster.create(3, 0)) {
      BatonNode n2 = cluster.start("n2");
      cluster.start("n3");
      Path log = Files.createTempFile("watchdog-child", ".log");
      ChildJvm child = startChild(cluster, "stuck-promote", log);
      try {
        await("the child promotes")
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> {
                  if (Files.readString(log).contains("PROMOTING token") || !child.isAlive()) {
                    return true;
                  }
                  cluster
                      .active()
                      .ifPresent(
                          a -> {
                            try {
                              a.cluster().switchActive("n1", Duration.ofSeconds(3));
                            } catch (BatonException e) {
                              // n1's promotion is stuck by design, or n1 is not caught up yet
                            }
                          });
                  return false;
                });
        assertThat(child.waitFor(30, TimeUnit.SECONDS))
            .as("child halted; its output:%n%s", Files.readString(log))
            .isTrue();
        assertThat(child.exitValue()).isEqualTo(70);
        String output = Files.readString(log);
        assertThat(output).contains("PROMOTING token").contains("WATCHDOG");
        assertThat(output).contains("'stuck-promote' (promote");
      } finally {
        child.close();
        Files.deleteIfExists(log);
      }
    }
  }

  /** n1 in a JVM of its own ({@link WatchdogChild}), its output in {@code log}. */
  static ChildJvm startChild(TestCluster cluster, String mode, Path log) throws Exception {
    List<String> args = new ArrayList<>();
    args.add(cluster.clusterId());
    args.add("n1");
    args.add(cluster.dataDir("n1").toString());
    args.add(cluster.secretBase64());
    args.add(mode);
    for (Member m : cluster.members()) {
      args.add(m.id() + "=" + m.address());
    }
    return ChildJvm.of(WatchdogChild.class.getName(), args).log(log).start();
  }

  /**
   * Moves the role to n1 (the child) with switch-active, polling until it is active. If it never
   * is, the failure carries the child's own output (it is deleted after the test).
   */
  static void makeChildActive(TestCluster cluster, BatonNode observer, ChildJvm child, Path log)
      throws IOException {
    try {
      awaitChildActive(cluster, observer);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          e.getMessage()
              + "; the child is "
              + (child.isAlive() ? "running" : "gone (exit status " + child.exitValue() + ")")
              + "; its output:\n"
              + Files.readString(log),
          e);
    }
  }

  private static void awaitChildActive(TestCluster cluster, BatonNode observer) {
    await("n1 (the child) is active")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              if (observer.status().activeNodeId().filter("n1"::equals).isPresent()
                  && observer.status().leaderId().filter("n1"::equals).isPresent()) {
                return true;
              }
              if (cluster.active().isPresent()) {
                try {
                  cluster.active().get().cluster().switchActive("n1", Duration.ofSeconds(10));
                } catch (BatonException e) {
                  // n1 may not be caught up yet; try again on the next poll
                }
              }
              return false;
            });
  }
}
