package dev.baton.core.internal;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jspecify.annotations.Nullable;

/**
 * Judges every TLS handshake on the Raft transport, both ends: a peer is accepted only if its
 * certificate authenticates a current member ({@link MemberDirectory}). With a PKI the chain must
 * first verify against the trusted certificates (and, on the client side, the host name, as
 * before); with the cluster secret the key itself must be the one derived for the member.
 *
 * <p>As a client (dialling a peer's Raft address) it also requires that the certificate be that of
 * the member at the dialled address, so a member cannot answer in another member's place. As a
 * server it cannot know who is calling; {@link RaftPortGuard} then checks that each server RPC's
 * sender is a member the certificate speaks for.
 */
final class MemberTrustManager extends X509ExtendedTrustManager {
  private final String selfId;
  private final @Nullable X509ExtendedTrustManager chain;
  private final PeerIdentities identities;
  private final MemberDirectory directory;
  private final RefusalLog log;
  private final Runnable refusedCounter;

  /**
   * @param chain the PKIX trust manager of the trusted certificates, or null for the cluster-secret
   *     mode (the key is pinned instead)
   */
  MemberTrustManager(
      String selfId,
      @Nullable X509ExtendedTrustManager chain,
      PeerIdentities identities,
      MemberDirectory directory,
      RefusalLog log,
      Runnable refusedCounter) {
    this.selfId = selfId;
    this.chain = chain;
    this.identities = identities;
    this.directory = directory;
    this.log = log;
    this.refusedCounter = refusedCounter;
  }

  // ---------------------------------------------------------------- incoming connections

  @Override
  public void checkClientTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
      throws CertificateException {
    if (chain != null) {
      try {
        chain.checkClientTrusted(certs, authType, engine);
      } catch (CertificateException e) {
        throw refuse(certs, "incoming", "it does not verify against the trusted certificates", e);
      }
    }
    requireMember(certs, Optional.empty(), "incoming");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] certs, String authType, Socket socket)
      throws CertificateException {
    if (chain != null) {
      try {
        chain.checkClientTrusted(certs, authType, socket);
      } catch (CertificateException e) {
        throw refuse(certs, "incoming", "it does not verify against the trusted certificates", e);
      }
    }
    requireMember(certs, Optional.empty(), "incoming");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] certs, String authType)
      throws CertificateException {
    if (chain != null) {
      try {
        chain.checkClientTrusted(certs, authType);
      } catch (CertificateException e) {
        throw refuse(certs, "incoming", "it does not verify against the trusted certificates", e);
      }
    }
    requireMember(certs, Optional.empty(), "incoming");
  }

  // ---------------------------------------------------------------- outgoing connections

  @Override
  public void checkServerTrusted(X509Certificate[] certs, String authType, SSLEngine engine)
      throws CertificateException {
    String dialled = engine == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort();
    if (chain != null) {
      try {
        chain.checkServerTrusted(certs, authType, engine);
      } catch (CertificateException e) {
        throw refuse(
            certs, "to " + dialled, "it does not verify against the trusted certificates", e);
      }
    }
    Optional<String> expected =
        engine == null
            ? Optional.empty()
            : directory.idAt(engine.getPeerHost(), engine.getPeerPort());
    requireMember(certs, expected, "to " + dialled);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] certs, String authType, Socket socket)
      throws CertificateException {
    if (chain != null) {
      try {
        chain.checkServerTrusted(certs, authType, socket);
      } catch (CertificateException e) {
        throw refuse(certs, "outgoing", "it does not verify against the trusted certificates", e);
      }
    }
    requireMember(certs, Optional.empty(), "outgoing");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] certs, String authType)
      throws CertificateException {
    if (chain != null) {
      try {
        chain.checkServerTrusted(certs, authType);
      } catch (CertificateException e) {
        throw refuse(certs, "outgoing", "it does not verify against the trusted certificates", e);
      }
    }
    requireMember(certs, Optional.empty(), "outgoing");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return chain == null ? new X509Certificate[0] : chain.getAcceptedIssuers();
  }

  private void requireMember(X509Certificate[] certs, Optional<String> expected, String direction)
      throws CertificateException {
    if (certs == null || certs.length == 0) {
      throw refuse(certs, direction, "it presented no certificate", null);
    }
    Set<String> current = directory.ids();
    Set<String> ids = identities.memberIds(certs[0], current);
    if (expected.isPresent()) {
      if (!ids.contains(expected.get())) {
        throw refuse(
            certs,
            direction,
            "the member at that address is "
                + expected.get()
                + " but the certificate speaks for "
                + (ids.isEmpty() ? "no current member" : new TreeSet<>(ids)),
            null);
      }
    } else if (ids.isEmpty()) {
      throw refuse(
          certs, direction, identities.notAMember() + "; members: " + new TreeSet<>(current), null);
    }
  }

  private CertificateException refuse(
      X509Certificate @Nullable [] certs,
      String direction,
      String why,
      @Nullable CertificateException cause) {
    refusedCounter.run();
    String holder = certs == null || certs.length == 0 ? "a peer" : identities.describe(certs[0]);
    String message =
        "Raft port of "
            + selfId
            + ": REFUSED a TLS connection ("
            + direction
            + ") from "
            + holder
            + ": "
            + why
            + (cause == null ? "" : " (" + cause.getMessage() + ")");
    log.refused(direction + "|" + holder + "|" + why, () -> message);
    CertificateException e = new CertificateException(message);
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }
}
