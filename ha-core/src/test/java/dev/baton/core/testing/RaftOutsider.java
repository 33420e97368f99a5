package dev.baton.core.testing;

import dev.baton.core.Member;
import dev.baton.core.TlsConfig;
import dev.baton.core.internal.RaftNode;
import java.io.IOException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509TrustManager;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.grpc.GrpcUtil;
import org.apache.ratis.proto.RaftProtos.RaftGroupIdProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionReplyProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.proto.RaftProtos.TermIndexProto;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.security.TlsConf;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.util.TimeDuration;

/**
 * Someone who is not a member but knows what an attacker on the network can learn: the cluster id
 * (so the Raft group id derived from it) and the members' Raft addresses. It speaks Ratis directly,
 * with a plain {@link RaftClient} and a raw server-protocol stub, optionally presenting a
 * certificate of its own. Each attempt reports whether the cluster did what was asked.
 */
public final class RaftOutsider implements AutoCloseable {

  /**
   * What came of an attempt. Only a node's own answer that it refused is a refusal: an attempt that
   * got no such answer (connection refused, a timeout, a wrong address, any other failure) proves
   * nothing about the Raft port and is {@link #UNCONFIRMED}.
   */
  public enum Result {
    /** The cluster did what was asked. */
    SUCCEEDED,
    /**
     * A node answered that it refused: its Raft port guard's {@code PERMISSION_DENIED} ("refused by
     * <id>", sent as it counts {@code baton.raft.refused} and logs REFUSED) or its state machine's
     * REFUSED.
     */
    REFUSED,
    /** Neither: the attempt may never have reached a node. */
    UNCONFIRMED
  }

  /** What one attempt asked for and what came of it. */
  public record Attempt(String what, Result result, String detail) {
    /** Whether the cluster did what was asked. */
    public boolean succeeded() {
      return result == Result.SUCCEEDED;
    }

    /** Whether a node answered that it refused (not merely: the attempt did not succeed). */
    public boolean refused() {
      return result == Result.REFUSED;
    }

    @Override
    public String toString() {
      return what + ": " + result + " (" + detail + ")";
    }
  }

