package dev.baton.core.control;

import dev.baton.core.BatonNode;
import dev.baton.core.Handover;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.control.StatusErrors.Kind;
import dev.baton.core.control.proto.AddMemberRequest;
import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.HistoryRequest;
import dev.baton.core.control.proto.HistoryResponse;
import dev.baton.core.control.proto.KvCompareAndSetRequest;
import dev.baton.core.control.proto.KvCompareAndSetResponse;
import dev.baton.core.control.proto.KvDeleteRequest;
import dev.baton.core.control.proto.KvDeleteResponse;
import dev.baton.core.control.proto.KvGetRequest;
import dev.baton.core.control.proto.KvGetResponse;
import dev.baton.core.control.proto.KvListRequest;
import dev.baton.core.control.proto.KvListResponse;
import dev.baton.core.control.proto.KvPutRequest;
import dev.baton.core.control.proto.KvPutResponse;
import dev.baton.core.control.proto.ListMembersRequest;
import dev.baton.core.control.proto.ListMembersResponse;
import dev.baton.core.control.proto.MaintenanceRequest;
import dev.baton.core.control.proto.MaintenanceState;
import dev.baton.core.control.proto.RemoveMemberRequest;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.core.control.proto.SwitchActiveRequest;
import dev.baton.core.control.proto.SwitchActiveResponse;
import dev.baton.core.control.proto.WatchKeysRequest;
import dev.baton.core.control.proto.WatchRoleRequest;
import dev.baton.core.spi.ControlSupport;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control API over one started node. Every call runs on gRPC's executor and may block. The two
 * server streams are {@link ControlStreams}.
 */
