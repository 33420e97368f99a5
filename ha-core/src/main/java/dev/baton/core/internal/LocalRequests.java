package dev.baton.core.internal;

import dev.baton.core.Member;
import dev.baton.core.internal.proto.Command;
import dev.baton.core.internal.proto.CommandResult;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.TransferLeadershipRequest;
import org.apache.ratis.server.RaftServer;
import org.jspecify.annotations.Nullable;

/**
 * One job: the requests this node makes of its own Raft server, in-process and never forwarded: the
 * role controller's and the journal's entries, leadership transfer and step-down, and configuration
 * changes. They carry one client id, which the state machine trusts as this node's own ({@link
 * BatonStateMachine#trustLocalClient}); the Raft port serves the admin service to nobody
 * (RaftPortGuard), so these are the only way in.
 */
final class LocalRequests {
  private final RaftServer server;
  private final RaftPeerId selfId;
  private final RaftGroupId groupId;
  private final Duration operationTimeout;
  private final ClientId clientId;
  private final AtomicLong callId = new AtomicLong();

  LocalRequests(
      RaftServer server,
      RaftPeerId selfId,
      RaftGroupId groupId,
      Duration operationTimeout,
      ClientId clientId) {
    this.server = server;
    this.selfId = selfId;
    this.groupId = groupId;
    this.operationTimeout = operationTimeout;
    this.clientId = clientId;
  }

  /** See {@link RaftNode#submitLocal}. */
  CompletableFuture<CommandResult> submit(Command command) {
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(clientId)
            .setServerId(selfId)
            .setGroupId(groupId)
            .setCallId(callId.incrementAndGet())
            .setMessage(BatonStateMachine.message(command.toByteArray()))
            .setType(RaftClientRequest.writeRequestType())
            .setTimeoutMs(operationTimeout.toMillis())
            .build();
    try {
      return server.submitClientRequestAsync(request).thenApply(LeaderClient::commandResult);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** A transfer-leadership request to the local server; {@code target} null steps down. */
  void transfer(@Nullable RaftPeerId target, Duration timeout, String what) throws IOException {
    TransferLeadershipRequest request =
        new TransferLeadershipRequest(
            clientId, selfId, groupId, callId.incrementAndGet(), target, timeout.toMillis());
    RaftClientReply reply;
    try {
      reply =
          server
              .transferLeadershipAsync(request)
              .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(what + " interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException(what + " failed: " + e, e);
    }
    if (!reply.isSuccess()) {
      throw new IOException(what + " failed: " + LeaderClient.describe(reply));
    }
  }

  /** See {@link RaftNode#setConfigurationLocal}. */
  void setConfiguration(List<Member> members, Duration timeout) throws IOException {
    SetConfigurationRequest request =
        new SetConfigurationRequest(
            clientId, selfId, groupId, callId.incrementAndGet(), RaftNode.toPeers(members));
    RaftClientReply reply;
    try {
      reply = server.setConfigurationAsync(request).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("configuration change interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException("configuration change failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException(
          "configuration change did not complete within "
              + timeout.toMillis()
              + " ms (is every new member started, with joining: true?)",
          e);
    }
    if (!reply.isSuccess()) {
      throw new IOException("configuration change failed: " + LeaderClient.describe(reply));
    }
  }
}