  /**
   * REFUSED when {@code failure} (or a cause) is a node's refusal: a gRPC {@code PERMISSION_DENIED}
   * or the text of one ("refused by <id>", as the Raft port guard says it), or a state machine's
   * "REFUSED"; UNCONFIRMED otherwise.
   */
  static Result classify(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (Status.fromThrowable(t).getCode() == Status.Code.PERMISSION_DENIED) {
        return Result.REFUSED;
      }
      String m = String.valueOf(t.getMessage());
      if (m.contains("PERMISSION_DENIED") || m.contains("refused by ") || m.contains("REFUSED")) {
        return Result.REFUSED;
      }
    }
    return Result.UNCONFIRMED;
  }

  private static Result of(RaftClientReply reply) {
    if (reply.isSuccess()) {
      return Result.SUCCEEDED;
    }
    return reply.getException() == null ? Result.UNCONFIRMED : classify(reply.getException());
  }

  private static final X509TrustManager TRUST_ANYONE =
      new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          return new X509Certificate[0];
        }
      };

  private final RaftGroupId groupId;
  private final List<Member> members;
  private final GrpcTlsConfig tls;
  private final RaftClient client;

  private RaftOutsider(String clusterId, List<Member> members, GrpcTlsConfig tls) {
    this.groupId = RaftNode.groupId(clusterId);
    this.members = List.copyOf(members);
    this.tls = tls;
    Parameters parameters = new Parameters();
    if (tls != null) {
      GrpcConfigKeys.Client.setTlsConf(parameters, tls);
      GrpcConfigKeys.Admin.setTlsConf(parameters, tls);
    }
    RaftProperties properties = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(
        properties, TimeDuration.valueOf(3, TimeUnit.SECONDS));
    this.client =
        RaftClient.newBuilder()
            .setRaftGroup(RaftGroup.valueOf(groupId, peers(members)))
            .setProperties(properties)
            .setParameters(parameters)
            .setRetryPolicy(
                RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                    4, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
            .build();
  }

  /** An outsider without any certificate (plaintext). */
  public static RaftOutsider plaintext(String clusterId, List<Member> members) {
    return new RaftOutsider(clusterId, members, (GrpcTlsConfig) null);
  }

  /** An outsider that presents {@code certificate} and trusts what it names as trusted. */
  public static RaftOutsider withCertificate(
      String clusterId, List<Member> members, TlsConfig certificate) {
    return new RaftOutsider(
        clusterId,
        members,
        tls(
            new TlsConf.PrivateKeyConf(certificate.privateKey().toFile()),
            new TlsConf.CertificatesConf(certificate.certificateChain().toFile())));
  }

  /**
   * An outsider that presents {@code certificate} with its {@code privateKey} (a member's identity
   * as a holder of the cluster secret derives it, say).
   */
  public static RaftOutsider withKey(
      String clusterId, List<Member> members, PrivateKey privateKey, X509Certificate certificate) {
    return new RaftOutsider(
        clusterId,
        members,
        tls(new TlsConf.PrivateKeyConf(privateKey), new TlsConf.CertificatesConf(certificate)));
  }

  // An attacker does not care whom it talks to: it accepts any server certificate, so that the
  // server gets to judge the outsider's own certificate.
  private static GrpcTlsConfig tls(TlsConf.PrivateKeyConf key, TlsConf.CertificatesConf chain) {
    return GrpcTlsConfig.newBuilder()
        .setPrivateKey(key)
        .setKeyCertificates(chain)
        .setTrustManager(TRUST_ANYONE)
        .setMutualTls(true)
        .build();
  }

  /** Appends {@code bytes} as a client entry through the client service. */
  public Attempt rawWrite(byte[] bytes) {
    try {
      RaftClientReply reply = client.io().send(Message.valueOf(ByteString.copyFrom(bytes)));
      return new Attempt(
          "raw write",
          of(reply),
          reply.isSuccess() ? "log index " + reply.getLogIndex() : String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt("raw write", classify(e), describe(e));
    }
  }

  /** Asks the admin service to make the voters {@code keep} only. */
  public Attempt setConfiguration(List<String> keep) {
    List<Member> kept = members.stream().filter(m -> keep.contains(m.id())).toList();
    try {
      RaftClientReply reply = client.admin().setConfiguration(peers(kept));
      return new Attempt("setConfiguration " + keep, of(reply), String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt("setConfiguration " + keep, classify(e), describe(e));
    }
  }

  /** Asks the admin service to hand leadership to {@code target}. */
  public Attempt transferLeadership(String target) {
    try {
      RaftClientReply reply = client.admin().transferLeadership(RaftPeerId.valueOf(target), 3000);
      return new Attempt("transferLeadership to " + target, of(reply), reply.toString());
    } catch (IOException | RuntimeException e) {
      return new Attempt("transferLeadership to " + target, classify(e), describe(e));
    }
  }

  /**
   * Asks {@code target}'s admin service for its view of the cluster's Raft group (read-only; what a
   * node about to bootstrap asks its peers, BootstrapProbe).
   */
  public Attempt groupInfo(String target) {
    String what = "groupInfo on " + target;
    try {
      RaftClientReply reply =
          client.getGroupManagementApi(RaftPeerId.valueOf(target)).info(groupId);
      return new Attempt(what, of(reply), String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt(what, classify(e), describe(e));
    }
  }

  /** Asks {@code target}'s admin service which Raft groups it runs. */
  public Attempt groupList(String target) {
    String what = "groupList on " + target;
    try {
      RaftClientReply reply = client.getGroupManagementApi(RaftPeerId.valueOf(target)).list();
      return new Attempt(what, of(reply), String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt(what, classify(e), describe(e));
    }
  }

  /**
   * Sends the server RPC a leader sends to hand over: {@code target} starts an election at once, in
   * a higher term, skipping pre-vote. The outsider claims to be {@code leaderId} and names the
   * leader's current {@code term}, which a status page or the client's NotLeader answers reveal.
   */
  public Attempt startLeaderElection(String target, String leaderId, long term) {
    Member t = members.stream().filter(m -> m.id().equals(target)).findFirst().orElseThrow();
    String what = "startLeaderElection on " + target;
    NettyChannelBuilder b = NettyChannelBuilder.forTarget(t.address());
    if (tls == null) {
      b.usePlaintext();
    } else {
      b.sslContext(GrpcUtil.buildSslContextForClient(tls));
    }
    ManagedChannel channel = b.build();
    try {
      StartLeaderElectionRequestProto request =
          StartLeaderElectionRequestProto.newBuilder()
              .setServerRequest(
                  RaftRpcRequestProto.newBuilder()
                      .setRequestorId(RaftPeerId.valueOf(leaderId).toByteString())
                      .setReplyId(RaftPeerId.valueOf(target).toByteString())
                      .setRaftGroupId(RaftGroupIdProto.newBuilder().setId(groupId.toByteString()))
                      .setCallId(1))
              .setLeaderLastEntry(TermIndexProto.newBuilder().setTerm(term).setIndex(0))
              .build();
      StartLeaderElectionReplyProto reply =
          RaftServerProtocolServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(5, TimeUnit.SECONDS)
              .startLeaderElection(request);
      // The server answered: a reply that is not a success is the node declining.
      return new Attempt(
          what,
          reply.getServerReply().getSuccess() ? Result.SUCCEEDED : Result.REFUSED,
          reply.toString().trim());
    } catch (RuntimeException e) {
      return new Attempt(what, classify(e), describe(e));
    } finally {
      channel.shutdownNow();
    }
  }

  /** The failure and its causes, so that what the node answered (if anything) is in the detail. */
  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(e.toString());
    for (Throwable t = e.getCause(); t != null && t != t.getCause(); t = t.getCause()) {
      sb.append(" <- ").append(t);
    }
    return sb.toString();
  }

  private static List<RaftPeer> peers(List<Member> members) {
    List<RaftPeer> peers = new ArrayList<>();
    for (Member m : members) {
      peers.add(RaftPeer.newBuilder().setId(m.id()).setAddress(m.address()).build());
    }
    return peers;
  }

  @Override
  public void close() throws IOException {
    client.close();
  }
}
