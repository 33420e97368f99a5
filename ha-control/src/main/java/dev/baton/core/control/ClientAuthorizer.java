package dev.baton.core.control;

import dev.baton.core.spi.ControlSupport;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names the client of each call from its verified certificate (the subject's CN and every DNS
 * subject-alternative name) and, with TLS on, refuses the privileged methods (switch-active,
 * maintenance mode and membership changes) to clients whose names are not in the authorised list.
 * Every refusal is logged with the client's names and address. Without TLS no client has a name
 * (and none is authorised for reserved keys, see ControlService), but privileged methods are open,
 * as before. With the cluster secret, every client that completed the handshake proved that it
 * holds the secret, and is authorised for everything.
 */
final class ClientAuthorizer implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(ClientAuthorizer.class);

  /** The names of the calling client, for the service's own messages. */
  static final Context.Key<List<String>> CLIENT_NAMES = Context.key("baton-client-names");

  /** The calling client's address, for the service's own log lines. */
  static final Context.Key<SocketAddress> CLIENT_ADDRESS = Context.key("baton-client-address");

  /** Whether the call is a peer's probe ({@link PeerProbe#HEADER}); false when not set. */
  static final Context.Key<Boolean> PROBE = Context.keyWithDefault("baton-probe", false);

  private static final Set<String> PRIVILEGED =
      Set.of(
          "baton.v1.BatonControl/SwitchActive",
          "baton.v1.BatonControl/Maintenance",
          "baton.v1.BatonControl/AddMember",
          "baton.v1.BatonControl/RemoveMember");

  private final String nodeId;
  private final boolean tls;
  private final Set<String> authorized;
  private final boolean everyAuthenticatedClient;

  ClientAuthorizer(String nodeId, boolean tls, Set<String> authorized) {
    this(nodeId, tls, authorized, false);
  }

  private ClientAuthorizer(
      String nodeId, boolean tls, Set<String> authorized, boolean everyAuthenticatedClient) {
    this.nodeId = nodeId;
    this.tls = tls;
    this.authorized = Set.copyOf(authorized);
    this.everyAuthenticatedClient = everyAuthenticatedClient;
  }

  /**
   * With the cluster secret: the TLS handshake admits only holders of the secret, and each of them
   * is authorised.
   */
  static ClientAuthorizer everyHolderOfTheSecret(String nodeId) {
    return new ClientAuthorizer(nodeId, true, Set.of(), true);
  }

  /** Whether the calling client (a call's {@link #CLIENT_NAMES}) is authorised. */
  boolean authorizes(@Nullable List<String> names) {
    return tls
        && (everyAuthenticatedClient
            || (names != null && names.stream().anyMatch(authorized::contains)));
  }

  /**
   * The name to record for an authorised client ({@code names} of a call that {@link #authorizes}
   * allowed): with certificates, the first of its names that the authorised list holds (the one
   * that let it in); with the cluster secret, the name it gave (any holder may give any). Empty
   * without TLS, where no client has a name.
   */
  String authorizedName(@Nullable List<String> names) {
    if (!tls || names == null || names.isEmpty()) {
      return "";
    }
    if (everyAuthenticatedClient) {
      return names.get(0);
    }
    return names.stream().filter(authorized::contains).findFirst().orElse("");
  }

  Set<String> authorized() {
    return authorized;
  }

  boolean tls() {
    return tls;
  }

  static boolean isPrivileged(String fullMethodName) {
    return PRIVILEGED.contains(fullMethodName);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    List<String> names = session == null ? List.of() : clientNames(session);
    String method = call.getMethodDescriptor().getFullMethodName();
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    if (tls && isPrivileged(method) && !authorizes(names)) {
      String verb = method.substring(method.indexOf('/') + 1);
      LOG.warn(
          "control API on {}: REFUSED {} from client {} at {}: not among the authorised clients {}",
          nodeId,
          verb,
          names.isEmpty() ? "(no certificate names)" : names,
          remote,
          new TreeSet<>(authorized));
      call.close(
          Status.PERMISSION_DENIED.withDescription(
              verb
                  + " refused by node "
                  + nodeId
                  + ": client "
                  + (names.isEmpty() ? "without certificate names" : names.toString())
                  + " is not authorised; the node's tls.authorizedClients lists "
                  + new TreeSet<>(authorized)),
          StatusErrors.notApplied(Status.PERMISSION_DENIED).getTrailers());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(
        Context.current()
            .withValue(CLIENT_NAMES, names)
            .withValue(CLIENT_ADDRESS, remote)
            .withValue(PROBE, headers.containsKey(PeerProbe.HEADER)),
        call,
        headers,
        next);
  }

  /** The subject's CN and every DNS subject-alternative name of the peer's certificate. */
  static List<String> clientNames(SSLSession session) {
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return List.of();
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
      return List.of();
    }
    return certificateNames(cert);
  }

  static List<String> certificateNames(X509Certificate cert) {
    return ControlSupport.certificateNames(cert);
  }
}
