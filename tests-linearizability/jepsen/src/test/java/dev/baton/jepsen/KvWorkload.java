package dev.baton.jepsen;

import dev.baton.core.KvEntry;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.core.control.ControlException;
import dev.baton.lincheck.HistoryRecorder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Workload (a): clients on the host read, write and compare-and-set a few registers in the
 * cluster's KV through the gRPC control API ({@link BatonClient}, which follows the leader), and
 * record a history for the {@code cas-register} model.
 *
 * <p>Outcomes: a read that fails did nothing ({@code fail}); a write or cas that the client knows
 * was not applied is {@code fail}; a cas that found another value is {@code fail} (Jepsen's
 * convention); any other error leaves the outcome unknown ({@code info}) and the client continues
 * as a new process.
 *
 * <p>Against a cluster whose control API runs on the cluster secret (the sidecar's {@code
 * clusterSecretFile}, as in {@link ProductPathTest}), the clients prove the secret as {@code
 * jepsen-kv}; the node app's control API ({@link Cluster}) is plaintext.
 */
final class KvWorkload implements AutoCloseable {
  private final List<String> endpoints;
  private final HistoryRecorder recorder;
  private final int clients;
  private final int keys;
  private final long seed;
  private final ClusterSecretCredentials secret;
  private final AtomicInteger nextProcess = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;

  KvWorkload(List<String> endpoints, HistoryRecorder recorder, int clients, int keys, long seed) {
    this(endpoints, recorder, clients, keys, seed, null);
  }

  /** With {@code secret} not null, the clients authenticate with the cluster secret. */
  KvWorkload(
      List<String> endpoints,
      HistoryRecorder recorder,
      int clients,
      int keys,
      long seed,
      ClusterSecretCredentials secret) {
    this.endpoints = List.copyOf(endpoints);
    this.recorder = recorder;
    this.clients = clients;
    this.keys = keys;
    this.seed = seed;
    this.secret = secret;
  }

  void start() {
    for (int i = 0; i < clients; i++) {
      Random random = new Random(seed * 31 + i);
      Thread t = new Thread(() -> client(random), "jepsen-kv-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void client(Random random) {
    int process = nextProcess.getAndIncrement();
    BatonClient.Builder builder =
        BatonClient.builder()
            .endpoints(endpoints)
            .attemptTimeout(Duration.ofSeconds(4))
            .callTimeout(Duration.ofSeconds(5))
            .probeTimeout(Duration.ofMillis(700))
            .leaderCacheTtl(Duration.ofSeconds(2));
    if (secret != null) {
      builder.clusterSecret(secret, "jepsen-kv");
    }
    try (BatonClient client = builder.build()) {
      while (running) {
        String key = "r" + random.nextInt(keys);
        String bkey = "jepsen/" + key;
        int dice = random.nextInt(10);
        if (dice < 4) {
          HistoryRecorder.Invocation op = recorder.invoke(process, "read", key, null);
          try {
            Optional<KvEntry> e = client.get(bkey);
            op.ok(readResult(e));
          } catch (RuntimeException ex) {
            op.fail(ex.getClass().getSimpleName());
          }
        } else if (dice < 7) {
          long v = random.nextInt(5);
          HistoryRecorder.Invocation op = recorder.invoke(process, "write", key, v);
          try {
            client.put(bkey, bytes(v));
            op.ok();
          } catch (RuntimeException ex) {
            if (notApplied(ex)) {
              op.fail(ex.getClass().getSimpleName());
            } else {
              op.info(ex.getClass().getSimpleName());
              process = nextProcess.getAndIncrement();
            }
          }
        } else {
          long from = random.nextInt(5);
          long to = random.nextInt(5);
          HistoryRecorder.Invocation op = recorder.invoke(process, "cas", key, List.of(from, to));
          try {
            if (client.compareAndSet(bkey, bytes(from), bytes(to)).isPresent()) {
              op.ok();
            } else {
              op.fail();
            }
          } catch (RuntimeException ex) {
            if (notApplied(ex)) {
              op.fail(ex.getClass().getSimpleName());
            } else {
              op.info(ex.getClass().getSimpleName());
              process = nextProcess.getAndIncrement();
            }
          }
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10 + random.nextInt(20)));
      }
    }
  }

  /**
   * What a read records: the value, or {@code nil} for an absent key (which {@link Checks#checkKv}
   * checks as a value, not as Jepsen's "unknown").
   */
  static Object readResult(Optional<KvEntry> e) {
    return e.map(v -> (Object) Long.parseLong(v.valueAsString())).orElse(null);
  }

  private static boolean notApplied(RuntimeException ex) {
    if (ex instanceof IllegalArgumentException) {
      return true;
    }
    return ex instanceof ControlException c && c.knownNotApplied();
  }

  private static byte[] bytes(long v) {
    return Long.toString(v).getBytes(StandardCharsets.UTF_8);
  }

  /** Stops the clients; an operation in flight completes (or stays open: unknown). */
  @Override
  public void close() throws InterruptedException {
    running = false;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(10));
    }
  }
}
