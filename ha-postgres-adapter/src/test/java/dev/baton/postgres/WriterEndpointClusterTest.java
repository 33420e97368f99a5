package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.StaleTokenException;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.postgres.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * {@link WriterEndpoint} and {@link HikariWriterPool} on the KV of a real 3-node Baton cluster
 * (Ratis nodes in this JVM on loopback) and real PostgreSQL servers: what {@link
 * WriterEndpointTest} checks on one node's KV, here across nodes, a planned switch-active and the
 * crash of the active.
 */
class WriterEndpointClusterTest {

  private static final String DEPLOYMENT = "orders-db";
  private static final Duration LIVENESS = Duration.ofSeconds(60);

  @Test
  void theWriterPublishedByTheActiveReachesEveryNodeAndAPoolFollowsItWithoutARestart()
      throws Exception {
    List<ExecutorService> executors = new ArrayList<>();
    List<KeyValueStore.Watch> watches = new ArrayList<>();
    try (PostgresServer first = PostgresServer.startPrimary("writer1");
        PostgresServer second = PostgresServer.startPrimary("writer2");
        TestCluster cluster = TestCluster.create(3, 0).startAll()) {
      ActiveContext activeA = awaitActivation(cluster);
      BatonNode a = cluster.node(activeA.nodeId());
      long tokenA = activeA.token();
      List<BatonNode> standbys = cluster.running().stream().filter(n -> n != a).toList();
      BatonNode b = standbys.get(0);
      BatonNode c = standbys.get(1);
      WriterEndpoint onA = new WriterEndpoint(a.kv(), DEPLOYMENT);
      WriterEndpoint onB = new WriterEndpoint(b.kv(), DEPLOYMENT);
      WriterEndpoint onC = new WriterEndpoint(c.kv(), DEPLOYMENT);
      assertThat(onC.current()).isEmpty();

      // A listener on every node, subscribed before anything is published.
      Map<String, List<WriterEndpoint.Writer>> seen = new LinkedHashMap<>();
      for (BatonNode n : cluster.running()) {
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executors.add(executor);
        List<WriterEndpoint.Writer> list = new CopyOnWriteArrayList<>();
        seen.put(n.id(), list);
        watches.add(new WriterEndpoint(n.kv(), DEPLOYMENT).subscribe(executor, list::add));
      }

      // ---- The active publishes; every node's listener hears it, every node reads it.
      WriterEndpoint.Writer writerA = new WriterEndpoint.Writer(first.jdbcUrl(), tokenA, a.id());
      assertThat(onA.publish(first.jdbcUrl(), tokenA, a.id())).isEqualTo(writerA);
      assertThat(onB.current()).as("a linearizable read on a standby node").hasValue(writerA);
      assertThat(onC.current()).hasValue(writerA);
      assertThat(c.kv().get(onC.key()).orElseThrow().valueAsString())
          .isEqualTo("token=" + tokenA + "\nurl=" + first.jdbcUrl() + "\nnode=" + a.id() + "\n");
      await("every node's listener sees the writer")
          .atMost(LIVENESS)
          .until(() -> seen.values().stream().allMatch(l -> l.equals(List.of(writerA))));

      // ---- A lower token is refused, from any node, and changes nothing.
      assertThatThrownBy(() -> onB.publish(second.jdbcUrl(), tokenA - 1, b.id()))
          .isInstanceOf(StaleTokenException.class)
          .hasMessageContaining(onB.key())
          .hasMessageContaining("offered token " + (tokenA - 1))
          .hasMessageContaining("holds token " + tokenA);
      assertThat(onA.current()).hasValue(writerA);

      // ---- A pool on node c follows the writer.
      HikariConfig template = new HikariConfig();
      template.setUsername(PostgresServer.SUPERUSER);
      template.setMaximumPoolSize(3);
      template.setMinimumIdle(0);
      template.setConnectionTimeout(1000);
      template.setPoolName("app");
      try (HikariWriterPool pool = new HikariWriterPool(onC, template)) {
        await("the pool on " + c.id() + " picks up the published writer")
            .atMost(LIVENESS)
            .until(() -> first.jdbcUrl().equals(pool.currentJdbcUrl()));
        Connection borrowed = pool.getConnection();
        assertThat(serverPort(borrowed)).isEqualTo(first.port());

        // ---- Planned switch: b becomes active with a higher token and publishes its server.
        long tokenB = a.cluster().switchActive(b.id(), LIVENESS);
        assertThat(tokenB).isGreaterThan(tokenA);
        WriterEndpoint.Writer writerB = new WriterEndpoint.Writer(second.jdbcUrl(), tokenB, b.id());
        onB.publish(second.jdbcUrl(), tokenB, b.id());

        // The old active's delayed publish of its own server is refused.
        assertThatThrownBy(() -> onA.publish(first.jdbcUrl(), tokenA, a.id()))
            .isInstanceOf(StaleTokenException.class)
            .hasMessageContaining("offered token " + tokenA)
            .hasMessageContaining("holds token " + tokenB);
        assertThat(onA.current()).hasValue(writerB);

        await("every node's listener sees the new writer, after the old one, and nothing else")
            .atMost(LIVENESS)
            .until(() -> seen.values().stream().allMatch(l -> l.equals(List.of(writerA, writerB))));
        await("the pool switches to the new writer without a restart")
            .atMost(LIVENESS)
            .until(() -> second.jdbcUrl().equals(pool.currentJdbcUrl()));
        try (Connection conn = pool.getConnection()) {
          assertThat(serverPort(conn)).isEqualTo(second.port());
        }
        assertThat(serverPort(borrowed))
            .as("a connection borrowed before the switch works until it is returned")
            .isEqualTo(first.port());
        borrowed.close();
        await("the old writer's pool drains")
            .atMost(LIVENESS)
            .until(() -> poolConnections(first) == 0);

        // Fenced writes over the following pool: the new active's token is accepted, the old
        // one refused.
        PostgresFence.of(second.dataSource(), "orders").advance(tokenB, Duration.ofSeconds(10));
        FencedDataSource fenced = FencedDataSource.builder(pool).resource("orders").build();
        try (Connection conn = fenced.connection(tokenB);
            Statement s = conn.createStatement()) {
          s.execute("CREATE TABLE t (v int)");
          s.execute("INSERT INTO t VALUES (1)");
        }
        assertThatThrownBy(
                () -> {
                  try (Connection conn = fenced.connection(tokenA);
                      Statement s = conn.createStatement()) {
                    s.execute("INSERT INTO t VALUES (2)");
                  }
                })
            .isInstanceOfSatisfying(
                StaleTokenSQLException.class,
                e -> {
                  assertThat(e.offeredToken()).isEqualTo(tokenA);
                  assertThat(e.fencedToken()).isEqualTo(tokenB);
                });
        assertThat(second.queryString("SELECT string_agg(v::text, ',') FROM t")).isEqualTo("1");

        // ---- Unplanned: b crashes. The watches on the survivors live through the leader change;
        // whoever wins next publishes the first server again, and the pool follows back.
        cluster.crash(b.id());
        ActiveContext activeNext = awaitActivation(cluster);
        BatonNode next = cluster.node(activeNext.nodeId());
        long tokenNext = activeNext.token();
        assertThat(tokenNext).isGreaterThan(tokenB);
        WriterEndpoint.Writer writerNext =
            new WriterEndpoint.Writer(first.jdbcUrl(), tokenNext, next.id());
        new WriterEndpoint(next.kv(), DEPLOYMENT).publish(first.jdbcUrl(), tokenNext, next.id());
        await("the surviving nodes' listeners see the third writer")
            .atMost(LIVENESS)
            .until(
                () ->
                    seen.get(a.id()).equals(List.of(writerA, writerB, writerNext))
                        && seen.get(c.id()).equals(List.of(writerA, writerB, writerNext)));
        await("the pool follows back to the first server")
            .atMost(LIVENESS)
            .until(() -> first.jdbcUrl().equals(pool.currentJdbcUrl()));
        try (Connection conn = pool.getConnection()) {
          assertThat(serverPort(conn)).isEqualTo(first.port());
        }
        assertThat(pool.currentWriter()).isEqualTo(writerNext);
      }
    } finally {
      watches.forEach(KeyValueStore.Watch::close);
      executors.forEach(ExecutorService::shutdownNow);
    }
  }

  /** The activation of the node that is active now, read atomically with its token. */
  private static ActiveContext awaitActivation(TestCluster cluster) {
    return await("an active node")
        .atMost(LIVENESS)
        .pollInterval(Duration.ofMillis(10))
        .until(() -> cluster.active().flatMap(BatonNode::activeContext), Optional::isPresent)
        .get();
  }

  private static int serverPort(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT inet_server_port()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Client sessions on {@code server} other than the fixture's own (which are named). */
  private static long poolConnections(PostgresServer server) {
    return server.queryLong(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            + " AND application_name NOT LIKE 'baton-test-%' AND pid <> pg_backend_pid()");
  }
}
