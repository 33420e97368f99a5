package dev.baton.core;

import dev.baton.testing.cluster.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A node in its own JVM with the watchdog on, whose plan has a step that keeps running after the
 * node gives the role up: the watchdog must halt this process (exit status 70) at the end of the
 * lease. Used by RoleLossTest and WatchdogTest. Arguments: clusterId nodeId dataDir secret(base64)
 * [mode] member... (id=host:port). Modes:
 *
 * <ul>
 *   <li>{@code hang} (the default): the demotion hangs, ignoring interrupts, with the step's
 *       default timeout (longer than the lease);
 *   <li>{@code short-demote}: the same, but the step's timeout (50 ms) is shorter than the lease
 *       left, so the demotion returns while the step's thread keeps running;
 *   <li>{@code stuck-promote}: the promotion step ignores interrupts and outlives its 300 ms
 *       timeout; the plan fails and the node gives the role up while that thread still runs;
 *   <li>{@code hang-wide-reserve}: as {@code hang}, with {@link #WIDE_RESERVE} timing (the cluster
 *       it joins must use it too), so that the demotion starts with two seconds of lease left even
 *       on a starved machine, and the demotion step prints how long it had (its deadline falls
 *       before the lease's end).
 * </ul>
 */
public final class WatchdogChild {
  /**
   * Elections after 3–4.5 s of silence (lease 2,870 ms) and demotion starting with 2 s of lease
   * left: the node starts demoting about 870 ms after its last renewal and its controller may be
   * starved for up to 2 s without the demotion being skipped as too late.
   */
  public static final Timing WIDE_RESERVE =
      new Timing(
          Duration.ofMillis(3000),
          Duration.ofMillis(4500),
          0.01,
          Duration.ofMillis(100),
          Duration.ofMillis(150),
          Duration.ofMillis(2000));

  public static void main(String[] args) throws Exception {
    String mode = "hang";
    int first = 4;
    if (args.length > 4 && !args[4].contains("=")) {
      mode = args[4];
      first = 5;
    }
    List<Member> members = new ArrayList<>();
    for (int i = first; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      members.add(Member.voter(kv[0], kv[1]));
    }
    final boolean stuckPromote = mode.equals("stuck-promote");
    final boolean wideReserve = mode.equals("hang-wide-reserve");
    PromotionAction step =
        new PromotionAction() {
          @Override
          public String name() {
            return stuckPromote ? "stuck-promote" : "hangs-on-demote";
          }

          @Override
          public void promote(StepContext ctx) {
            if (stuckPromote) {
              System.out.println("PROMOTING token " + ctx.token());
              hang();
            }
          }

          @Override
          public void demote(StepContext ctx) {
            if (!stuckPromote) {
              System.out.println(
                  "DEMOTING token "
                      + ctx.token()
                      // The step's deadline is at most the lease's end: more than 0 ms left means
                      // the demotion started while the lease still ran.
                      + (wideReserve ? " deadline in " + ctx.deadline().toMillis() + " ms" : ""));
              hang();
            }
          }
        };
    StepPolicy policy =
        switch (mode) {
          case "short-demote" -> StepPolicy.mustSucceed().withTimeout(Duration.ofMillis(50));
          case "stuck-promote" ->
              StepPolicy.mustSucceed().withTimeout(Duration.ofMillis(300)).withMaxAttempts(1);
          default -> StepPolicy.mustSucceed();
        };
    BatonNode node =
        BatonNode.builder()
            .clusterId(args[0])
            .nodeId(args[1])
            .dataDir(Path.of(args[2]))
            .members(members)
            .timing(wideReserve ? WIDE_RESERVE : TestCluster.TIMING)
            // The secret of the cluster it joins, so its peers accept it on their Raft ports.
            .clusterSecret(java.util.Base64.getDecoder().decode(args[3]))
            .bootstrap(true) // its first start, as a founding member
            .promotionPlan(PromotionPlan.builder().action(step, policy).watchdog(true).build())
            .build();
    node.start();
    System.out.println("STARTED");
    Thread.currentThread().join();
  }

  /** Hangs forever, ignoring interruption, as hung I/O (a JDBC call, say) does. */
  private static void hang() {
    while (true) {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        // ignored on purpose
      }
    }
  }
}
