package dev.baton.core.control;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEvent;
import dev.baton.core.Role;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.WatchRevisionGoneException;
import dev.baton.core.control.StatusErrors.Kind;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.WatchKeysRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
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
                new RoleChange(
                    node.id(),
                    Role.ACTIVE,
                    c.token(),
                    Optional.empty(),
                    c.previousActive(),
                    c.previousToken(),
                    Instant.now()));
          }

          @Override
          public void onStandby(StandbyReason reason) {
            send(
                new RoleChange(
                    node.id(),
                    Role.STANDBY,
                    BatonNode.NO_TOKEN,
                    Optional.of(reason.name()),
                    Optional.empty(),
                    BatonNode.NO_TOKEN,
                    Instant.now()));
          }

          // Calls for one listener never overlap (RoleListener's contract), so the stream, which
          // is not thread-safe, sees one onNext at a time.
          private void send(RoleChange change) {
            if (stream.isCancelled()) {
              return;
            }
            try {
              stream.onNext(Messages.roleEvent(change));
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
    String wrong = prefixProblem(prefix);
    if (wrong != null) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("watch keys: " + wrong).asException());
      return;
    }
    java.util.concurrent.atomic.AtomicReference<KeyValueStore.Watch> watch =
        new java.util.concurrent.atomic.AtomicReference<>();
    // Deliveries for one watch never overlap (KeyValueStore.watch's contract, and BatonNode.watch's
    // for keys and activations together), so the stream, which is not thread-safe, sees one onNext
    // at a time.
    java.util.function.Consumer<dev.baton.core.control.proto.KvEvent> send =
        e -> {
          if (stream.isCancelled()) {
            return;
          }
          try {
            stream.onNext(e);
          } catch (RuntimeException ex) {
            LOG.debug("key watch on {} closed: {}", node.id(), ex.toString());
            closeQuietly(watch.get());
          }
        };
    java.util.function.Consumer<KvEvent> keys =
        e ->
            send.accept(
                dev.baton.core.control.proto.KvEvent.newBuilder()
                    .setType(
                        e.type() == KvEvent.Type.PUT
                            ? dev.baton.core.control.proto.KvEvent.Type.PUT
                            : dev.baton.core.control.proto.KvEvent.Type.DELETE)
                    .setEntry(Messages.entry(e.entry()))
                    .setRevision(e.revision())
                    .build());
    stream.setOnCancelHandler(() -> closeQuietly(watch.get()));
    try {
      long after = request.getAfterRevision();
      watch.set(
          request.getRoles()
              ? node.watch(
                  prefix,
                  after,
                  listenerExecutor,
                  keys,
                  a ->
                      send.accept(
                          dev.baton.core.control.proto.KvEvent.newBuilder()
                              .setType(dev.baton.core.control.proto.KvEvent.Type.ACTIVATED)
                              .setRevision(a.token())
                              .setActivation(Messages.activation(a))
                              .build()))
              : node.kv().watch(prefix, after, listenerExecutor, keys));
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
   * Why {@code prefix} can match no key, or null when it may: a prefix holding a control character
   * or longer than any key is a mistake that would otherwise watch nothing, silently. (A trailing
   * {@code *} is not refused here, as a key may hold one; {@code baton watch} refuses it.)
   */
  static @Nullable String prefixProblem(String prefix) {
    for (int i = 0; i < prefix.length(); i++) {
      if (Character.isISOControl(prefix.charAt(i))) {
        return "prefix '"
            + prefix.replaceAll("\\p{Cntrl}", "?")
            + "' holds control character U+"
            + String.format("%04X", (int) prefix.charAt(i))
            + " at position "
            + i
            + ", which no key may hold";
      }
    }
    int bytes = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    if (bytes > KeyValueStore.MAX_KEY_BYTES) {
      return "prefix '"
          + prefix.substring(0, 40)
          + "...' is "
          + bytes
          + " bytes long; no key is longer than "
          + KeyValueStore.MAX_KEY_BYTES;
    }
    return null;
  }

  /**
   * The trailer of a WatchKeys call refused with OUT_OF_RANGE: the oldest revision the node can
   * replay from, in decimal.
   */
  static final io.grpc.Metadata.Key<String> OLDEST_REPLAYABLE =
      io.grpc.Metadata.Key.of("baton-oldest-replayable", io.grpc.Metadata.ASCII_STRING_MARSHALLER);

  private static void closeQuietly(KeyValueStore.@Nullable Watch w) {
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
