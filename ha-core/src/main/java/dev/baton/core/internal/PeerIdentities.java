package dev.baton.core.internal;

import java.security.cert.X509Certificate;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Which member ids a verified peer certificate speaks for, under one of the two TLS modes. */
interface PeerIdentities {

  /** Of {@code current}, the ids {@code leaf} authenticates (empty: none). */
  Set<String> memberIds(X509Certificate leaf, Set<String> current);

  /** How to name the certificate's holder in a log line (never key material). */
  String describe(X509Certificate leaf);

  /** Why a certificate that speaks for no current member is refused, for the log line. */
  String notAMember();

  /** PKI: the certificate chained to the trusted certificates; its CN and DNS SANs name ids. */
  static PeerIdentities byName() {
    return new PeerIdentities() {
      @Override
      public Set<String> memberIds(X509Certificate leaf, Set<String> current) {
        Set<String> ids = new LinkedHashSet<>(CertificateNames.of(leaf));
        ids.retainAll(current);
        return ids;
      }

      @Override
      public String describe(X509Certificate leaf) {
        List<String> names = CertificateNames.of(leaf);
        return "certificate "
            + (names.isEmpty() ? "without names" : "naming " + names)
            + " issued by "
            + leaf.getIssuerX500Principal().getName();
      }

      @Override
      public String notAMember() {
        return "it names no current member (CN or DNS subject-alternative name)";
      }
    };
  }

  /**
   * Cluster secret: the certificate's key must be the key derived for the id from one of the
   * accepted secrets (the node's own first; more than one only during a rotation). Names in it
   * count for nothing: anyone can write a certificate, only a holder of a secret has the key.
   */
  static PeerIdentities byDerivedKey(List<ClusterSecretKeys> accepted) {
    return new PeerIdentities() {
      @Override
      public Set<String> memberIds(X509Certificate leaf, Set<String> current) {
        for (ClusterSecretKeys keys : accepted) {
          for (String id : current) {
            if (keys.isKeyOf(id, leaf.getPublicKey())) {
              return Set.of(id);
            }
          }
        }
        return Set.of();
      }

      @Override
      public String describe(X509Certificate leaf) {
        List<String> names = CertificateNames.of(leaf);
        return "certificate " + (names.isEmpty() ? "without names" : "naming " + names);
      }

      @Override
      public String notAMember() {
        return "its key is not the one the cluster secret gives any current member (the peer"
            + " does not hold this cluster's secret)";
      }
    };
  }
}
