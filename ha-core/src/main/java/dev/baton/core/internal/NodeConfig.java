package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.Timing;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** A node's validated configuration (the public builder makes it, through {@link #validated}). */
public record NodeConfig(
    String clusterId,
    Member self,
    List<Member> members,
    File dataDir,
    String bindHost,
    int bindPort,
    Timing timing,
    Duration operationTimeout,
    RaftSecurity security,
    boolean joining,
    boolean bootstrap,
    Duration bootstrapProbeTimeout,
    long snapshotThreshold,
    Duration failureBackoff,
    int historyLimit) {
  private static final Pattern CLUSTER_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /**
   * Checks the builder's settings and makes the configuration; every refusal names the setting and
   * its value. A bind host or port left unset (null, 0) is this member's own.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static NodeConfig validated(
      @Nullable String clusterId,
      @Nullable String nodeId,
      List<Member> members,
      @Nullable Path dataDir,
      @Nullable String bindHost,
      int bindPort,
      Timing timing,
      Duration operationTimeout,
      @Nullable RaftSecurity security,
      boolean joining,
      boolean bootstrap,
      Duration bootstrapProbeTimeout,
      long snapshotThreshold,
      Duration failureBackoff,
      int historyLimit) {
    if (clusterId == null || !CLUSTER_ID.matcher(clusterId).matches()) {
      throw new IllegalArgumentException(
          "clusterId '"
              + clusterId
              + "' is not allowed: use 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (nodeId == null || nodeId.isBlank()) {
      throw new IllegalArgumentException("nodeId must be set");
    }
    if (members.isEmpty()) {
      throw new IllegalArgumentException("members must list every node, this one included");
    }
    Set<String> ids = new HashSet<>();
    Map<String, String> addresses = new LinkedHashMap<>();
    for (Member m : members) {
      if (!ids.add(m.id())) {
        throw new IllegalArgumentException("members: node id '" + m.id() + "' appears twice");
      }
      String other = addresses.put(m.address(), m.id());
      if (other != null) {
        throw new IllegalArgumentException(
            "members: address " + m.address() + " is given to both " + other + " and " + m.id());
      }
    }
    Member self =
        members.stream()
            .filter(m -> m.id().equals(nodeId))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "nodeId '" + nodeId + "' is not among the members " + ids));
    if (members.stream().noneMatch(Member::eligible)) {
      throw new IllegalArgumentException(
          "members: no member may become active (all are witnesses or noActivate)");
    }
    if (dataDir == null) {
      throw new IllegalArgumentException("dataDir must be set");
    }
    if (timing == null) {
      throw new IllegalArgumentException("timing must not be null");
    }
    if (operationTimeout == null || operationTimeout.compareTo(timing.electionTimeoutMax()) < 0) {
      throw new IllegalArgumentException(
          "operationTimeout ("
              + (operationTimeout == null ? "null" : operationTimeout.toMillis() + " ms")
              + ") must be at least electionTimeoutMax ("
              + timing.electionTimeoutMax().toMillis()
              + " ms), or operations fail during every election");
    }
    if (bootstrap && joining) {
      throw new IllegalArgumentException(
          "bootstrap and joining are both set: bootstrap starts a new cluster, joining adds a"
              + " node to a running one; choose one");
    }
    if (bootstrapProbeTimeout == null
        || bootstrapProbeTimeout.isNegative()
        || bootstrapProbeTimeout.isZero()) {
      throw new IllegalArgumentException(
          "bootstrapProbeTimeout (" + bootstrapProbeTimeout + ") must be positive");
    }
    if (snapshotThreshold < 100) {
      throw new IllegalArgumentException(
          "snapshotThreshold " + snapshotThreshold + " is below the minimum of 100 entries");
    }
    if (failureBackoff == null || failureBackoff.isNegative()) {
      throw new IllegalArgumentException("failureBackoff must be zero or positive");
    }
    if (historyLimit < 1) {
      throw new IllegalArgumentException(
          "historyLimit "
              + historyLimit
              + " is below 1: the activation history keeps at least the current activation");
    }
    if (security == null) {
      throw new IllegalArgumentException(
          "the Raft port's security must be chosen: tls(TlsConfig) (certificates that name each"
              + " member id), clusterSecret(Path) (keys derived from a secret every member"
              + " holds; no PKI) or insecureTransport() (plaintext: anyone who can reach the"
              + " port can break the cluster; tests and demos only)");
    }
    return new NodeConfig(
        clusterId,
        self,
        List.copyOf(members),
        dataDir.toFile(),
        bindHost != null ? bindHost : self.host(),
        bindPort != 0 ? bindPort : self.port(),
        timing,
        operationTimeout,
        security,
        joining,
        bootstrap,
        bootstrapProbeTimeout,
        snapshotThreshold,
        failureBackoff,
        historyLimit);
  }
}
