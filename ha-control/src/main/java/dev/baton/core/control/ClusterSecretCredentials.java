package dev.baton.core.control;

import dev.baton.core.ClusterSecret;
import dev.baton.core.spi.ControlSupport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The control API's credentials in a cluster that runs on a cluster secret (no PKI): the server and
 * its clients each prove, in a mutual TLS handshake, that they hold the secret, with keys derived
 * from it the way the Raft port's are. Give the same secret file to the node's {@link
 * ControlServer.Builder#clusterSecret control server} and to its {@link
 * BatonClient.Builder#clusterSecret clients} (the CLI reads it from the node's config file).
 *
 * <p>Anyone who holds the secret may do everything a member may: switch the active, change the
 * membership, write keys under {@code baton/}. It is a root credential; with per-person or per-tool
 * rights, use certificates instead ({@link ControlServer.Builder#tls}).
 */
public final class ClusterSecretCredentials {
  private final String clusterId;
  private final byte[] secret;
  private final List<byte[]> accepted;
  private final String source;
  private volatile ControlSupport.@Nullable SecretTls tls; // null: not derived yet

  private ClusterSecretCredentials(
      String clusterId, byte[] secret, List<byte[]> accepted, String source) {
    this.clusterId = clusterId;
    this.secret = secret;
    this.accepted = List.copyOf(accepted);
    this.source = source;
  }

  /**
   * The credentials of cluster {@code clusterId} from the secret in {@code secretFile} (the file
   * the nodes' {@code clusterSecretFile} names).
   *
   * @throws IllegalArgumentException naming the file when it cannot be read or the secret is weak
   */
  public static ClusterSecretCredentials read(String clusterId, Path secretFile) {
    Objects.requireNonNull(secretFile, "secretFile");
    return of(
        clusterId,
        ClusterSecret.read(secretFile, "cluster secret"),
        "file " + secretFile.toString());
  }

  /**
   * The credentials of cluster {@code clusterId} from the secret's bytes.
   *
   * @param source where the bytes came from, for messages (a variable's name, never the secret)
   * @throws IllegalArgumentException naming the source when the secret is weak
   */
  public static ClusterSecretCredentials of(String clusterId, byte[] secret, String source) {
    if (clusterId == null || clusterId.isBlank()) {
      throw new IllegalArgumentException(
          "cluster secret credentials: the cluster id must be given (the keys are derived from"
              + " the secret and the cluster id)");
    }
    Objects.requireNonNull(secret, "secret");
    check(secret, source);
    return new ClusterSecretCredentials(clusterId, secret.clone(), List.of(), source);
  }

  /**
   * The credentials of a node's own Raft port: its secret, and the secrets it accepts during a
   * rotation. For the node's control server, which takes them when given none of its own.
   */
  static ClusterSecretCredentials ofNode(
      String clusterId, byte[] secret, List<byte[]> accepted, String source) {
    return new ClusterSecretCredentials(clusterId, secret.clone(), accepted, source);
  }

  /**
   * These credentials, also accepting the holders of the secret in {@code otherSecretFile}: during
   * a rotation, as the nodes' {@code acceptClusterSecretFiles}.
   */
  public ClusterSecretCredentials accepting(Path otherSecretFile) {
    byte[] other = ClusterSecret.read(otherSecretFile, "accepted cluster secret");
    check(other, "file " + otherSecretFile);
    List<byte[]> all = new ArrayList<>(accepted);
    all.add(other);
    return new ClusterSecretCredentials(clusterId, secret, all, source);
  }

  /** The cluster whose keys these are. */
  public String clusterId() {
    return clusterId;
  }

  /** Where the secret came from (never its content). */
  public String source() {
    return source;
  }

  ControlSupport.SecretTls tls() {
    ControlSupport.SecretTls t = tls;
    if (t == null) {
      // PBKDF2 runs here, once per secret: not on every connection.
      t = ControlSupport.secretTls(clusterId, secret, accepted, source);
      tls = t;
    }
    return t;
  }

  private static void check(byte[] secret, String source) {
    Optional<String> weakness = ClusterSecret.weakness(secret);
    if (weakness.isPresent()) {
      throw new IllegalArgumentException(
          "cluster secret ("
              + source
              + "): "
              + weakness.get()
              + ". Generate one with: openssl rand -base64 32");
    }
  }

  @Override
  public String toString() {
    return "ClusterSecretCredentials["
        + clusterId
        + ", "
        + source
        + (accepted.isEmpty() ? "" : ", +" + accepted.size())
        + "]";
  }
}
