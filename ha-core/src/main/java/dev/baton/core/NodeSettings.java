package dev.baton.core;

import dev.baton.core.internal.BootstrapProbe;
import dev.baton.core.internal.MonotonicClock;
import dev.baton.core.internal.NodeConfig;
import dev.baton.core.internal.NodeRuntime;
import dev.baton.core.internal.RaftSecurity;
import dev.baton.core.internal.RaftSecuritySettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link BatonNode.Builder} has been told, with the defaults, and how it becomes a node's
 * validated {@link NodeConfig} and {@link NodeRuntime.Collaborators}. Not an API: the builder is
 * the documented surface (one javadoc per setting) and keeps its settings here.
 */
final class NodeSettings {
  @Nullable String clusterId;
  @Nullable String nodeId;
  final List<Member> members = new ArrayList<>();
  @Nullable Path dataDir;
  @Nullable String bindHost;
  int bindPort;
  Timing timing = Timing.DEFAULTS;
  Duration operationTimeout = Duration.ofSeconds(5);
  private @Nullable RaftSecurity security;
  private @Nullable Path secretFile;
  // Secrets also accepted from peers during a rotation, read when build() runs (never logged).
  private final List<Supplier<RaftSecurity.SharedSecret>> acceptedSecrets = new ArrayList<>();
  boolean joining;
  boolean bootstrap;
  Duration bootstrapProbeTimeout = BootstrapProbe.DEFAULT_TIMEOUT;
  long snapshotThreshold = 10_000;
  Duration failureBackoff = Duration.ofSeconds(10);
  int historyLimit = 100;
  @Nullable MeterRegistry meterRegistry;
  PromotionPlan plan = PromotionPlan.empty();
  Ticker ticker = Ticker.system();
  final List<Map.Entry<RoleListener, Executor>> listeners = new ArrayList<>();
  final List<HealthCheck> healthChecks = new ArrayList<>();
  HealthPolicy healthPolicy = HealthPolicy.DEFAULTS;
  FailbackPolicy failback = FailbackPolicy.DISABLED;

  void healthChecks(List<HealthCheck> checks) {
    Objects.requireNonNull(checks, "healthChecks");
    healthChecks.clear();
    healthChecks.addAll(checks);
  }

  void members(List<Member> members) {
    this.members.clear();
    this.members.addAll(members);
  }

  void listen(String host, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("listen port " + port + " is outside 1..65535");
    }
    this.bindHost = host;
    this.bindPort = port;
  }

  // The Raft port's security: the last of these called wins (acceptSecret* add to it).

  void tls(TlsConfig tls) {
    this.security = new RaftSecurity.Certificates(Objects.requireNonNull(tls, "tls"));
    this.secretFile = null;
  }

  void clusterSecret(Path secretFile) {
    this.secretFile = Objects.requireNonNull(secretFile, "secretFile");
    this.security = null;
  }

  void clusterSecret(byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    this.security = new RaftSecurity.SharedSecret(secret.clone(), "given to the builder");
    this.secretFile = null;
  }

  void acceptClusterSecret(Path secretFile) {
    Objects.requireNonNull(secretFile, "secretFile");
    acceptedSecrets.add(() -> RaftSecuritySettings.readSecret(secretFile, "acceptClusterSecret"));
  }

  void acceptClusterSecret(byte[] secret) {
    byte[] copy = Objects.requireNonNull(secret, "secret").clone();
    acceptedSecrets.add(
        () -> new RaftSecurity.SharedSecret(copy, "an accepted secret given to the builder"));
  }

  void insecureTransport() {
    this.security = new RaftSecurity.Insecure();
    this.secretFile = null;
  }

  /**
   * Checks every setting and names the one that is wrong; reads the secret files.
   *
   * @throws IllegalArgumentException naming the setting and its value
   */
  NodeConfig config() {
    Set<String> checkNames = new HashSet<>();
    for (HealthCheck c : healthChecks) {
      if (c == null) {
        throw new IllegalArgumentException("healthChecks: a check is null");
      }
      if (!checkNames.add(c.settings().name())) {
        throw new IllegalArgumentException(
            "healthChecks: check name '" + c.settings().name() + "' appears twice");
      }
    }
    RaftSecurity raftSecurity = RaftSecuritySettings.resolve(security, secretFile, acceptedSecrets);
    return NodeConfig.validated(
        clusterId,
        nodeId,
        members,
        dataDir,
        bindHost,
        bindPort,
        timing,
        operationTimeout,
        raftSecurity,
        joining,
        bootstrap,
        bootstrapProbeTimeout,
        snapshotThreshold,
        failureBackoff,
        historyLimit);
  }

  /** What the node gets beyond its configuration, as set now (the lists are copied). */
  NodeRuntime.Collaborators collaborators() {
    return new NodeRuntime.Collaborators(
        meterRegistry != null ? meterRegistry : new SimpleMeterRegistry(),
        plan,
        MonotonicClock.of(ticker),
        ticker,
        List.copyOf(listeners),
        List.copyOf(healthChecks),
        healthPolicy,
        failback);
  }
}
