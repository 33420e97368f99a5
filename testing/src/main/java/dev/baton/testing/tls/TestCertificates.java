package dev.baton.testing.tls;

import dev.baton.core.TlsConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for tests: issues PEM certificates and PKCS#8 keys into a
 * directory. Node certificates carry {@code localhost} and {@code 127.0.0.1} as subject-alternative
 * names, so a client connecting to a loopback address verifies them.
 */
public final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private final Path dir;
  private final String name;
  private final KeyPair caKeys;
  private final X509Certificate caCert;
  private final Path caFile;

  private TestCertificates(Path dir, String name) throws GeneralSecurityException, IOException {
    this.dir = dir;
    this.name = name;
    this.caKeys = newKeyPair();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder b = builder(subject, subject, caKeys);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    this.caCert = sign(b, caKeys.getPrivate());
    this.caFile = dir.resolve(name + "-ca.pem");
    writePem(caFile, caCert);
  }

  /** A new authority named {@code name}, writing its files to {@code dir}. */
  public static TestCertificates authority(Path dir, String name) {
    try {
      Files.createDirectories(dir);
      return new TestCertificates(dir, name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The authority's certificate (PEM), to trust. */
  public Path caFile() {
    return caFile;
  }

  /**
   * Issues a certificate with subject CN {@code commonName} (and the loopback names as SANs) and
   * returns a TlsConfig with it, its key, and this authority as the trusted certificate.
   */
  public TlsConfig issue(String commonName) {
    return issue(commonName, true);
  }

  /** A client certificate: subject CN {@code commonName} and no subject-alternative names. */
  public TlsConfig issueClient(String commonName) {
    return issue(commonName, false);
  }

  private TlsConfig issue(String commonName, boolean loopbackNames) {
    try {
      KeyPair keys = newKeyPair();
      X509v3CertificateBuilder b =
          builder(new X500Name("CN=" + name), new X500Name("CN=" + commonName), keys);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      if (loopbackNames) {
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(
                new GeneralName[] {
                  new GeneralName(GeneralName.dNSName, "localhost"),
                  new GeneralName(GeneralName.iPAddress, "127.0.0.1")
                }));
      }
      X509Certificate cert = sign(b, caKeys.getPrivate());
      // One pair of files per issuance: two certificates for one name (an impostor's) issued at
      // once, as TestCluster's parallel start does, must not interleave their cert and key files.
      String stem = name + "-" + commonName + "-" + cert.getSerialNumber();
      Path certFile = dir.resolve(stem + ".pem");
      Path keyFile = dir.resolve(stem + ".key");
      writePem(certFile, cert);
      try (Writer w = Files.newBufferedWriter(keyFile);
          JcaPEMWriter pem = new JcaPEMWriter(w)) {
        pem.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
      }
      return new TlsConfig(certFile, keyFile, caFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(2))),
        subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static void writePem(Path file, Object o) throws IOException {
    try (Writer w = Files.newBufferedWriter(file);
        JcaPEMWriter pem = new JcaPEMWriter(w)) {
      pem.writeObject(o);
    }
  }
}
