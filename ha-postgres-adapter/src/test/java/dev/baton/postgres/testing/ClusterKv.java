package dev.baton.postgres.testing;

import dev.baton.core.KeyValueStore;
import dev.baton.testing.cluster.TestCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Raft-backed {@link KeyValueStore} of a real one-node Baton cluster, for the tests of the
 * PostgreSQL adapter that need a KV but no failover of their own (the writer record, the former
 * primary guard's view of it). One cluster serves every test in the JVM, started on first use and
 * stopped when the JVM exits; a test takes names of its own ({@link #name}) so that tests never see
 * each other's records.
 */
public final class ClusterKv {
  private static final AtomicInteger NEXT = new AtomicInteger();
  private static TestCluster cluster;

  private ClusterKv() {}

  /** The cluster's store, through its node (started on first call). */
  public static synchronized KeyValueStore kv() {
    if (cluster == null) {
      TestCluster c = TestCluster.create(1, 0).startAll();
      Runtime.getRuntime().addShutdownHook(new Thread(c::close, "cluster-kv-close"));
      cluster = c;
    }
    return cluster.awaitActive(Duration.ofSeconds(60)).kv();
  }

  /** {@code base} made unique in this JVM: a writer name no other test uses. */
  public static String name(String base) {
    return base + "-" + NEXT.incrementAndGet();
  }
}