final class ControlService extends BatonControlGrpc.BatonControlImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ControlService.class);
  private static final Duration DEFAULT_SWITCH_TIMEOUT = Duration.ofSeconds(30);

  private final ControlServer server;
  private final BatonNode node;
  private final ClientAuthorizer authorizer;
  private final ControlStreams streams;

  ControlService(
      ControlServer server,
      BatonNode node,
      Executor listenerExecutor,
      ClientAuthorizer authorizer) {
    this.server = server;
    this.node = node;
    this.authorizer = authorizer;
    this.streams = new ControlStreams(node, listenerExecutor);
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
    // A peer's probe (PeerProbe.HEADER) gets the same answer but does not wake this node's probe.
    boolean probe = ClientAuthorizer.PROBE.get();
    answer(
        out, "status", Kind.READ, () -> probe ? server.statusForProbe() : server.statusMessage());
  }

  @Override
  public void watchRole(WatchRoleRequest request, StreamObserver<RoleEvent> out) {
    streams.watchRole(out);
  }

  @Override
  public void watchKeys(
      WatchKeysRequest request, StreamObserver<dev.baton.core.control.proto.KvEvent> out) {
    streams.watchKeys(request, out);
  }

  @Override
  public void switchActive(SwitchActiveRequest request, StreamObserver<SwitchActiveResponse> out) {
    answer(
        out,
        "switch-active",
        Kind.WRITE,
        () -> {
          String target = request.getTargetNodeId();
          if (request.getTimeoutMillis() < 0) {
            throw new IllegalArgumentException(
                "switch-active: timeout_millis " + request.getTimeoutMillis() + " is negative");
          }
          Duration timeout = switchTimeout(request.getTimeoutMillis());
          if (target.isEmpty()) {
            // Step-down: no target named; the node picks the best peer (Cluster.stepDown).
            LOG.info(
                "control API on {}: step-down requested by {} (timeout {} ms)",
                node.id(),
                clientName(),
                timeout.toMillis());
            Handover h;
            try {
              h = node.cluster().stepDown(timeout);
            } catch (IllegalStateException e) {
              // No active, or no peer may take the role: known, nothing changed, not retried.
              throw Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException();
            }
            return SwitchActiveResponse.newBuilder()
                .setNodeId(h.nodeId())
                .setToken(h.token())
                .build();
          }
          LOG.info(
              "control API on {}: switch-active to {} requested by {} (timeout {} ms)",
              node.id(),
              target,
              clientName(),
              timeout.toMillis());
          long token = node.cluster().switchActive(target, timeout);
          return SwitchActiveResponse.newBuilder().setNodeId(target).setToken(token).build();
        });
  }

  @Override
  public void maintenance(MaintenanceRequest request, StreamObserver<MaintenanceState> out) {
    String what = "maintenance " + (request.getOn() ? "on" : "off");
    answer(
        out,
        what,
        Kind.WRITE,
        () -> {
          // Reached only by an authorised client when TLS is on (ClientAuthorizer); the name that
          // authorised it is recorded with the change, beside this member.
          String client = authorizer.authorizedName(ClientAuthorizer.CLIENT_NAMES.get());
          LOG.info(
              "control API on {}: {} requested by {}{}",
              node.id(),
              what,
              clientName(),
              request.getReason().isEmpty() ? "" : " (reason: " + request.getReason() + ")");
          Maintenance made =
              ControlSupport.maintenance(node, request.getOn(), request.getReason(), client);
          return Messages.maintenance(made);
        });
  }

  private static Duration switchTimeout(long requested) {
    if (requested > 0) {
      return Duration.ofMillis(requested);
    }
    Deadline deadline = Context.current().getDeadline();
    if (deadline != null) {
      // Leave the answer time to travel back before the caller gives up.
      long left = deadline.timeRemaining(TimeUnit.MILLISECONDS) - 250;
      return Duration.ofMillis(Math.max(1, left));
    }
    return DEFAULT_SWITCH_TIMEOUT;
  }

  @Override
  public void history(HistoryRequest request, StreamObserver<HistoryResponse> out) {
    answer(out, "history", Kind.READ, () -> ControlMessages.history(server.activations()));
  }

  @Override
  public void listMembers(ListMembersRequest request, StreamObserver<ListMembersResponse> out) {
    answer(out, "list members", Kind.READ, this::members);
  }

  @Override
  public void addMember(AddMemberRequest request, StreamObserver<ListMembersResponse> out) {
    answer(
        out,
        "add member",
        Kind.WRITE,
        () -> {
          if (!request.hasMember()) {
            throw new IllegalArgumentException("add member: member must be set");
          }
          Member m = Messages.member(request.getMember());
          LOG.info(
              "control API on {}: add member {} ({}) requested by {}",
              node.id(),
              m.id(),
              m.address(),
              clientName());
          node.cluster().addMember(m);
          return members();
        });
  }

  @Override
  public void removeMember(RemoveMemberRequest request, StreamObserver<ListMembersResponse> out) {
    answer(
        out,
        "remove member",
        Kind.WRITE,
        () -> {
          if (request.getMemberId().isEmpty()) {
            throw new IllegalArgumentException("remove member: member_id must be set");
          }
          LOG.info(
              "control API on {}: remove member {} requested by {}",
              node.id(),
              request.getMemberId(),
              clientName());
          node.cluster().removeMember(request.getMemberId());
          return members();
        });
  }

  private ListMembersResponse members() {
    ListMembersResponse.Builder b = ListMembersResponse.newBuilder();
    for (Member m : node.cluster().members()) {
      b.addMembers(Messages.member(m, server.controlAddress(m.id())));
    }
    return b.build();
  }

  @Override
  public void kvGet(KvGetRequest request, StreamObserver<KvGetResponse> out) {
    answer(
        out,
        "kv get",
        Kind.READ,
        () -> {
          Optional<KvEntry> e = node.kv().get(request.getKey());
          KvGetResponse.Builder b = KvGetResponse.newBuilder().setFound(e.isPresent());
          e.ifPresent(entry -> b.setEntry(Messages.entry(entry)));
          return b.build();
        });
  }

  @Override
  public void kvList(KvListRequest request, StreamObserver<KvListResponse> out) {
    answer(
        out,
        "kv list",
        Kind.READ,
        () -> {
          List<KvEntry> entries = node.kv().list(request.getPrefix());
          KvListResponse.Builder b = KvListResponse.newBuilder();
          entries.forEach(e -> b.addEntries(Messages.entry(e)));
          return b.build();
        });
  }

  @Override
  public void kvPut(KvPutRequest request, StreamObserver<KvPutResponse> out) {
    answer(
        out,
        "kv put",
        Kind.WRITE,
        () -> {
          requireReservedWriteAllowed("kv put", request.getKey());
          return KvPutResponse.newBuilder()
              .setEntry(
                  Messages.entry(node.kv().put(request.getKey(), request.getValue().toByteArray())))
              .build();
        });
  }

  @Override
  public void kvCompareAndSet(
      KvCompareAndSetRequest request, StreamObserver<KvCompareAndSetResponse> out) {
    answer(
        out,
        "kv compare-and-set",
        Kind.WRITE,
        () -> {
          String key = request.getKey();
          requireReservedWriteAllowed("kv compare-and-set", key);
          byte[] update = request.getValue().toByteArray();
          Optional<KvEntry> r =
              switch (request.getExpectCase()) {
                case EXPECTED_VALUE ->
                    node.kv().compareAndSet(key, request.getExpectedValue().toByteArray(), update);
                case EXPECT_ABSENT -> {
                  if (!request.getExpectAbsent()) {
                    throw new IllegalArgumentException(
                        "kv compare-and-set on '"
                            + key
                            + "': expect_absent must be true when set; to expect a value, set"
                            + " expected_value");
                  }
                  yield node.kv().compareAndSet(key, null, update);
                }
                case EXPECTED_REVISION ->
                    node.kv().compareAndSetRevision(key, request.getExpectedRevision(), update);
                case EXPECT_NOT_SET ->
                    throw new IllegalArgumentException(
                        "kv compare-and-set on '"
                            + key
                            + "': set one of expected_value, expect_absent or expected_revision");
              };
          KvCompareAndSetResponse.Builder b =
              KvCompareAndSetResponse.newBuilder().setApplied(r.isPresent());
          r.ifPresent(e -> b.setEntry(Messages.entry(e)));
          return b.build();
        });
  }

  @Override
  public void kvDelete(KvDeleteRequest request, StreamObserver<KvDeleteResponse> out) {
    answer(
        out,
        "kv delete",
        Kind.WRITE,
        () -> {
          requireReservedWriteAllowed("kv delete", request.getKey());
          return KvDeleteResponse.newBuilder()
              .setExisted(node.kv().delete(request.getKey()))
              .build();
        });
  }

  /**
   * Keys under {@code baton/} are what pools and guards trust (the PostgreSQL writer record: a put
   * with a huge token would send every pool that follows it to any URL and make every genuine
   * publish fail as stale). Members write them through their node; through this API only an
   * authorised client may, and without TLS nobody is.
   */
  private void requireReservedWriteAllowed(String what, String key) {
    if (key == null || !key.startsWith(KeyValueStore.RESERVED_PREFIX)) {
      return;
    }
    List<String> names = ClientAuthorizer.CLIENT_NAMES.get();
    if (authorizer.authorizes(names)) {
      return;
    }
    String why =
        authorizer.tls()
            ? "client "
                + (names == null || names.isEmpty() ? "without certificate names" : names)
                + " is not among the authorised clients "
                + new TreeSet<>(authorizer.authorized())
            : "this control API has no TLS, so no client is authorised to write them";
    LOG.warn(
        "control API on {}: REFUSED {} of reserved key '{}' from {}: {}",
        node.id(),
        what,
        key,
        ClientAuthorizer.CLIENT_ADDRESS.get(),
        why);
    throw StatusErrors.notApplied(
        Status.PERMISSION_DENIED.withDescription(
            what
                + " of '"
                + key
                + "' refused by node "
                + node.id()
                + ": keys under '"
                + KeyValueStore.RESERVED_PREFIX
                + "' are written by Baton's members and by authorised clients only; "
                + why));
  }

  private static String clientName() {
    List<String> names = ClientAuthorizer.CLIENT_NAMES.get();
    return names == null || names.isEmpty() ? "an unauthenticated client" : names.toString();
  }

  private <T> void answer(StreamObserver<T> out, String what, Kind kind, Supplier<T> body) {
    if (Context.current().isCancelled()) {
      out.onError(
          StatusErrors.notApplied(Status.CANCELLED.withDescription(what + ": call cancelled")));
      return;
    }
    T result;
    try {
      result = body.get();
    } catch (RuntimeException e) {
      io.grpc.StatusRuntimeException s = StatusErrors.toStatus(what, kind, e);
      if (s.getStatus().getCode() == Status.Code.INTERNAL) {
        LOG.error("control API on {}: {} failed", node.id(), what, e);
      } else {
        LOG.debug("control API on {}: {} -> {}", node.id(), what, s.getStatus());
      }
      out.onError(s);
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
