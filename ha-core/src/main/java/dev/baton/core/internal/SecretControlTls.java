package dev.baton.core.internal;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The control API's mutual TLS when the cluster runs on a cluster secret: no PKI, the same keys as
 * the Raft port. A node presents the key derived for its member id; a client (the CLI, a tool)
 * presents the key derived for its client name under a label of its own. Each side accepts the
 * other only if the certificate's key is the one the secret gives to a name in that certificate, so
 * a completed handshake proves that the other side holds the secret. Anyone who holds the secret
 * holds the cluster: the secret is a root credential (docs/operations/deployment.md).
 *
 * <p>During a rotation every secret the node accepts on its Raft port is accepted here too, while
 * each side presents the key of its own (first) secret.
 */
public final class SecretControlTls {
  private final List<ClusterSecretKeys> keys;
  private final String source;

  /**
   * @param clusterId salts the derivation, as on the Raft port
   * @param secret this side's secret: its keys are presented, and its holders accepted
   * @param accepted more secrets whose holders are accepted (a rotation)
   * @param source where the secret came from, for messages (never its content)
   */
  public SecretControlTls(String clusterId, byte[] secret, List<byte[]> accepted, String source) {
    List<ClusterSecretKeys> all = new ArrayList<>();
    all.add(new ClusterSecretKeys(clusterId, secret));
    for (byte[] other : accepted) {
      all.add(new ClusterSecretKeys(clusterId, other));
    }
    this.keys = List.copyOf(all);
    this.source = source;
  }

  /** Where the secret came from (a file name, never the content). */
  public String source() {
    return source;
  }

  /** The key managers that present member {@code nodeId}'s derived key, serving on {@code host}. */
  public KeyManager[] memberKeyManagers(String nodeId, String host) {
    ClusterSecretKeys own = keys.get(0);
    return keyManagers(own.keyPair(nodeId), own.certificate(nodeId, host));
  }

  /** The key managers that present control-API client {@code name}'s derived key. */
  public KeyManager[] clientKeyManagers(String name) {
    ClusterSecretKeys own = keys.get(0);
    return keyManagers(own.clientKeyPair(name), own.clientCertificate(name));
  }

  /**
   * For a node's control server: accepts clients that hold a client key or a member key (a peer's
   * health probe) derived from an accepted secret.
   */
  public X509ExtendedTrustManager serverTrust() {
    return new Trust(true);
  }

  /** For a client of a node: accepts a server that holds a member key from an accepted secret. */
  public X509ExtendedTrustManager clientTrust() {
    return new Trust(false);
  }

  /** The name {@code leaf} proves, or empty: the key must be the one derived for that name. */
  Optional<String> provenName(X509Certificate leaf, boolean clientsToo) {
    for (String name : CertificateNames.of(leaf)) {
      for (ClusterSecretKeys k : keys) {
        if (k.isKeyOf(name, leaf.getPublicKey())
            || (clientsToo && k.isClientKeyOf(name, leaf.getPublicKey()))) {
          return Optional.of(name);
        }
      }
    }
    return Optional.empty();
  }

  private static KeyManager[] keyManagers(KeyPair pair, X509Certificate cert) {
    try {
      char[] none = new char[0];
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("baton", pair.getPrivate(), none, new X509Certificate[] {cert});
      KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      f.init(store, none);
      return f.getKeyManagers();
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot hold the derived key in a key store: " + e, e);
    }
  }

  private final class Trust extends X509ExtendedTrustManager {
    private final boolean clientsToo;

    Trust(boolean clientsToo) {
      this.clientsToo = clientsToo;
    }

    private void check(X509Certificate[] chain, String who) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("control API: the " + who + " presented no certificate");
      }
      if (provenName(chain[0], clientsToo).isEmpty()) {
        List<String> names = CertificateNames.of(chain[0]);
        throw new CertificateException(
            "control API: REFUSED the "
                + who
                + "'s certificate "
                + (names.isEmpty() ? "without names" : "naming " + names)
                + ": its key is not one that the cluster secret ("
                + source
                + ") gives to "
                + (clientsToo ? "a member or a client" : "a member")
                + " of that name (the "
                + who
                + " does not hold this cluster's secret, or belongs to another cluster)");
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, "client");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, "client");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, "client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, "server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, "server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, "server");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
