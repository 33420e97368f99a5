package dev.baton.core;

import dev.baton.core.testing.TestCluster;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A node in its own JVM whose demotion hangs, with the watchdog on: when it loses the role, the
 * watchdog must halt this process (exit status 70) at the end of the lease. Used by RoleLossTest.
 * Arguments: clusterId nodeId dataDir secret(base64) member... (id=host:port).
 */
public final class WatchdogChild {
  public static void main(String[] args) throws Exception {
    List<Member> members = new ArrayList<>();
    for (int i = 4; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      members.add(Member.voter(kv[0], kv[1]));
    }
    PromotionAction hangsOnDemote =
        new PromotionAction() {
          @Override
          public String name() {
            return "hangs-on-demote";
          }

          @Override
          public void promote(ActionContext ctx) {}

          @Override
          public void demote(ActionContext ctx) {
            System.out.println("DEMOTING token " + ctx.token());
            while (true) {
              try {
                Thread.sleep(60_000);
              } catch (InterruptedException e) {
                // a hung demotion ignores interruption, as real hung I/O does
              }
            }
          }
        };
    BatonNode node =
        BatonNode.builder()
            .clusterId(args[0])
            .nodeId(args[1])
            .dataDir(Path.of(args[2]))
            .members(members)
            .timing(TestCluster.TIMING)
            // The secret of the cluster it joins, so its peers accept it on their Raft ports.
            .clusterSecret(java.util.Base64.getDecoder().decode(args[3]))
            .bootstrap(true) // its first start, as a founding member
            .promotionPlan(PromotionPlan.builder().action(hangsOnDemote).watchdog(true).build())
            .build();
    node.start();
    System.out.println("STARTED");
    Thread.currentThread().join();
  }
}
