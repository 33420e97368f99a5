package dev.baton.jepsen;

import dev.baton.core.KvEntry;
import dev.baton.core.control.BatonClient;
import dev.baton.core.control.ClusterSecretCredentials;
import dev.baton.jepsen.Checks.Outcome;
import dev.baton.jepsen.Checks.Validity;
import dev.baton.lincheck.CheckResult;
import dev.baton.lincheck.History;
import dev.baton.lincheck.HistoryRecorder;
import dev.baton.lincheck.Operation;
import dev.baton.lincheck.io.HistoryWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KV workload of {@link ProductPathTest} (issue 39): the suite's {@link KvWorkload}, its
 * clients on the host reading, writing and compare-and-setting four registers through the three
 * sidecars' control API (gRPC, port 7500, mutual TLS on the cluster secret of {@code
 * clusterSecretFile}), for the whole run, from the first active to the last stretch of writes. The
 * history is checked as the suite checks its own ({@link Checks#checkKv}, the cas-register model,
 * an absent key read as a value) and kept as {@code history.jsonl} in the run's directory ({@code
 * bin/lincheck --model cas-register} re-checks it). A non-linearizable history makes the run
 * INVALID; one in which no operation completed, or that the checker could not decide within its
 * budget, makes it UNKNOWN ({@link Checks#linearizable}), never VALID.
 *
 * <p>It also does the read of {@code partition-leader-after-read} ({@link #readThroughLeader}): a
 * linearizable read through the Raft leader's sidecar alone, recorded in the same history, right
 * before the harness cuts that node off.
 *
 * <p>How many clients: {@code -Djepsen.product.kvClients} (default {@value #DEFAULT_CLIENTS}); each
 * waits 10–30 ms between operations, as in the suite.
 */
final class ProductKv implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProductKv.class);

  static final int DEFAULT_CLIENTS = 2;
  static final int KEYS = 4;

  /** The process numbers of the leader reads, apart from the clients' (which count from 0). */
  private static final int PROBE_PROCESS = 1_000_000;

  private final HistoryRecorder recorder = new HistoryRecorder();
  private final ClusterSecretCredentials secret;
  private final KvWorkload workload;
  private final int clients;
  private final Map<String, String> endpoints;
  private final List<String> leaderReads = new ArrayList<>();
  private long startedAt;
  private long stoppedAt;

  /** A read through the leader {@code leader}'s sidecar, as {@link #readThroughLeader} did it. */
  record LeaderRead(String leader, String description) {}

  /**
   * @param clusterId the sidecars' {@code cluster}
   * @param secretFile the secret file the sidecars' {@code clusterSecretFile} names
   * @param endpoints each sidecar's control address ({@code host:port}) by its member id
   */
  ProductKv(
      String clusterId, Path secretFile, Map<String, String> endpoints, int clients, long seed) {
    this.secret = ClusterSecretCredentials.read(clusterId, secretFile);
    this.clients = clients;
    this.endpoints = Map.copyOf(endpoints);
    this.workload =
        new KvWorkload(List.copyOf(endpoints.values()), recorder, clients, KEYS, seed, secret);
  }

  /** {@code -Djepsen.product.kvClients}, at least one. */
  static int clients() {
    int n = Integer.getInteger("jepsen.product.kvClients", DEFAULT_CLIENTS);
    if (n < 1) {
      throw new IllegalArgumentException(
          "-Djepsen.product.kvClients=" + n + ": the KV workload needs at least one client");
    }
    return n;
  }

  void start() {
    startedAt = System.nanoTime();
    workload.start();
    LOG.info("product path: KV workload started, {} clients on {} keys", clients, KEYS);
  }

  /**
   * The read of {@code partition-leader-after-read}: asks {@code activeId}'s sidecar which node is
   * the Raft leader (the active, unless the role is moving), then reads a register through that
   * node's control endpoint alone, recorded in the KV history as its own process. A read that fails
   * is recorded as failed (a read changes nothing). Returns the leader, which the harness then cuts
   * off.
   */
  LeaderRead readThroughLeader(String activeId) {
    String leader = activeId;
    try (BatonClient c = client(endpoints.get(activeId))) {
      String named =
          c.statusReport(endpoints.get(activeId), Duration.ofSeconds(2))
              .node()
              .leaderId()
              .orElse(activeId);
      if (endpoints.containsKey(named)) {
        leader = named;
      }
    } catch (RuntimeException e) {
      LOG.info(
          "product path: {}'s status did not name the leader ({}); reading through {}",
          activeId,
          e.toString(),
          activeId);
    }
    String key;
    int process;
    synchronized (leaderReads) {
      process = PROBE_PROCESS + leaderReads.size();
      key = "r" + (leaderReads.size() % KEYS);
    }
    String description;
    try (BatonClient c = client(endpoints.get(leader))) {
      HistoryRecorder.Invocation op = recorder.invoke(process, "read", key, null);
      try {
        Optional<KvEntry> e = c.get("jepsen/" + key);
        Object value = KvWorkload.readResult(e);
        op.ok(value);
        description =
            "read " + key + " = " + (value == null ? "nil" : value) + " through " + leader;
      } catch (RuntimeException ex) {
        op.fail(ex.getClass().getSimpleName());
        description = "read of " + key + " through " + leader + " failed: " + ex.getMessage();
      }
    }
    synchronized (leaderReads) {
      leaderReads.add(description);
    }
    return new LeaderRead(leader, description);
  }

  private BatonClient client(String endpoint) {
    return BatonClient.builder()
        .endpoints(List.of(endpoint))
        .clusterSecret(secret, "jepsen-kv-probe")
        .attemptTimeout(Duration.ofSeconds(2))
        .callTimeout(Duration.ofSeconds(2))
        .build();
  }

  /** Stops the clients (an operation in flight completes, or stays open: unknown). */
  @Override
  public void close() throws InterruptedException {
    if (stoppedAt == 0 && startedAt != 0) {
      workload.close();
      stoppedAt = System.nanoTime();
    }
  }

  /** The KV history, its outcome and figures, once {@link #close} stopped the clients. */
  Result check(Path runDir) throws IOException {
    History h = recorder.history();
    HistoryWriter.writeJsonLines(h, runDir.resolve("history.jsonl"));
    List<String> reads;
    synchronized (leaderReads) {
      reads = List.copyOf(leaderReads);
    }
    double seconds = Math.max(0, (stoppedAt - startedAt) / 1e9);
    return result(h, check(h), clients, seconds, reads);
  }

  /** What one run's KV workload did and the checker's verdict on it. */
  record Result(Outcome outcome, Map<String, Object> figures) {
    /** One line for results.txt. */
    String describe() {
      return String.format(
          "  KV (%s clients, %s keys, %s s): %s operations (%s ok, %s fail, %s info), %s ops/s;"
              + " cas-register check %s%s%n",
          figures.get("clients"),
          figures.get("keys"),
          figures.get("seconds"),
          figures.get("operations"),
          figures.get("ok"),
          figures.get("fail"),
          figures.get("info"),
          figures.get("opsPerSecond"),
          figures.get("verdict"),
          Boolean.TRUE.equals(figures.get("undecided")) ? " (undecided)" : "");
    }
  }

  /** The suite's KV check ({@link Checks#checkKv}) as one of the run's outcomes. */
  static Outcome check(History h) {
    CheckResult r = Checks.checkKv(h);
    return Checks.linearizable(
        "kv-linearizable",
        "the KV compare-and-set registers, read, written and cas'ed through the sidecars' control"
            + " API under the run's faults, are linearizable",
        h,
        "cas-register",
        r);
  }

  /**
   * The figures of results.json's {@code kv} entry: operations by outcome ({@code info} counts
   * those never completed too), operations per second over the workload's run, the checker's
   * verdict and whether it was undecided (its budget ran out), the leader reads.
   */
  static Result result(
      History h, Outcome outcome, int clients, double seconds, List<String> leaderReads) {
    long ok = 0;
    long fail = 0;
    long info = 0;
    for (Operation op : h.operations()) {
      if (op.isOk()) {
        ok++;
      } else if (op.isUnknown()) {
        info++;
      } else {
        fail++;
      }
    }
    int total = h.operations().size();
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("clients", clients);
    f.put("keys", KEYS);
    f.put("seconds", Math.round(seconds * 10) / 10.0);
    f.put("operations", total);
    f.put("ok", ok);
    f.put("fail", fail);
    f.put("info", info);
    f.put("opsPerSecond", seconds > 0 ? Math.round(total / seconds * 10) / 10.0 : 0.0);
    f.put("validity", outcome.validity().name());
    String verdict = outcome.summary();
    f.put("verdict", verdict);
    f.put("undecided", outcome.validity() == Validity.UNKNOWN && verdict.startsWith("undecided"));
    f.put("checkMillis", outcome.details().get("checkMillis"));
    f.put("leaderReads", leaderReads);
    return new Result(outcome, f);
  }

  /**
   * {@code verdict} with the KV outcome among its outcomes: an INVALID KV history makes the run
   * INVALID, an UNKNOWN one (nothing completed, or undecided) makes a VALID run UNKNOWN.
   */
  static ProductPathChecks.Verdict withKv(ProductPathChecks.Verdict verdict, Outcome kv) {
    List<Outcome> outcomes = new ArrayList<>(verdict.outcomes());
    outcomes.add(kv);
    Validity v = verdict.validity();
    if (kv.validity() == Validity.INVALID) {
      v = Validity.INVALID;
    } else if (kv.validity() == Validity.UNKNOWN && v == Validity.VALID) {
      v = Validity.UNKNOWN;
    }
    return new ProductPathChecks.Verdict(v, List.copyOf(outcomes), verdict.durability());
  }
}
