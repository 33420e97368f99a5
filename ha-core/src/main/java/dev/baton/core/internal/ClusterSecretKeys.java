package dev.baton.core.internal;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * One EC P-256 key pair per member id, derived from the cluster secret, so that a cluster needs no
 * PKI to authenticate its Raft port: every member can compute every member's public key and pins
 * it, and only a holder of the secret can compute a private key.
 *
 * <p>Derivation: {@code master = PBKDF2-HMAC-SHA256(secret, "baton-raft-v1:" + clusterId, 65536)};
 * a member's private scalar is {@code HMAC-SHA512(master, "member:" + id) mod (n - 1) + 1}, whose
 * 512 bits make the bias of the reduction negligible. The work factor slows a guess at a weak
 * secret from a captured public key; it does not make a weak secret strong, which is why the secret
 * must have at least {@value #MIN_SECRET_BYTES} bytes (generate it: {@code openssl rand -base64
 * 32}). The cluster id salts the derivation, so two clusters that share a secret still have
 * different keys.
 */
final class ClusterSecretKeys {
  static final int MIN_SECRET_BYTES = 32;
  private static final int PBKDF2_ITERATIONS = 65_536;
  private static final Pattern IP_LITERAL = Pattern.compile("[0-9.]+|.*:.*");

  private final X9ECParameters curve = ECNamedCurveTable.getByName("secp256r1");
  private final ECParameterSpec jdkParams;
  private final byte[] master;
  private final Map<String, KeyPair> keys = new ConcurrentHashMap<>();

  ClusterSecretKeys(String clusterId, byte[] secret) {
    if (secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "the cluster secret has "
              + secret.length
              + " bytes; it needs at least "
              + MIN_SECRET_BYTES
              + " random bytes (e.g. openssl rand -base64 32)");
    }
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec("secp256r1"));
      this.jdkParams = p.getParameterSpec(ECParameterSpec.class);
      // PBKDF2 takes characters; base64 maps any secret bytes to them one to one.
      char[] password = Base64.getEncoder().encodeToString(secret).toCharArray();
      byte[] salt = ("baton-raft-v1:" + clusterId).getBytes(StandardCharsets.UTF_8);
      this.master =
          SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
              .generateSecret(new PBEKeySpec(password, salt, PBKDF2_ITERATIONS, 256))
              .getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot derive the cluster's keys: " + e, e);
    }
  }

  /** The key pair of member {@code id}. */
  KeyPair keyPair(String id) {
    return keys.computeIfAbsent("member:" + id, this::derive);
  }

  /**
   * The key pair of control-API client {@code name} (the CLI, a tool): derived under its own label,
   * so that a client key is never a member's key, whatever the two are called.
   */
  KeyPair clientKeyPair(String name) {
    return keys.computeIfAbsent("client:" + name, this::derive);
  }

  /** Whether {@code key} is the public key derived for member {@code id}. */
  boolean isKeyOf(String id, PublicKey key) {
    return same(key, keyPair(id));
  }

  /** Whether {@code key} is the public key derived for control-API client {@code name}. */
  boolean isClientKeyOf(String name, PublicKey key) {
    return same(key, clientKeyPair(name));
  }

  private static boolean same(PublicKey key, KeyPair pair) {
    if (!(key instanceof ECPublicKey ec)) {
      return false;
    }
    ECPublicKey expected = (ECPublicKey) pair.getPublic();
    return ec.getW().equals(expected.getW())
        && ec.getParams().getCurve().equals(expected.getParams().getCurve());
  }

  private KeyPair derive(String label) {
    try {
      Mac mac = Mac.getInstance("HmacSHA512");
      mac.init(new SecretKeySpec(master, "HmacSHA512"));
      byte[] h = mac.doFinal(label.getBytes(StandardCharsets.UTF_8));
      BigInteger n = curve.getN();
      BigInteger d = new BigInteger(1, h).mod(n.subtract(BigInteger.ONE)).add(BigInteger.ONE);
      org.bouncycastle.math.ec.ECPoint q = curve.getG().multiply(d).normalize();
      KeyFactory kf = KeyFactory.getInstance("EC");
      return new KeyPair(
          kf.generatePublic(
              new ECPublicKeySpec(
                  new ECPoint(
                      q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger()),
                  jdkParams)),
          kf.generatePrivate(new ECPrivateKeySpec(d, jdkParams)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot derive the key of " + label + ": " + e, e);
    }
  }

  /**
   * A self-signed certificate for member {@code id}'s derived key. Peers pin the key, not the
   * certificate; its subject (CN and a DNS name: the member id) says whose key it is, and {@code
   * host} (the member's Raft host) is added so that a TLS client that verifies host names accepts
   * it.
   */
  X509Certificate certificate(String id, String host) {
    return certificate(id, host, keyPair(id));
  }

  /** A self-signed certificate for control-API client {@code name}'s derived key. */
  X509Certificate clientCertificate(String name) {
    return certificate(name, name, clientKeyPair(name));
  }

  private X509Certificate certificate(String id, String host, KeyPair keys) {
    Instant now = Instant.now();
    X500Name subject = new X500Name("CN=" + id);
    try {
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              BigInteger.valueOf(now.toEpochMilli()),
              Date.from(now.minus(Duration.ofDays(1))),
              Date.from(now.plus(Duration.ofDays(365L * 50))),
              subject,
              keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      GeneralName hostName =
          IP_LITERAL.matcher(host).matches() && isAddress(host)
              ? new GeneralName(GeneralName.iPAddress, host)
              : new GeneralName(GeneralName.dNSName, host);
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(new GeneralName[] {new GeneralName(GeneralName.dNSName, id), hostName}));
      return new JcaX509CertificateConverter()
          .getCertificate(
              b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("cannot make the certificate of member " + id + ": " + e, e);
    }
  }

  private static boolean isAddress(String host) {
    try {
      // A literal: no lookup happens.
      InetAddress.getByName(host);
      return true;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
