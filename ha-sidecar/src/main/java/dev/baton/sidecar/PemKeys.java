package dev.baton.sidecar;

import dev.baton.sidecar.config.SidecarConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** An {@link SSLContext} for the HTTPS endpoints from PEM files, with the JDK alone. */
final class PemKeys {
  private PemKeys() {}

  static SSLContext sslContext(SidecarConfig.HttpTls tls) {
    try {
      Collection<? extends Certificate> chain;
      try (InputStream in = Files.newInputStream(tls.certificateChain())) {
        chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      if (chain.isEmpty()) {
        throw new IllegalArgumentException(
            "http.tls.certificateChain: " + tls.certificateChain() + " holds no certificate");
      }
      PrivateKey key = privateKey(tls);
      char[] password = new char[0];
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("http", key, password, chain.toArray(Certificate[]::new));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(store, password);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (IOException e) {
      throw new UncheckedIOException("http.tls: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "http.tls: the certificate chain "
              + tls.certificateChain()
              + " or the private key "
              + tls.privateKey()
              + " cannot be used: "
              + e.getMessage(),
          e);
    }
  }

  private static PrivateKey privateKey(SidecarConfig.HttpTls tls)
      throws IOException, GeneralSecurityException {
    String pem = Files.readString(tls.privateKey(), StandardCharsets.US_ASCII);
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      // The path only: the file's content is a secret.
      throw new IllegalArgumentException(
          "http.tls.privateKey: "
              + tls.privateKey()
              + " is not a PEM PKCS#8 key (BEGIN PRIVATE KEY); convert it with"
              + " openssl pkcs8 -topk8 -nocrypt");
    }
    byte[] der =
        Base64.getMimeDecoder()
            .decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    GeneralSecurityException last = null;
    for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException e) {
        last = e;
      }
    }
    throw last;
  }
}
