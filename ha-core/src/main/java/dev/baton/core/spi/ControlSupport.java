package dev.baton.core.spi;

import dev.baton.core.BatonNode;
import dev.baton.core.Maintenance;
import dev.baton.core.internal.CertificateNames;
import dev.baton.core.internal.NodeMaintenance;
import dev.baton.core.internal.NodeSecurity;
import dev.baton.core.internal.RaftSecurity;
import dev.baton.core.internal.SecretControlTls;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * What the control API (ha-control) needs of ha-core beyond its API: for Baton's own modules only,
 * not covered by the compatibility promise (see the {@linkplain dev.baton.core.spi package}). Each
 * method hands on to the internal class that does the work.
 */
public final class ControlSupport {
  private ControlSupport() {}

  /**
   * The names a certificate gives its holder: the subject's CN, then every DNS subject-alternative
   * name, without repeats. The control API authorises clients by them, as the Raft port matches
   * them against member ids.
   */
  public static List<String> certificateNames(X509Certificate certificate) {
    return CertificateNames.of(Objects.requireNonNull(certificate, "certificate"));
  }

  /**
   * Maintenance mode as the control server of {@code node}'s process sets it: like {@code
   * node.cluster().maintenance(on, reason)}, with the asking client's certificate name ({@code
   * client}, empty: none) recorded beside the member, which the API has no parameter for (an
   * embedder names no client).
   */
  public static Maintenance maintenance(BatonNode node, boolean on, String reason, String client) {
    return NodeMaintenance.set(node, on, reason, client);
  }

  /**
   * Whether {@code node}'s Raft port runs on certificates from the operator's PKI: its control
   * server then refuses to start plaintext by default.
   */
  public static boolean raftPortOnCertificates(BatonNode node) {
    return NodeSecurity.of(node) instanceof RaftSecurity.Certificates;
  }

  /**
   * The cluster secret {@code node}'s Raft port runs on, with the secrets it accepts during a
   * rotation; empty when the port runs on certificates or plaintext. Its control server takes it by
   * default, so that the control API is authenticated whenever the Raft port is.
   */
  public static Optional<RaftPortSecret> raftPortSecret(BatonNode node) {
    if (NodeSecurity.of(node) instanceof RaftSecurity.SharedSecret own) {
      return Optional.of(new RaftPortSecret(own.secret(), own.accepted(), own.source()));
    }
    return Optional.empty();
  }

  /**
   * A node's cluster secret, as {@link #raftPortSecret} hands it to the node's control server.
   *
   * @param secret the secret's bytes (never logged; not in {@link #toString})
   * @param accepted further secrets whose holders are accepted (a rotation)
   * @param source where the secret came from, for messages (a file name, never the content)
   */
  public record RaftPortSecret(byte[] secret, List<byte[]> accepted, String source) {
    public RaftPortSecret {
      Objects.requireNonNull(secret, "secret");
      accepted = List.copyOf(accepted);
      Objects.requireNonNull(source, "source");
    }

    @Override
    public String toString() {
      return "RaftPortSecret[" + source + (accepted.isEmpty() ? "" : ", +" + accepted.size()) + "]";
    }
  }

  /**
   * The control API's mutual TLS when the cluster runs on a cluster secret (no PKI): the keys are
   * derived from the secret and the cluster id the way the Raft port's are. Derivation (PBKDF2)
   * runs here, once: keep the result, not the call, on a connection's path.
   *
   * @param secret this side's secret: its keys are presented, and its holders accepted
   * @param accepted more secrets whose holders are accepted (a rotation)
   * @param source where the secret came from, for messages (never its content)
   */
  public static SecretTls secretTls(
      String clusterId, byte[] secret, List<byte[]> accepted, String source) {
    return new SecretTls(new SecretControlTls(clusterId, secret, accepted, source));
  }

  /**
   * Key and trust managers for the control API from a cluster secret: a node presents the key
   * derived for its member id, a client the key derived for its client name, and each side accepts
   * the other only if its certificate's key is the one the secret gives to a name in it.
   */
  public static final class SecretTls {
    private final SecretControlTls tls;

    private SecretTls(SecretControlTls tls) {
      this.tls = tls;
    }

    /** Key managers that present member {@code nodeId}'s derived key, serving on {@code host}. */
    public KeyManager[] memberKeyManagers(String nodeId, String host) {
      return tls.memberKeyManagers(nodeId, host);
    }

    /** Key managers that present control-API client {@code name}'s derived key. */
    public KeyManager[] clientKeyManagers(String name) {
      return tls.clientKeyManagers(name);
    }

    /** For a node's control server: accepts clients, and members (a peer's health probe). */
    public X509ExtendedTrustManager serverTrust() {
      return tls.serverTrust();
    }

    /** For a client of a node: accepts a server that holds a member key. */
    public X509ExtendedTrustManager clientTrust() {
      return tls.clientTrust();
    }

    @Override
    public String toString() {
      return "SecretTls[" + tls.source() + "]";
    }
  }
}
