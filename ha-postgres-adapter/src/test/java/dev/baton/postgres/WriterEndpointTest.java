package dev.baton.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import dev.baton.core.KeyValueStore;
import dev.baton.core.StaleTokenException;
import dev.baton.postgres.testing.ClusterKv;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * WriterEndpoint and HikariWriterPool against a real cluster's KV ({@link ClusterKv}) and real
 * PostgreSQL servers.
 */
class WriterEndpointTest {
  private final KeyValueStore kv = ClusterKv.kv();
  private final String name = ClusterKv.name("orders-db");
  private final WriterEndpoint endpoint = new WriterEndpoint(kv, name);
  private final ExecutorService executor = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  @Test
  void publishIsACompareAndSetThatNeverGoesBackToALowerToken() {
    assertThat(endpoint.key()).isEqualTo("baton/postgres/" + name + "/writer");
    assertThat(endpoint.current()).isEmpty();
    endpoint.publish("jdbc:postgresql://10.0.0.1:5432/app", 5, "node-a");
    long revision = kv.get(endpoint.key()).orElseThrow().revision();
    endpoint.publish("jdbc:postgresql://10.0.0.1:5432/app", 5, "node-a");
    assertThat(kv.get(endpoint.key()).orElseThrow().revision())
        .as("an identical publish is a no-op")
        .isEqualTo(revision);

    assertThatThrownBy(() -> endpoint.publish("jdbc:postgresql://10.0.0.2:5432/app", 4, "node-b"))
        .isInstanceOf(StaleTokenException.class)
        .hasMessageContaining(endpoint.key())
        .hasMessageContaining("offered token 4")
        .hasMessageContaining("holds token 5");
    assertThat(endpoint.current().orElseThrow().jdbcUrl())
        .isEqualTo("jdbc:postgresql://10.0.0.1:5432/app");

    endpoint.publish("jdbc:postgresql://10.0.0.2:5432/app", 7, "node-b");
    assertThat(endpoint.current())
        .hasValue(new WriterEndpoint.Writer("jdbc:postgresql://10.0.0.2:5432/app", 7, "node-b"));
    assertThat(kv.get(endpoint.key()).orElseThrow().valueAsString())
        .isEqualTo("token=7\nurl=jdbc:postgresql://10.0.0.2:5432/app\nnode=node-b\n");
    assertThatThrownBy(() -> new WriterEndpoint(kv, "bad/name"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bad/name");
  }

  @Test
  void listenersGetTheCurrentWriterThenOnlyNewerOnes() {
    endpoint.publish("jdbc:postgresql://h1:5432/app", 5, "a");
    List<Long> seen = new CopyOnWriteArrayList<>();
    KeyValueStore.Watch watch = endpoint.subscribe(executor, writer -> seen.add(writer.token()));
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.equals(List.of(5L)));
      // A delayed write that bypassed the compare-and-set (it cannot through publish) is ignored.
      kv.put(
          endpoint.key(),
          "token=3\nurl=jdbc:postgresql://h0:5432/app\nnode=old\n"
              .getBytes(StandardCharsets.UTF_8));
      endpoint.publish("jdbc:postgresql://h2:5432/app", 8, "b");
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains(8L));
      assertThat(seen).containsExactly(5L, 8L);
    } finally {
      watch.close();
    }
    endpoint.publish("jdbc:postgresql://h3:5432/app", 9, "c");
    assertThat(seen).doesNotContain(9L);
  }

  @Test
  void aHikariPoolFollowsTheWriterWithoutARestart() throws Exception {
    try (PostgresServer first = PostgresServer.startPrimary("writer1");
        PostgresServer second = PostgresServer.startPrimary("writer2")) {
      HikariConfig template = new HikariConfig();
      template.setUsername(PostgresServer.SUPERUSER);
      template.setMaximumPoolSize(3);
      template.setConnectionTimeout(500);
      template.setPoolName("app");
      try (HikariWriterPool pool = new HikariWriterPool(endpoint, template)) {
        assertThatThrownBy(pool::getConnection)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("no writer published under " + endpoint.key());

        endpoint.publish(first.jdbcUrl(), 5, "node-a");
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> first.jdbcUrl().equals(pool.currentJdbcUrl()));
        Connection borrowed = pool.getConnection();
        assertThat(serverPort(borrowed)).isEqualTo(first.port());

        endpoint.publish(second.jdbcUrl(), 6, "node-b");
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> second.jdbcUrl().equals(pool.currentJdbcUrl()));
        try (Connection c = pool.getConnection()) {
          assertThat(serverPort(c)).isEqualTo(second.port());
        }
        // The connection borrowed before the switch keeps working until returned; then the old
        // pool, closed in the background, lets go of the old writer entirely.
        assertThat(serverPort(borrowed)).isEqualTo(first.port());
        borrowed.close();
        await("no pool connections left on the old writer")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    first.queryLong(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name <> ''"
                                + " AND application_name NOT LIKE 'baton-test-%'"
                                + " AND backend_type = 'client backend'")
                        == 0);

        // Fenced writes over the following pool.
        PostgresFence.of(second.dataSource(), "orders").advance(6, TestStepContext.promote(6));
        FencedDataSource fenced = FencedDataSource.builder(pool).resource("orders").build();
        try (Connection c = fenced.connection(6);
            Statement s = c.createStatement()) {
          s.execute("CREATE TABLE t (v int)");
          s.execute("INSERT INTO t VALUES (1)");
        }
        assertThat(second.queryLong("SELECT count(*) FROM t")).isEqualTo(1);
      }
    }
  }

  private static int serverPort(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT inet_server_port()")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
