package dev.baton.core.control;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEvent;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.WatchRevisionGoneException;
import dev.baton.core.control.StatusErrors.Kind;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.WatchKeysRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job: the control API's two server streams for {@link ControlService}, WatchRole and
 * WatchKeys. Each subscribes to the node, writes what it hears to its gRPC stream one message at a
 * time, and unsubscribes when the client cancels or the stream breaks.
 */
final class ControlStreams {
  private static final Logger LOG = LoggerFactory.getLogger(ControlStreams.class);

  private final BatonNode node;
  private final Executor listenerExecutor;

  ControlStreams(BatonNode node, Executor listenerExecutor) {
    this.node = node;
    this.listenerExecutor = listenerExecutor;
  }

  void watchRole(StreamObserver<RoleEvent> out) {
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

  void watchKeys(
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
}
