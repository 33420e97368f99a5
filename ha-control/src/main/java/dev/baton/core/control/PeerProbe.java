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
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Asks every peer's control API for its status once per interval, so that a node's status can say
 * which members answer and what role each reports. It is what "health" means in the status: a
 * member is REACHABLE when it answered within the last three intervals.
 *
 * <p>It probes only while someone reads this node's status: from a read ({@link #reading()}) on,
 * for {@code awake} (60 intervals in {@link ControlServer}); a read after a quiet spell first runs
 * one round and waits for its answers (at most one interval, the probe's deadline), so the health
 * it reports holds the same meaning as while awake. An idle cluster nobody watches then makes no
 * probe calls (issue 33: they were about a third of an idle node's CPU). The peers' probe calls
 * carry the {@link #HEADER} and do not count as reads, or the members would keep each other awake.
 */
final class PeerProbe implements AutoCloseable {
  /** Marks a Status call as a peer's probe, which does not wake the served node's own probe. */
  static final Metadata.Key<String> HEADER =
      Metadata.Key.of("baton-probe", Metadata.ASCII_STRING_MARSHALLER);

  private record Seen(long atNanos, Role role, long token) {}

  private final Map<String, String> peers;
  private final Duration interval;
  private final long awakeNanos;
  // When the status was last read (System.nanoTime()); the probe is awake for awakeNanos after it.
  private final AtomicLong lastRead;
  private final AtomicLong rounds = new AtomicLong();
  // The round the last read after a quiet spell started; its answers count it down.
  private volatile @Nullable CountDownLatch waking; // null until the first read after a sleep
  private final ChannelCredentials creds;
  private final Metadata header = new Metadata();
  // One channel per peer, built by the first round (the first read of the status), not by the
  // constructor: a node nobody watches then loads none of gRPC's client classes, about 220 of them
  // (README, "Footprint"). Empty once closed, so that a round after close() builds none.
  private @Nullable Map<String, ManagedChannel> channels; // guarded by this
  private boolean closed; // guarded by this
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final Map<String, String> errors = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;

  PeerProbe(
      String selfId,
      Map<String, String> peers,
      ChannelCredentials creds,
      Duration interval,
      Duration awake) {
    this.peers = new LinkedHashMap<>(peers);
    this.peers.remove(selfId);
    this.interval = interval;
    this.awakeNanos = awake.toNanos();
    // Asleep from the start: the first read runs a round and waits for it.
    this.lastRead = new AtomicLong(System.nanoTime() - awakeNanos - 1);
    this.creds = creds;
    header.put(HEADER, "1");
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-control-probe-" + selfId);
              t.setDaemon(true);
              return t;
            });
  }

  private synchronized Map<String, ManagedChannel> channels() {
    Map<String, ManagedChannel> built = channels;
    if (built == null) {
      built = new LinkedHashMap<>();
      if (!closed) {
        for (Map.Entry<String, String> p : peers.entrySet()) {
          built.put(
              p.getKey(),
              Grpc.newChannelBuilder(p.getValue(), creds)
                  .intercept(MetadataUtils.newAttachHeadersInterceptor(header))
                  .build());
        }
      }
      channels = built;
    }
    return built;
  }

  void start() {
    if (!peers.isEmpty()) {
      timer.scheduleWithFixedDelay(
          () -> {
            if (awake()) {
              probeAll(null);
            }
          },
          0,
          interval.toMillis(),
          TimeUnit.MILLISECONDS);
    }
  }

  private boolean awake() {
    return System.nanoTime() - lastRead.get() <= awakeNanos;
  }

  /**
   * The status is being read (not by a peer's probe): keeps the probe awake, and when it slept,
   * runs one round now and waits for its answers, at most one interval.
   */
  void reading() {
    long now = System.nanoTime();
    long before = lastRead.getAndSet(now);
    CountDownLatch answered;
    if (now - before > awakeNanos && !peers.isEmpty()) {
      answered = new CountDownLatch(channels().size());
      waking = answered;
      probeAll(answered);
    } else {
      // A read beside the one that woke the probe waits for the same round (a finished round's
      // latch is open: no wait).
      answered = waking;
    }
    if (answered != null) {
      try {
        answered.await(interval.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Channels built so far: none until the first round (a test's view of what an idle node loads).
   */
  synchronized int channelsBuilt() {
    Map<String, ManagedChannel> built = channels;
    return built == null ? 0 : built.size();
  }

  /** Probe rounds started so far (a test's view of whether the probe sleeps). */
  long rounds() {
    return rounds.get();
  }

  private void probeAll(@Nullable CountDownLatch answered) {
    rounds.incrementAndGet();
    for (Map.Entry<String, ManagedChannel> c : channels().entrySet()) {
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
                  if (answered != null) {
                    answered.countDown();
                  }
                }

                @Override
                public void onError(Throwable t) {
                  errors.put(id, t.getMessage() == null ? t.toString() : t.getMessage());
                  if (answered != null) {
                    answered.countDown();
                  }
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
    Map<String, ManagedChannel> built;
    synchronized (this) {
      closed = true;
      built = channels;
      channels = Map.of();
    }
    timer.shutdownNow();
    if (built != null) {
      built.values().forEach(ManagedChannel::shutdownNow);
    }
  }
}
