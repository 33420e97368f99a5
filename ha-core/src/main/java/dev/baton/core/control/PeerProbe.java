package dev.baton.core.control;

import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.MemberStatus;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.core.control.proto.StatusResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Asks every peer's control API for its status once per interval, so that a node's status can say
 * which members answer and what role each reports. It is what "health" means in the status: a
 * member is REACHABLE when it answered within the last three intervals.
 */
final class PeerProbe implements AutoCloseable {
  private record Seen(long atNanos, Role role, long token) {}

  private final Map<String, String> peers;
  private final Duration interval;
  private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final Map<String, String> errors = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;

  PeerProbe(String selfId, Map<String, String> peers, ChannelCredentials creds, Duration interval) {
    this.peers = new LinkedHashMap<>(peers);
    this.peers.remove(selfId);
    this.interval = interval;
    for (Map.Entry<String, String> p : this.peers.entrySet()) {
      channels.put(p.getKey(), Grpc.newChannelBuilder(p.getValue(), creds).build());
    }
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-control-probe-" + selfId);
              t.setDaemon(true);
              return t;
            });
  }

  void start() {
    if (!peers.isEmpty()) {
      timer.scheduleWithFixedDelay(this::probeAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void probeAll() {
    for (Map.Entry<String, ManagedChannel> c : channels.entrySet()) {
      String id = c.getKey();
      BatonControlGrpc.newStub(c.getValue())
          .withDeadlineAfter(interval.toMillis(), TimeUnit.MILLISECONDS)
          .status(
              StatusRequest.getDefaultInstance(),
              new StreamObserver<>() {
                @Override
                public void onNext(StatusResponse r) {
                  seen.put(id, new Seen(System.nanoTime(), r.getRole(), r.getToken()));
                  errors.remove(id);
                }

                @Override
                public void onError(Throwable t) {
                  errors.put(id, t.getMessage() == null ? t.toString() : t.getMessage());
                }

                @Override
                public void onCompleted() {}
              });
    }
  }

  static MemberStatus unknown() {
    return MemberStatus.newBuilder().setHealth(Health.UNKNOWN).setLastSeenMillisAgo(-1).build();
  }

  /** What this node knows of member {@code id}'s health (without the member itself filled in). */
  MemberStatus health(String id) {
    if (!peers.containsKey(id)) {
      return unknown();
    }
    Seen s = seen.get(id);
    MemberStatus.Builder b = MemberStatus.newBuilder();
    long window = interval.toNanos() * 3;
    if (s != null) {
      long ago = System.nanoTime() - s.atNanos();
      b.setLastSeenMillisAgo(TimeUnit.NANOSECONDS.toMillis(ago));
      if (ago <= window) {
        return b.setHealth(Health.REACHABLE)
            .setReportedRole(s.role())
            .setReportedToken(s.token())
            .build();
      }
    } else {
      b.setLastSeenMillisAgo(-1);
    }
    return b.setHealth(Health.UNREACHABLE).setProbeError(errors.getOrDefault(id, "")).build();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
