package dev.baton.core.control;

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
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * With TLS on, names the client of each call from its verified certificate (the subject's CN and
 * every DNS subject-alternative name) and refuses the privileged methods (switch-active and
 * membership changes) to clients whose names are not in the authorised list. Every refusal is
 * logged with the client's names and address.
 */
final class ClientAuthorizer implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(ClientAuthorizer.class);

  /** The names of the calling client, for the service's own messages. */
  static final Context.Key<List<String>> CLIENT_NAMES = Context.key("baton-client-names");

  private static final Set<String> PRIVILEGED =
      Set.of(
          "baton.v1.BatonControl/SwitchActive",
          "baton.v1.BatonControl/AddMember",
          "baton.v1.BatonControl/RemoveMember");

  private final String nodeId;
  private final Set<String> authorized;

  ClientAuthorizer(String nodeId, Set<String> authorized) {
    this.nodeId = nodeId;
    this.authorized = Set.copyOf(authorized);
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
    if (isPrivileged(method) && names.stream().noneMatch(authorized::contains)) {
      SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
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
        Context.current().withValue(CLIENT_NAMES, names), call, headers, next);
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
    Set<String> names = new LinkedHashSet<>();
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          names.add(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      // no usable subject; the SANs may still name the client
    }
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          // 2 = dNSName (RFC 5280, 4.2.1.6)
          if (san.size() >= 2 && Integer.valueOf(2).equals(san.get(0))) {
            names.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // ignore malformed SANs: they cannot authorise anyone
    }
    return new ArrayList<>(names);
  }
}
