package dev.baton.benchmarks;

import dev.baton.core.BatonNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * False elections of an idle cluster (issue 33): three nodes in one JVM on loopback, nobody
 * crashed, for a fixed window; counts how often the Raft term moved and how often the role moved.
 * Every term change in the window is an election nobody needed: a follower that did not hear the
 * leader for its election timeout (a starved thread, a paused JVM). Run it while the machine is
 * loaded (for instance {@code for i in 1 2 3 4 5 6; do (while :; do :; done) & done}) to see the
 * CPU-starvation case; {@code scripts/detection} runs it side by side with another build.
 *
 * <p>Run: {@code java -cp "$(cat benchmarks/target/classpath.txt):benchmarks/target/classes"
 * dev.baton.benchmarks.IdleElections WINDOW_S [MIN_MS MAX_MS]}
 */
public final class IdleElections {

  /** Exits 1 when the run fails ({@link InJvmCluster#runMain}). */
  public static void main(String[] args) {
    InJvmCluster.runMain("idle-elections", args, IdleElections::run);
  }

  private static void run(InJvmCluster cluster, String[] args) throws Exception {
    long windowS = args.length > 0 ? Long.parseLong(args[0]) : 60;
    List<BatonNode> nodes = List.copyOf(cluster.nodes.values());
    BatonNode active = cluster.awaitActive(Duration.ofSeconds(60));
    // Settle: the first activation's report and snapshot.
    TimeUnit.SECONDS.sleep(5);
    long term0 = maxTerm(nodes);
    long token0 = active.token();
    // scripts/detection counts the election log lines after this marker.
    System.out.println("window starts");
    System.out.flush();
    long termChanges = 0;
    long last = term0;
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(windowS);
    while (System.nanoTime() < end) {
      TimeUnit.MILLISECONDS.sleep(50);
      long t = maxTerm(nodes);
      if (t != last) {
        termChanges += t - last;
        last = t;
      }
    }
    long tokenAdvance = nodes.stream().mapToLong(BatonNode::token).max().orElse(0) - token0;
    long activeNow = nodes.stream().filter(BatonNode::isActive).count();
    System.out.printf(
        "idle %d s, election timeout %d-%d ms: term %d -> %d (%d term changes), token advance %d,"
            + " %d active at the end%n",
        windowS,
        cluster.timing.electionTimeoutMin().toMillis(),
        cluster.timing.electionTimeoutMax().toMillis(),
        term0,
        last,
        termChanges,
        tokenAdvance,
        activeNow);
  }

  private static long maxTerm(List<BatonNode> nodes) {
    long max = 0;
    for (BatonNode n : nodes) {
      try {
        max = Math.max(max, n.status().term());
      } catch (RuntimeException e) {
        // not answering this instant: the next sample sees it
      }
    }
    return max;
  }
}
