package dev.baton.core;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Mutual TLS for the Raft transport: every node presents {@code certificateChain} and trusts peers
 * whose certificates chain to {@code trustedCertificates}. PEM files.
 */
public record TlsConfig(Path certificateChain, Path privateKey, Path trustedCertificates) {
  public TlsConfig {
    check(certificateChain, "certificateChain");
    check(privateKey, "privateKey");
    check(trustedCertificates, "trustedCertificates");
  }

  private static void check(Path p, String name) {
    if (p == null) {
      throw new IllegalArgumentException("tls." + name + " must be set");
    }
    if (!Files.isReadable(p)) {
      throw new IllegalArgumentException("tls." + name + ": file " + p + " is not readable");
    }
  }
}
