package dev.baton.core.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.InstallSnapshotRequestProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.ReadIndexRequestProto;
import org.apache.ratis.proto.RaftProtos.RequestVoteRequestProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.proto.grpc.AdminProtocolServiceGrpc;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * Every call on the Raft port passes here first (installed on Ratis's gRPC server through its
 * services customizer).
 *
 * <ul>
 *   <li>The Ratis <b>admin</b> service (setConfiguration, transferLeadership, leader election and
 *       snapshot management, group management, group list) is refused to every caller, members
 *       included, in every mode: Baton calls those in-process on the leader, so nothing legitimate
 *       ever arrives over the network, and a reconfiguration or transfer from outside would break
 *       the member list and the lease argument (a transfer skips pre-vote). The one exception is
 *       the read-only {@code groupInfo}, which a node with an empty data directory and {@code
 *       bootstrap} set sends its peers to learn whether the cluster already has a log ({@link
 *       BootstrapProbe}): with TLS it passes the same member checks as every other call (a verified
 *       certificate that speaks for a current member); over an insecure transport it is served to
 *       anyone, like everything else there.
 *   <li>With TLS, a call is served only if the connection's verified certificate still speaks for a
 *       current member: checked on every call, so a member removed while its connection stays open
 *       is shut out at once.
 *   <li>With TLS, each <b>server</b> RPC (append, vote, install snapshot, start election, read
 *       index) must name as its sender a member the certificate speaks for: a member cannot vote or
 *       lead in another member's name.
 * </ul>
 *
 * Each refusal answers PERMISSION_DENIED and is logged (at most once a minute per peer and kind).
 */
final class RaftPortGuard implements ServerInterceptor {
  private static final String ADMIN = AdminProtocolServiceGrpc.SERVICE_NAME;
  private static final String SERVER = RaftServerProtocolServiceGrpc.SERVICE_NAME;
  private static final String GROUP_INFO =
      AdminProtocolServiceGrpc.getGroupInfoMethod().getBareMethodName();

  private final String selfId;
  private final boolean authenticated;
  private final PeerIdentities identities;
  private final MemberDirectory directory;
  private final RefusalLog log;
  private final Consumer<String> refusedCounter;
  private final Cache<SSLSession, X509Certificate> leaves =
      Caffeine.newBuilder().weakKeys().maximumSize(10_000).build();

  RaftPortGuard(
      String selfId,
      boolean authenticated,
      PeerIdentities identities,
      MemberDirectory directory,
      RefusalLog log,
      Consumer<String> refusedCounter) {
    this.selfId = selfId;
    this.authenticated = authenticated;
    this.identities = identities;
    this.directory = directory;
    this.log = log;
    this.refusedCounter = refusedCounter;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String service = call.getMethodDescriptor().getServiceName();
    String method = call.getMethodDescriptor().getBareMethodName();
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    if (ADMIN.equals(service) && !GROUP_INFO.equals(method)) {
      return refuse(
          call,
          "admin",
          remote,
          "",
          "the Raft admin call "
              + method
              + " is served to nobody over the network (Baton changes membership and leadership"
              + " in-process on the leader; use switch-active or members add/remove; only the"
              + " read-only groupInfo is served, to members)");
    }
    if (!authenticated) {
      return next.startCall(call, headers);
    }
    X509Certificate leaf = leaf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (leaf == null) {
      return refuse(
          call, "no-certificate", remote, "", "the connection has no verified certificate");
    }
    Set<String> current = directory.ids();
    Set<String> ids = identities.memberIds(leaf, current);
    if (ids.isEmpty()) {
      return refuse(
          call,
          "not-a-member",
          remote,
          identities.describe(leaf),
          identities.describe(leaf)
              + ": "
              + identities.notAMember()
              + "; members: "
              + new TreeSet<>(current));
    }
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    if (!SERVER.equals(service)) {
      return listener;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      private boolean closed;

      @Override
      public void onMessage(Q message) {
        if (closed) {
          return;
        }
        String sender = sender(message);
        if (sender != null && !ids.contains(sender)) {
          closed = true;
          refuseOpen(
              call,
              "impersonation",
              remote,
              identities.describe(leaf),
              method
                  + " in the name of member "
                  + sender
                  + " over a connection whose "
                  + identities.describe(leaf)
                  + " speaks for "
                  + new TreeSet<>(ids));
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!closed) {
          super.onHalfClose();
        }
      }
    };
  }

  private @Nullable X509Certificate leaf(@Nullable SSLSession session) {
    if (session == null) {
      return null;
    }
    return leaves.get(
        session,
        s -> {
          try {
            Certificate[] chain = s.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
          } catch (SSLPeerUnverifiedException e) {
            return null;
          }
        });
  }

  /** The member a server RPC says it comes from. */
  private static @Nullable String sender(Object message) {
    RaftRpcRequestProto r;
    if (message instanceof AppendEntriesRequestProto m) {
      r = m.getServerRequest();
    } else if (message instanceof RequestVoteRequestProto m) {
      r = m.getServerRequest();
    } else if (message instanceof InstallSnapshotRequestProto m) {
      r = m.getServerRequest();
    } else if (message instanceof StartLeaderElectionRequestProto m) {
      r = m.getServerRequest();
    } else if (message instanceof ReadIndexRequestProto m) {
      r = m.getServerRequest();
    } else {
      return null;
    }
    return r.getRequestorId().toStringUtf8();
  }

  private <Q, R> ServerCall.Listener<Q> refuse(
      ServerCall<Q, R> call, String kind, SocketAddress remote, String who, String why) {
    refuseOpen(call, kind, remote, who, why);
    return new ServerCall.Listener<>() {};
  }

  private void refuseOpen(
      ServerCall<?, ?> call, String kind, SocketAddress remote, String who, String why) {
    refusedCounter.accept(kind);
    String from = host(remote);
    String message =
        "Raft port of "
            + selfId
            + ": REFUSED "
            + call.getMethodDescriptor().getFullMethodName()
            + " from "
            + remote
            + ": "
            + why;
    log.refused(kind + "|" + from + "|" + who, () -> message);
    call.close(
        Status.PERMISSION_DENIED.withDescription(
            "refused by " + selfId + ": " + why.replace('\n', ' ')),
        new Metadata());
  }

  private static String host(SocketAddress a) {
    return a instanceof InetSocketAddress i ? i.getHostString() : String.valueOf(a);
  }
}
