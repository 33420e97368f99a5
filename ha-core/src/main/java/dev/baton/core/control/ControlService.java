package dev.baton.core.control;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.Handover;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.Member;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.WatchRevisionGoneException;
import dev.baton.core.control.StatusErrors.Kind;
import dev.baton.core.control.proto.AddMemberRequest;
import dev.baton.core.control.proto.BatonControlGrpc;
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
import dev.baton.core.control.proto.RemoveMemberRequest;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.core.control.proto.SwitchActiveRequest;
import dev.baton.core.control.proto.SwitchActiveResponse;
import dev.baton.core.control.proto.WatchKeysRequest;
import dev.baton.core.control.proto.WatchRoleRequest;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
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

/** The control API over one started node. Every call runs on gRPC's executor and may block. */
final class ControlService extends BatonControlGrpc.BatonControlImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ControlService.class);
  private static final Duration DEFAULT_SWITCH_TIMEOUT = Duration.ofSeconds(30);

  private final ControlServer server;
  private final BatonNode node;
  private final Executor listenerExecutor;
  private final ClientAuthorizer authorizer;

  ControlService(
      ControlServer server,
      BatonNode node,
      Executor listenerExecutor,
      ClientAuthorizer authorizer) {
    this.server = server;
    this.node = node;
    this.listenerExecutor = listenerExecutor;
    this.authorizer = authorizer;
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> out) {
    answer(out, "status", Kind.READ, server::status);
  }

  @Override
  public void watchRole(WatchRoleRequest request, StreamObserver<RoleEvent> out) {
    ServerCallStreamObserver<RoleEvent> stream = (ServerCallStreamObserver<RoleEvent>) out;
    RoleListener listener =
        new RoleListener() {
          @Override
          public void onActive(ActiveContext c) {
            send(
                event(Role.ACTIVE)
                    .setToken(c.token())
                    .setPreviousActive(c.previousActive().orElse(""))
                    .setPreviousToken(c.previousToken())
                    .build());
          }

          @Override
          public void onStandby(StandbyReason reason) {
            send(event(Role.STANDBY).setStandbyReason(reason.name()).build());
          }

          private RoleEvent.Builder event(Role role) {
            return RoleEvent.newBuilder()
                .setNodeId(node.id())
                .setRole(role)
                .setUnixMillis(System.currentTimeMillis());
          }

          // Calls for one listener never overlap (RoleListener's contract), so the stream, which
          // is not thread-safe, sees one onNext at a time.
          private void send(RoleEvent e) {
            if (stream.isCancelled()) {
              return;
            }
            try {
              stream.onNext(e);
            } catch (RuntimeException ex) {
              LOG.debug("role stream on {} closed: {}", node.id(), ex.toString());
              removeQuietly(this);
            }
          }
        };
    stream.setOnCancelHandler(() -> removeQuietly(listener));
    try {
      node.addListener(listener, listenerExecutor);
    } catch (RuntimeException e) {
      out.onError(StatusErrors.toStatus("watch role", Kind.READ, e));
    }
  }

  @Override
  public void watchKeys(
      WatchKeysRequest request, StreamObserver<dev.baton.core.control.proto.KvEvent> out) {
    ServerCallStreamObserver<dev.baton.core.control.proto.KvEvent> stream =
        (ServerCallStreamObserver<dev.baton.core.control.proto.KvEvent>) out;
    String prefix = request.getPrefix();
    java.util.concurrent.atomic.AtomicReference<KeyValueStore.Watch> watch =
        new java.util.concurrent.atomic.AtomicReference<>();
    // Deliveries for one watch never overlap (KeyValueStore.watch's contract), so the stream, which
    // is not thread-safe, sees one onNext at a time.
    java.util.function.Consumer<KvEvent> send =
        e -> {
          if (stream.isCancelled()) {
            return;
          }
          try {
            stream.onNext(
                dev.baton.core.control.proto.KvEvent.newBuilder()
                    .setType(
                        e.type() == KvEvent.Type.PUT
                            ? dev.baton.core.control.proto.KvEvent.Type.PUT
                            : dev.baton.core.control.proto.KvEvent.Type.DELETE)
                    .setEntry(Messages.entry(e.entry()))
                    .setRevision(e.revision())
                    .build());
          } catch (RuntimeException ex) {
            LOG.debug("key watch on {} closed: {}", node.id(), ex.toString());
            closeQuietly(watch.get());
          }
        };
    stream.setOnCancelHandler(() -> closeQuietly(watch.get()));
    try {
      watch.set(node.kv().watch(prefix, request.getAfterRevision(), listenerExecutor, send));
      if (stream.isCancelled()) {
        closeQuietly(watch.get());
      }
    } catch (WatchRevisionGoneException e) {
      io.grpc.Metadata trailers = new io.grpc.Metadata();
      trailers.put(OLDEST_REPLAYABLE, Long.toString(e.oldestReplayable()));
      out.onError(Status.OUT_OF_RANGE.withDescription(e.getMessage()).asRuntimeException(trailers));
    } catch (RuntimeException e) {
      out.onError(StatusErrors.toStatus("watch keys", Kind.READ, e));
    }
  }

  /**
   * The trailer of a WatchKeys call refused with OUT_OF_RANGE: the oldest revision the node can
   * replay from, in decimal.
   */
  static final io.grpc.Metadata.Key<String> OLDEST_REPLAYABLE =
      io.grpc.Metadata.Key.of("baton-oldest-replayable", io.grpc.Metadata.ASCII_STRING_MARSHALLER);

  private static void closeQuietly(KeyValueStore.Watch w) {
    if (w != null) {
      try {
        w.close();
      } catch (RuntimeException e) {
        // the node is closing; nothing left to stop
      }
    }
  }

  private void removeQuietly(RoleListener listener) {
    try {
      node.removeListener(listener);
    } catch (RuntimeException e) {
      // the node is closing; nothing left to remove
    }
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
            // Step-down: no target named; the node picks the best peer (BatonNode.stepDown).
            LOG.info(
                "control API on {}: step-down requested by {} (timeout {} ms)",
                node.id(),
                clientName(),
                timeout.toMillis());
            Handover h;
            try {
              h = node.stepDown(timeout);
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
          long token = node.switchActive(target, timeout);
          return SwitchActiveResponse.newBuilder().setNodeId(target).setToken(token).build();
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
          node.addMember(m);
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
          node.removeMember(request.getMemberId());
          return members();
        });
  }

  private ListMembersResponse members() {
    ListMembersResponse.Builder b = ListMembersResponse.newBuilder();
    for (Member m : node.members()) {
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
