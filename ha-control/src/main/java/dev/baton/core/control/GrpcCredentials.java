package dev.baton.core.control;

import dev.baton.core.TlsConfig;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * One job: the gRPC credentials of the control API, for its server, for a member probing its peers
 * and for a client, from PEM files ({@link TlsConfig}, plaintext when null) or from keys derived
 * from the cluster secret ({@link ClusterSecretCredentials}).
 */
final class GrpcCredentials {
  private GrpcCredentials() {}

  static ServerCredentials server(@Nullable TlsConfig tls) throws IOException {
    if (tls == null) {
      return InsecureServerCredentials.create();
    }
    return TlsServerCredentials.newBuilder()
        .keyManager(tls.certificateChain().toFile(), tls.privateKey().toFile())
        .trustManager(tls.trustedCertificates().toFile())
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
  }

  static ChannelCredentials channel(@Nullable TlsConfig tls) throws IOException {
    if (tls == null) {
      return InsecureChannelCredentials.create();
    }
    return TlsChannelCredentials.newBuilder()
        .keyManager(tls.certificateChain().toFile(), tls.privateKey().toFile())
        .trustManager(tls.trustedCertificates().toFile())
        .build();
  }

  static ServerCredentials secretServer(
      ClusterSecretCredentials secret, String nodeId, String host) {
    return TlsServerCredentials.newBuilder()
        .keyManager(secret.tls().memberKeyManagers(nodeId, host))
        .trustManager(secret.tls().serverTrust())
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
  }

  /** A member's credentials as a client of its peers (the health probe). */
  static ChannelCredentials secretChannel(
      ClusterSecretCredentials secret, String nodeId, String host) {
    return TlsChannelCredentials.newBuilder()
        .keyManager(secret.tls().memberKeyManagers(nodeId, host))
        .trustManager(secret.tls().clientTrust())
        .build();
  }

  /** A control-API client's credentials: the key derived for {@code clientName}. */
  static ChannelCredentials secretClient(ClusterSecretCredentials secret, String clientName) {
    return TlsChannelCredentials.newBuilder()
        .keyManager(secret.tls().clientKeyManagers(clientName))
        .trustManager(secret.tls().clientTrust())
        .build();
  }
}
