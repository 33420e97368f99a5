package dev.baton.postgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * What {@link PostgresPromotionAction} knows of the other servers before it promotes its own: which
 * answer, which are primaries, and which are being rejoined by their former-primary guard.
 */
final class PeerSurvey {
  /** A peer as surveyed: its connection (null when unreachable) and whether it is a primary. */
  record Peer(PostgresEndpoint endpoint, @Nullable Connection connection, boolean primary) {}

  private final String name;
  private final List<PostgresEndpoint> peers;
  private final PgConnections connections;
  private final Map<String, String> peerNodes;
  private final @Nullable RejoinRecords rejoinRecords;
  private final Duration rejoinStaleAfter;

  PeerSurvey(
      String name,
      List<PostgresEndpoint> peers,
      PgConnections connections,
      Map<String, String> peerNodes,
      @Nullable RejoinRecords rejoinRecords,
      Duration rejoinStaleAfter) {
    this.name = name;
    this.peers = List.copyOf(peers);
    this.connections = connections;
    this.peerNodes = Map.copyOf(peerNodes);
    this.rejoinRecords = rejoinRecords;
    this.rejoinStaleAfter = rejoinStaleAfter;
  }

  List<Peer> survey(Logger log) {
    List<Peer> out = new ArrayList<>();
    for (PostgresEndpoint p : peers) {
      Connection c = null;
      try {
        c = connections.connectOrThrow(p);
        c.setAutoCommit(true);
        out.add(new Peer(p, c, !ServerProbes.inRecovery(c)));
      } catch (SQLException e) {
        PgConnections.closeQuietly(c);
        log.warn(
            "{}: peer {} is unreachable ({}); it cannot be fenced from here",
            name,
            p.address(),
            e.getMessage());
        out.add(new Peer(p, null, false));
      }
    }
    return out;
  }

  /**
   * The peers that could be stopped (unreachable, or primaries) whose former-primary guard holds a
   * live rejoin record ({@link RejoinRecords}): their guard made them read-only before it wrote the
   * record and is rewinding them into standbys, so they are neither stopped nor counted as
   * unfenced.
   */
  Set<String> rejoining(List<Peer> surveyed, Logger log) {
    Set<String> out = new java.util.HashSet<>();
    if (rejoinRecords == null) {
      return out;
    }
    for (Peer p : surveyed) {
      if (p.connection() != null && !p.primary()) {
        continue;
      }
      RejoinRecords.State state;
      try {
        state = rejoinRecords.judge(p.endpoint(), rejoinStaleAfter);
      } catch (RuntimeException e) {
        log.warn(
            "{}: cannot read the rejoin record of {} ({}); treating it as not rejoining",
            name,
            p.endpoint().address(),
            e.getMessage());
        continue;
      }
      if (state == RejoinRecords.State.LIVE) {
        out.add(p.endpoint().address());
      } else if (state == RejoinRecords.State.STALE) {
        log.warn(
            "{}: the rejoin record of {} has not moved for {} ms by this node's clock: its guard"
                + " is gone, so it is treated as not rejoining",
            name,
            describePeer(p.endpoint()),
            rejoinStaleAfter.toMillis());
      }
    }
    return out;
  }

  String describePeer(PostgresEndpoint ep) {
    String node = peerNodes.get(ep.address());
    return "peer " + ep.address() + (node == null ? "" : " (next to node " + node + ")");
  }

  /** Closes every surveyed connection. */
  static void closeAll(List<Peer> surveyed) {
    for (Peer p : surveyed) {
      PgConnections.closeQuietly(p.connection());
    }
  }
}
