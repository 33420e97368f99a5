package dev.baton.benchmarks.jmh;

import dev.baton.postgres.FencedDataSource;
import dev.baton.postgres.PostgresFence;
import dev.baton.testing.postgres.PostgresServer;
import dev.baton.testing.steps.TestStepContext;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the fence costs on a one-row write transaction against a real PostgreSQL 15 on loopback:
 * {@code plain} runs INSERT + COMMIT on a connection of the plain DataSource, {@code fenced} the
 * same through {@link FencedDataSource} (which checks the caller's token under a shared lock on the
 * fence row inside the transaction). Both in the same run, one connection each, one thread. {@code
 * fsync} selects whether the server pays for durability at commit (on: a real deployment; off: the
 * fixture's default, which makes the fence's share look larger).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class FencedWriteBenchmark {
  @Param({"on", "off"})
  public String fsync;

  private PostgresServer server;
  private Connection plain;
  private Connection fenced;
  private PreparedStatement plainInsert;
  private PreparedStatement fencedInsert;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    server =
        PostgresServer.startPrimary(
            "jmh-fence", Map.of("fsync", fsync, "synchronous_commit", fsync));
    server.execute("CREATE TABLE m (id bigint, v text)");
    PostgresFence.of(server.dataSource(), "m").advance(1, TestStepContext.promote(1));
    FencedDataSource ds = FencedDataSource.builder(server.dataSource()).resource("m").build();
    plain = server.connect();
    plain.setAutoCommit(false);
    fenced = ds.connection(1);
    fenced.setAutoCommit(false);
    plainInsert = plain.prepareStatement("INSERT INTO m VALUES (1, 'plain')");
    fencedInsert = fenced.prepareStatement("INSERT INTO m VALUES (1, 'fenced')");
  }

  @TearDown(Level.Trial)
  public void tearDown() throws SQLException {
    plain.close();
    fenced.close();
    server.close();
  }

  @Benchmark
  public int plain() throws SQLException {
    int n = plainInsert.executeUpdate();
    plain.commit();
    return n;
  }

  @Benchmark
  public int fenced() throws SQLException {
    int n = fencedInsert.executeUpdate();
    fenced.commit();
    return n;
  }
}
