package dev.baton.core.internal;

import dev.baton.core.BatonException;
import dev.baton.core.TlsConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.security.TlsConf;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft port's security as Ratis needs it: the TLS configuration of every channel (null when
 * insecure) and the interceptor every incoming call passes.
 */
final class RaftTransport {
  private static final Logger LOG = LoggerFactory.getLogger(RaftPortGuard.class);

  final @Nullable GrpcTlsConfig tls;
  final RaftPortGuard guard;

  private RaftTransport(@Nullable GrpcTlsConfig tls, RaftPortGuard guard) {
    this.tls = tls;
    this.guard = guard;
  }

  static RaftTransport create(
      NodeConfig config, MemberDirectory directory, Consumer<String> refusedCounter) {
    String self = config.self().id();
    RefusalLog log = new RefusalLog(LOG);
    Runnable handshakeRefused = () -> refusedCounter.accept("handshake");
    RaftSecurity security = config.security();
    if (security instanceof RaftSecurity.Certificates c) {
      TlsConfig files = c.files();
      PeerIdentities identities = PeerIdentities.byName();
      MemberTrustManager trust =
          new MemberTrustManager(self, pkix(files), identities, directory, log, handshakeRefused);
      GrpcTlsConfig tls =
          GrpcTlsConfig.newBuilder()
              .setPrivateKey(new TlsConf.PrivateKeyConf(files.privateKey().toFile()))
              .setKeyCertificates(new TlsConf.CertificatesConf(files.certificateChain().toFile()))
              .setTrustManager(trust)
              .setMutualTls(true)
              .build();
      return new RaftTransport(
          tls, new RaftPortGuard(self, true, identities, directory, log, refusedCounter));
    }
    if (security instanceof RaftSecurity.SharedSecret s) {
      ClusterSecretKeys keys = new ClusterSecretKeys(config.clusterId(), s.secret());
      List<ClusterSecretKeys> accepted = new ArrayList<>(List.of(keys));
      for (byte[] other : s.accepted()) {
        accepted.add(new ClusterSecretKeys(config.clusterId(), other));
      }
      PeerIdentities identities = PeerIdentities.byDerivedKey(accepted);
      MemberTrustManager trust =
          new MemberTrustManager(self, null, identities, directory, log, handshakeRefused);
      X509Certificate cert = keys.certificate(self, config.self().host());
      GrpcTlsConfig tls =
          GrpcTlsConfig.newBuilder()
              .setPrivateKey(new TlsConf.PrivateKeyConf(keys.keyPair(self).getPrivate()))
              .setKeyCertificates(new TlsConf.CertificatesConf(cert))
              .setTrustManager(trust)
              .setMutualTls(true)
              .build();
      return new RaftTransport(
          tls, new RaftPortGuard(self, true, identities, directory, log, refusedCounter));
    }
    return new RaftTransport(
        null,
        new RaftPortGuard(self, false, PeerIdentities.byName(), directory, log, refusedCounter));
  }

  /** The standard PKIX checks against the trusted certificates file. */
  private static X509ExtendedTrustManager pkix(TlsConfig files) {
    try (InputStream in = Files.newInputStream(files.trustedCertificates())) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("trusted-" + i++, c);
      }
      if (i == 0) {
        throw new BatonException(
            "tls.trustedCertificates: " + files.trustedCertificates() + " holds no certificate");
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
      f.init(store);
      for (TrustManager m : f.getTrustManagers()) {
        if (m instanceof X509ExtendedTrustManager x) {
          return x;
        }
      }
      throw new BatonException("this JVM has no PKIX X509ExtendedTrustManager");
    } catch (IOException | GeneralSecurityException e) {
      throw new BatonException(
          "tls.trustedCertificates: cannot read " + files.trustedCertificates() + ": " + e, e);
    }
  }
}
