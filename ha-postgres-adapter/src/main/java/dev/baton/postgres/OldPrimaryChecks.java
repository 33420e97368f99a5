package dev.baton.postgres;

import dev.baton.core.StepContext;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PostgresPromotionAction}'s refusals about old primaries: a promotion that would leave an
 * old primary unfenced, and a target that is itself a former primary never rejoined.
 */
final class OldPrimaryChecks {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresPromotionAction.class);

  private final String name;
  private final PostgresEndpoint target;
  private final PeerSurvey survey;
  private final boolean fenceTimeBound;
  private final List<String> fenceResources;
  private final FenceSchema schema;
  private final boolean hasStopCommand;
  private final boolean allowUnfencedOldPrimary;
  private final @Nullable WriterEndpoint writerEndpoint;

  OldPrimaryChecks(
      String name,
      PostgresEndpoint target,
      PeerSurvey survey,
      boolean fenceTimeBound,
      List<String> fenceResources,
      FenceSchema schema,
      boolean hasStopCommand,
      boolean allowUnfencedOldPrimary,
      @Nullable WriterEndpoint writerEndpoint) {
    this.name = name;
    this.target = target;
    this.survey = survey;
    this.fenceTimeBound = fenceTimeBound;
    this.fenceResources = List.copyOf(fenceResources);
    this.schema = schema;
    this.hasStopCommand = hasStopCommand;
    this.allowUnfencedOldPrimary = allowUnfencedOldPrimary;
    this.writerEndpoint = writerEndpoint;
  }

  /**
   * Who held the role before, for a message about an old primary: the newest earlier activation
   * that completed its promotion ({@code ActiveContext.previousActive()}; an attempt whose plan was
   * abandoned, this node's own included, is passed over). It can be this node itself: it held the
   * role, lost it and won it back, and the message says so rather than "node n2" for n2's own log.
   */
  static String previousActiveClause(StepContext ctx) {
    return ctx.previousActive()
        .map(
            n ->
                n.equals(ctx.nodeId())
                    ? "; the previous active was this node itself (token "
                        + ctx.previousToken()
                        + ")"
                    : "; the previous active was node " + n)
        .orElse("");
  }

  /**
   * Before a standby is promoted, every peer must be fenced: a reachable primary is made read-only
   * (below), an unreachable peer, which may be the old primary still taking a stale active's
   * commits, can only be stopped by the stop command. Without one, the promotion is refused unless
   * {@link PostgresPromotionAction.Builder#allowUnfencedOldPrimary} accepts the risk, or the
   * fence's time bound covers it.
   *
   * <p><b>The time bound</b> ({@link PostgresPromotionAction.Builder#fenceTimeBound}, fence
   * protocol version 3). The old primary's fence refuses every transaction and commit with its
   * token once that token's {@code valid_until} has passed, and the old active's renewals put it no
   * later than the end of the old active's Raft lease, which ended before this node became active.
   * So an unreachable peer needs neither a stop command nor the opt-out, provided its fence is
   * bounded. This node cannot ask it, so it asks the standby it promotes, which replays the old
   * primary's WAL: every configured resource's fence row there must carry a bounded lease for its
   * token ({@link #unboundedFence}). A fence advanced without the bound (a node without it, or
   * schema version 1 or 2) shows there and the promotion falls back to the rules above. What the
   * standby has not replayed yet was written by a later promotion of the old primary, bounded too
   * when every node has the bound on (a requirement: docs/sidecar-config.md, {@code fenceLease}).
   *
   * @return the addresses of the unreachable peers the time bound covers: they are not stopped
   */
  Set<String> refuseIfAnOldPrimaryCannotBeFenced(
      Connection t, List<PeerSurvey.Peer> surveyed, Set<String> rejoining, StepContext ctx)
      throws SQLException {
    List<PeerSurvey.Peer> unreachablePeers = new ArrayList<>();
    List<String> unreachable = new ArrayList<>();
    for (PeerSurvey.Peer p : surveyed) {
      if (p.connection() == null && !rejoining.contains(p.endpoint().address())) {
        unreachablePeers.add(p);
        unreachable.add(survey.describePeer(p.endpoint()));
      }
    }
    if (unreachable.isEmpty()) {
      return Set.of();
    }
    String previous = previousActiveClause(ctx);
    String notBounded = null;
    if (fenceTimeBound) {
      Map<String, Long> tokens = new java.util.LinkedHashMap<>();
      notBounded = unboundedFence(t, tokens);
      if (notBounded == null) {
        String held =
            tokens.isEmpty()
                ? "any token (no fence row has reached the standby yet)"
                : tokens.entrySet().stream()
                    .map(e -> e.getValue() + " (resource " + e.getKey() + ")")
                    .collect(java.util.stream.Collectors.joining(", "));
        Set<String> covered = new java.util.HashSet<>();
        for (PeerSurvey.Peer p : unreachablePeers) {
          ctx.log()
              .warn(
                  "{}: old primary {} unreachable; not stopped; it refuses writes with token {} by"
                      + " itself since its fence lease (protocol 3) ended no later than the old"
                      + " active's lease{}; promoting {}",
                  name,
                  survey.describePeer(p.endpoint()),
                  held,
                  previous,
                  target.address());
          covered.add(p.endpoint().address());
        }
        return covered;
      }
    }
    if (hasStopCommand) {
      return Set.of();
    }
    if (allowUnfencedOldPrimary) {
      LOG.error(
          "{}: promoting {} although {} {} unreachable and cannot be fenced{}: allowUnfencedOldPrimary"
              + " is set, so a stale active may still commit there and pg_rewind will discard"
              + " those commits",
          name,
          target.address(),
          String.join(", ", unreachable),
          unreachable.size() == 1 ? "is" : "are",
          previous);
      return Set.of();
    }
    throw new PromotionRefusedException(
        "refusing to promote "
            + target.address()
            + ": "
            + String.join(", ", unreachable)
            + (unreachable.size() == 1 ? " is" : " are")
            + " unreachable and cannot be fenced"
            + previous
            + "; if it is the old primary, a stale active can still commit there"
            + (notBounded == null
                ? ""
                : " (fenceTimeBound is on, but the fence's time bound does not cover it: "
                    + notBounded
                    + ")")
            + ". Configure a stopCommand (STONITH) that stops it, bring it back within reach,"
            + (fenceTimeBound
                ? ""
                : " turn on the fence's time bound (fenceTimeBound / fenceLease),")
            + " or set allowUnfencedOldPrimary(true) to accept the risk");
  }

  /**
   * Reads, on the standby about to be promoted ({@code t}, in recovery), its replayed copy of the
   * old primary's fence: for each configured resource with a fence row, the row's token goes into
   * {@code tokens} and it must have a lease row for that token with a {@code valid_until}.
   *
   * @return null when every such fence is bounded, otherwise why not
   */
  private @Nullable String unboundedFence(Connection t, Map<String, Long> tokens)
      throws SQLException {
    if (fenceResources.isEmpty()) {
      return "no fenceResources are configured, so no fence row is bounded";
    }
    boolean fenceTable;
    boolean leaseTable;
    try (java.sql.PreparedStatement ps =
        t.prepareStatement("SELECT to_regclass(?) IS NOT NULL, to_regclass(?) IS NOT NULL")) {
      ps.setString(1, schema.fenceTable());
      ps.setString(2, schema.leaseTable());
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        rs.next();
        fenceTable = rs.getBoolean(1);
        leaseTable = rs.getBoolean(2);
      }
    }
    if (!fenceTable) {
      return null; // no fence row replayed: nothing passes check_fence there as of the replay
    }
    for (String resource : fenceResources) {
      String sql =
          "SELECT f.token, "
              + (leaseTable
                  ? "EXISTS (SELECT 1 FROM "
                      + schema.leaseTable()
                      + " l WHERE l.resource = f.resource AND l.token = f.token"
                      + " AND l.valid_until IS NOT NULL)"
                  : "false")
              + " FROM "
              + schema.fenceTable()
              + " f WHERE f.resource = ?";
      try (java.sql.PreparedStatement ps = t.prepareStatement(sql)) {
        ps.setString(1, resource);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            continue;
          }
          long token = rs.getLong(1);
          if (!rs.getBoolean(2)) {
            return "the standby's copy of the fence of resource '"
                + resource
                + "' (token "
                + token
                + ") "
                + (leaseTable
                    ? "has no time bound: it was advanced without fenceTimeBound"
                    : "is at fence schema version 1 or 2, which has no time bound");
          }
          tokens.put(resource, token);
        }
      }
    }
    return null;
  }

  void refuseIfFormerPrimary(Connection t, List<PeerSurvey.Peer> surveyed) throws SQLException {
    if (writerEndpoint != null) {
      var writer = writerEndpoint.current();
      if (writer.isPresent() && !writer.get().jdbcUrl().equals(target.jdbcUrl())) {
        throw new PromotionRefusedException(
            "refusing to promote "
                + target.address()
                + ": it is a primary, but the published writer is "
                + writer.get().jdbcUrl()
                + " (token "
                + writer.get().token()
                + "); a former primary must be rejoined as a standby (pg_rewind) first");
      }
    }
    long mine = timeline(t);
    for (PeerSurvey.Peer p : surveyed) {
      if (p.connection() != null && p.primary()) {
        long theirs = timeline(p.connection());
        if (theirs > mine) {
          throw new PromotionRefusedException(
              "refusing to promote "
                  + target.address()
                  + ": it is a primary on timeline "
                  + mine
                  + " but "
                  + p.endpoint().address()
                  + " is a primary on the newer timeline "
                  + theirs
                  + "; a former primary must be rejoined as a standby (pg_rewind) first");
        }
      }
    }
  }

  /** The timeline a primary writes on: the first eight hex digits of its current WAL file. */
  private static long timeline(Connection c) throws SQLException {
    return ServerProbes.currentTimeline(c);
  }
}
