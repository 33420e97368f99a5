package dev.baton.sidecar.config;

import dev.baton.core.FailbackPolicy;
import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.Member;
import dev.baton.core.PromotionPlan;
import dev.baton.core.Timing;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.ClusterSecretCredentials;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A checked sidecar configuration (the schema is in docs/sidecar-config.md). Built only by {@link
 * ConfigLoader}, which refuses a file with any problem.
 *
 * @param file the file it was read from
 * @param clusterId the cluster
 * @param nodeId this node
 * @param dataDir the node's data directory
 * @param members every member, this node included; a member's Raft address is the one the others
 *     dial (advertised)
 * @param raftListen where this node's Raft server listens, when not on its advertised address
 * @param controlAddresses the members' control API addresses, where given
 * @param controlListen where this node's control API listens
 * @param httpListen where this node's HTTP endpoints listen, if anywhere
 * @param httpTls the certificate and key the HTTP endpoints are served with (HTTPS), if any
 * @param timing election and lease timing
 * @param operationTimeout the node's operation timeout
 * @param failureBackoff the node's back-off after a failed promotion
 * @param historyLimit how many activations the node's history keeps ({@code historyLimit})
 * @param joining whether this node is being added to a running cluster (it starts empty and waits
 *     for {@code members add}, instead of forming the group from {@code members})
 * @param bootstrap whether this is the first start of a new cluster (the node may create its data
 *     directory with an empty log); without it or {@code joining}, an empty data directory is
 *     refused
 * @param tls TLS, if configured
 * @param raftSecurity how the Raft port tells members from everyone else (one is required)
 * @param acceptedClusterSecretFiles further cluster secrets whose holders are accepted as members,
 *     during a rotation ({@code acceptClusterSecretFiles})
 * @param plan the promotion plan (watchdog included)
 * @param services what the steps run beside the role (the PostgreSQL guard and position reporter)
 * @param nodeRef the node the steps belong to; the sidecar binds it before starting the node
 * @param logging log format and level
 * @param healthPolicy how the health checks' answers become the node's health ({@code health:})
 * @param healthChecks the health checks whose failure moves the role (empty: none)
 * @param failback failback by priority ({@code failback:}; off when the section is absent)
 */
public record SidecarConfig(
    Path file,
    String clusterId,
    String nodeId,
    Path dataDir,
    List<Member> members,
    Optional<String> raftListen,
    Map<String, String> controlAddresses,
    String controlListen,
    Optional<String> httpListen,
    Optional<HttpTls> httpTls,
    Timing timing,
    Duration operationTimeout,
    Duration failureBackoff,
    int historyLimit,
    boolean joining,
    boolean bootstrap,
    Optional<Tls> tls,
    RaftSecurity raftSecurity,
    List<Path> acceptedClusterSecretFiles,
    PromotionPlan plan,
    List<NodeService> services,
    NodeRef nodeRef,
    Logging logging,
    HealthPolicy healthPolicy,
    List<HealthCheck> healthChecks,
    FailbackPolicy failback) {

  /**
   * TLS settings.
   *
   * @param files this node's certificate chain, private key and the trusted certificates (PEM)
   * @param raft whether the Raft transport uses them too (default true)
   * @param authorizedClients certificate names (CN or DNS SAN) allowed to switch-active and change
   *     membership through the control API
   */
  public record Tls(TlsConfig files, boolean raft, Set<String> authorizedClients) {}

  /**
   * HTTPS for the HTTP endpoints.
   *
   * @param certificateChain the server's certificate chain (PEM)
   * @param privateKey its private key (PEM, PKCS#8; never logged)
   */
  public record HttpTls(Path certificateChain, Path privateKey) {}

  /**
   * How the Raft port is secured. Exactly one applies: TLS (the {@code tls} section with {@code
   * raft: true}), a shared cluster secret read from a file or an environment variable, or
   * explicitly none ({@code insecure: true}).
   */
  public sealed interface RaftSecurity {
    /** Mutual TLS with the {@code tls} section's certificates, each naming its member id. */
    record Certificates() implements RaftSecurity {}

    /** A cluster secret in a file ({@code clusterSecretFile}). */
    record SecretFile(Path file) implements RaftSecurity {}

    /** A cluster secret in an environment variable ({@code clusterSecretEnv} names it). */
    record SecretEnv(String variable) implements RaftSecurity {}

    /** {@code insecure: true}: a plaintext Raft port that authenticates nobody. */
    record Insecure() implements RaftSecurity {}
  }

  /**
   * Logging settings.
   *
   * @param format {@code text} (one readable line per event) or {@code json} (one JSON object per
   *     line)
   * @param level the level of Baton's own loggers: TRACE, DEBUG, INFO, WARN or ERROR
   * @param ratisLevel the level of Apache Ratis's loggers (default ERROR; INFO shows every election
   *     round, for diagnosing one)
   */
  public record Logging(String format, String level, String ratisLevel) {}

  /**
   * The control API's credentials when the cluster runs on a cluster secret and no {@code tls}
   * section secures the control API: the server and its clients (the CLI given this file) then
   * prove in the TLS handshake that they hold the secret. Empty with certificates or {@code
   * insecure: true}.
   *
   * @throws IllegalArgumentException naming the file or the variable when the secret cannot be read
   */
  public Optional<ClusterSecretCredentials> controlSecret() {
    if (tls.isPresent()) {
      return Optional.empty();
    }
    ClusterSecretCredentials c;
    if (raftSecurity instanceof RaftSecurity.SecretFile f) {
      c = ClusterSecretCredentials.read(clusterId, f.file());
    } else if (raftSecurity instanceof RaftSecurity.SecretEnv e) {
      String value = System.getenv(e.variable());
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(
            file
                + ": clusterSecretEnv names the environment variable "
                + e.variable()
                + ", which is not set here");
      }
      c =
          ClusterSecretCredentials.of(
              clusterId,
              value.trim().getBytes(StandardCharsets.UTF_8),
              "environment variable " + e.variable());
    } else {
      return Optional.empty();
    }
    for (Path accepted : acceptedClusterSecretFiles) {
      c = c.accepting(accepted);
    }
    return Optional.of(c);
  }

  /** This node's member entry. */
  public Member self() {
    return members.stream().filter(m -> m.id().equals(nodeId)).findFirst().orElseThrow();
  }
}
