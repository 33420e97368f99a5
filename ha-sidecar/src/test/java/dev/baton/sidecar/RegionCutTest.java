package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 32's region cut with a paused active, with real processes: east's region (its PostgreSQL 15
 * primary, its sidecar n1 and n1's writer) runs in a network namespace; west's standby, n2, the
 * witness and BIND run outside, on the namespace link's host end. n1 is frozen (SIGSTOP) and the
 * region's link is cut (every packet dropped, both ways), while east's PostgreSQL and a writer
 * beside it that holds n1's token keep running. This is the shipped example's shape of a lost
 * region: no stop command that could succeed and no opt-out ({@code allowUnfencedOldPrimary}), and
 * east's side of DNS unreachable.
 *
 * <p>Asserted: n2 takes the role and promotes west past the unreachable east by the fence's time
 * bound alone; read from inside the region before the heal (the rewind discards them), east holds
 * no row committed after its fence's {@code valid_until} (by east's own clock, from {@code
 * track_commit_timestamp}), while the writer holding n1's token kept trying and was refused; the
 * name points at west and n2's writer commits there; after the heal and SIGCONT n1 does not act as
 * active and its former-primary guard rewinds east into a streaming standby of west.
 */
class RegionCutTest {

  @Test
  @Timeout(300)
  void aRegionCutWithItsActivePausedFailsOverByItselfAndTheOldPrimaryCommitsNothingPastItsBound()
      throws Exception {
    try (TwoSites sites = TwoSites.startWithEastInRegion()) {
      SidecarProcesses cluster = sites.cluster;
      // n1's token, held by a writer beside east, with n1 frozen while it holds it: on a loaded
      // machine n1 can lose a lease and win the role again with a new token (ENVIRONMENT.md), so
      // the token east's fence holds is read once n1 is frozen, and the holder started again if
      // it no longer matches.
      long t1 = -1;
      TwoSites.Writer holder = null;
      String fence = "";
      for (int attempt = 1; attempt <= 3 && t1 < 0; attempt++) {
        long t = sites.n1TokenOnceItsWriterCommits();
        TwoSites.Writer h = sites.holderInEast(t);
        await("the writer holding token " + t + " commits on east")
            .atMost(TwoSites.LIVENESS)
            .until(() -> h.committed(t).size() >= 3);
        cluster.pause("n1");
        fence = fenceOf(sites);
        assertThat(fence)
            .as("east's fence lease row for %s (the postgres step's fenceLease renews it)", t)
            .matches("\\d+ \\d{4}-.*");
        if (fence.startsWith(t + " ")) {
          t1 = t;
          holder = h;
        } else {
          cluster.resume("n1");
          h.close();
        }
      }
      assertThat(t1).as("n1 held one token from its writer's commits to its pause").isPositive();
      int n2LogFrom = cluster.log("n2").length();
      sites.region.cut();
      long cutAt = System.currentTimeMillis();

      TwoSites.Moved moved = sites.awaitN2OnWest(t1, n2LogFrom);
      System.out.printf(
          "region cut: n2 active with token %d, its writer's first commit on west %d ms after the"
              + " cut%n",
          moved.token(), moved.firstCommitMillis() - cutAt);

      // Read from inside the cut-off region, before the heal: the rewind will discard east's rows.
      assertThat(fenceOf(sites))
          .as("east's fence lease row, unrenewed since n1 froze")
          .isEqualTo(fence);
      // The holder kept writing with t1 after the bound, and east refused it there.
      TwoSites.Writer holding = holder;
      final long token = t1;
      List<JsonNode> refused =
          await("east refuses the holder's token " + token + " for its ended lease")
              .atMost(TwoSites.LIVENESS)
              .until(
                  () ->
                      holding.lines().stream()
                          .filter(j -> j.path("token").asLong() == token)
                          .filter(j -> j.path("outcome").asText().equals("refused"))
                          .toList(),
                  l -> !l.isEmpty());
      assertThat(refused.get(0).path("sqlstate").asText())
          .as(refused.get(0).toString())
          .isIn("BT007", "BT008");
      String rows =
          sites.east.psql(
              "SELECT count(*) FILTER (WHERE ts <= l.valid_until) || ' '"
                  + " || count(*) FILTER (WHERE ts > l.valid_until OR ts IS NULL)"
                  + " || ' ' || coalesce(max(ts)::text, '-')"
                  + " FROM (SELECT pg_xact_commit_timestamp(xmin) AS ts FROM ledger) r,"
                  + " baton.fence_lease l WHERE l.resource = '"
                  + TwoSites.RESOURCE
                  + "'");
      String[] counts = rows.split(" ", 3);
      assertThat(Long.parseLong(counts[0]))
          .as("east's rows within the bound: " + rows)
          .isPositive();
      assertThat(Long.parseLong(counts[1]))
          .as(
              "rows east committed after its fence's valid_until (%s); committed, last: %s",
              fence, rows)
          .isZero();
      System.out.println("region cut: east's fence " + fence + "; east's last commit " + counts[2]);
      sites.assertRefusedOnWest(t1);

      sites.region.heal();
      cluster.resume("n1");
      try {
        await("east rewound into a streaming standby of west")
            .atMost(TwoSites.LIVENESS)
            .ignoreExceptions()
            .until(
                () ->
                    sites.east.isInRecovery()
                        && sites.west.queryLong(
                                "SELECT count(*) FROM pg_stat_replication"
                                    + " WHERE state = 'streaming'")
                            > 0);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(
            e.getMessage()
                + "\n---- east's server log\n"
                + sites.east.logTail(40)
                + "\n"
                + cluster.logTails(80),
            e);
      }
      // n1, running again, does not take the role back: n2 stays the active (a lapse of its lease
      // under load, and a re-activation, is allowed) and the name stays on west.
      await("n2 the one active, the name on west")
          .atMost(TwoSites.LIVENESS)
          .until(
              () ->
                  cluster.activeIds().equals(List.of("n2"))
                      && sites.dns.dig(sites.name, "A").equals(List.of(sites.westIp)));
    }
  }

  /** East's fence lease row, {@code "token valid_until"}, read with psql inside east's region. */
  private static String fenceOf(TwoSites sites) {
    return sites.east.psql(
        "SELECT token || ' ' || valid_until FROM baton.fence_lease WHERE resource = '"
            + TwoSites.RESOURCE
            + "'");
  }
}
