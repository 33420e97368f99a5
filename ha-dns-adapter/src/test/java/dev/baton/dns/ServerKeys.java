package dev.baton.dns;

import dev.baton.testing.dns.AuthoritativeDnsServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The keys of a test's DNS server as the adapter's {@link TsigKey}: the fixture ({@code
 * baton-testing}, which does not depend on this module) hands out {@code tsig-keygen} key files by
 * algorithm name, read here with {@link TsigKey#fromBindKeyFile}, as a user's key file is.
 */
final class ServerKeys {
  private ServerKeys() {}

  /** The hmac-sha256 key allowed to update the server's dynamic zone. */
  static TsigKey updateKey(AuthoritativeDnsServer server) {
    return updateKey(server, TsigAlgorithm.HMAC_SHA256);
  }

  /** The key of {@code algorithm} allowed to update the server's dynamic zone. */
  static TsigKey updateKey(AuthoritativeDnsServer server, TsigAlgorithm algorithm) {
    return read(server.keyFile(algorithm.bindName()));
  }

  /** A key the server knows (signed queries verify) but that may update no zone. */
  static TsigKey keyWithoutUpdateRights(AuthoritativeDnsServer server) {
    return read(server.keyFileWithoutUpdateRights());
  }

  private static TsigKey read(Path file) {
    try {
      return TsigKey.fromBindKeyFile(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the TSIG key file " + file, e);
    }
  }
}
