package dev.baton.core.testing;

import dev.baton.core.Member;
import dev.baton.core.TlsConfig;
import dev.baton.core.internal.RaftNode;
import java.io.IOException;
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
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.util.TimeDuration;

/**
 * Someone who is not a member but knows what an attacker on the network can learn: the cluster id
 * (so the Raft group id derived from it) and the members' Raft addresses. It speaks Ratis directly,
 * with a plain {@link RaftClient} and a raw server-protocol stub, optionally presenting a
 * certificate of its own. Each attempt reports whether the cluster did what was asked.
 */
public final class RaftOutsider implements AutoCloseable {

  /** What one attempt asked for and whether the cluster did it. */
  public record Attempt(String what, boolean succeeded, String detail) {
    @Override
    public String toString() {
      return what + ": " + (succeeded ? "SUCCEEDED" : "refused") + " (" + detail + ")";
    }
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

  private RaftOutsider(String clusterId, List<Member> members, TlsConfig certificate) {
    this.groupId = RaftNode.groupId(clusterId);
    this.members = List.copyOf(members);
    // An attacker does not care whom it talks to: it accepts any server certificate, so that the
    // server gets to judge the outsider's own certificate.
    this.tls =
        certificate == null
            ? null
            : GrpcTlsConfig.newBuilder()
                .setPrivateKey(new TlsConf.PrivateKeyConf(certificate.privateKey().toFile()))
                .setKeyCertificates(
                    new TlsConf.CertificatesConf(certificate.certificateChain().toFile()))
                .setTrustManager(TRUST_ANYONE)
                .setMutualTls(true)
                .build();
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
    return new RaftOutsider(clusterId, members, null);
  }

  /** An outsider that presents {@code certificate} and trusts what it names as trusted. */
  public static RaftOutsider withCertificate(
      String clusterId, List<Member> members, TlsConfig certificate) {
    return new RaftOutsider(clusterId, members, certificate);
  }

  /** Appends {@code bytes} as a client entry through the client service. */
  public Attempt rawWrite(byte[] bytes) {
    try {
      RaftClientReply reply = client.io().send(Message.valueOf(ByteString.copyFrom(bytes)));
      return new Attempt(
          "raw write",
          reply.isSuccess(),
          reply.isSuccess() ? "log index " + reply.getLogIndex() : String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt("raw write", false, e.toString());
    }
  }

  /** Asks the admin service to make the voters {@code keep} only. */
  public Attempt setConfiguration(List<String> keep) {
    List<Member> kept = members.stream().filter(m -> keep.contains(m.id())).toList();
    try {
      RaftClientReply reply = client.admin().setConfiguration(peers(kept));
      return new Attempt("setConfiguration " + keep, reply.isSuccess(), String.valueOf(reply));
    } catch (IOException | RuntimeException e) {
      return new Attempt("setConfiguration " + keep, false, e.toString());
    }
  }

  /** Asks the admin service to hand leadership to {@code target}. */
  public Attempt transferLeadership(String target) {
    try {
      RaftClientReply reply = client.admin().transferLeadership(RaftPeerId.valueOf(target), 3000);
      return new Attempt("transferLeadership to " + target, reply.isSuccess(), reply.toString());
    } catch (IOException | RuntimeException e) {
      return new Attempt("transferLeadership to " + target, false, e.toString());
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
      return new Attempt(what, reply.getServerReply().getSuccess(), reply.toString().trim());
    } catch (RuntimeException e) {
      return new Attempt(what, false, e.toString());
    } finally {
      channel.shutdownNow();
    }
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
