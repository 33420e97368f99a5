package dev.baton.core.internal;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * What anyone who holds the cluster secret can compute, in cluster-secret mode: the private key and
 * a certificate of any member id. Tests use it to show that the secret is a root credential.
 */
public final class InsiderKeys {
  private InsiderKeys() {}

  /** A member's identity, as its own node derives it. */
  public record Identity(PrivateKey privateKey, X509Certificate certificate) {}

  public static Identity of(String clusterId, byte[] secret, String memberId, String host) {
    ClusterSecretKeys keys = new ClusterSecretKeys(clusterId, secret);
    return new Identity(keys.keyPair(memberId).getPrivate(), keys.certificate(memberId, host));
  }
}
