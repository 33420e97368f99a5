package dev.baton.core.control;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.baton.core.Backoff;
import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.BatonControlGrpc.BatonControlBlockingStub;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.core.control.proto.StatusResponse;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection half of {@link BatonClient}: one channel per endpoint, the leader-finding (status
 * probes, the leader cache, control addresses learned from status answers), the call loop with its
 * deadlines, retries and jittered backoff, the TLS probe for a client without credentials, and the
 * translation of gRPC failures into {@link ControlException}. {@link BatonClient}'s class javadoc
 * states the contract (where calls go, deadlines, which calls are retried); this class keeps it.
 */
final class ControlConnection implements AutoCloseable {
  // The category of the client's own log lines, as before the connection moved out of it.
  private static final Logger LOG = LoggerFactory.getLogger(BatonClient.class);
  private static final String LEADER = "leader";
  // Retries after 25 ms, 50 ms, ... up to 1 s, each drawn from the upper half.
  private static final Backoff RETRY_BACKOFF =
      new Backoff(Duration.ofMillis(25), Duration.ofSeconds(1), true);

  /** When a failed attempt is retried (see {@link BatonClient}'s class javadoc). */
  enum Retry {
    /** On UNAVAILABLE and DEADLINE_EXCEEDED: reads, status, list. */
    ALWAYS,
    /** Only when the request is known not to have been applied: writes, switch-active. */
    IF_NOT_APPLIED
  }

  private final List<String> endpoints;
  private final ChannelCredentials credentials;
  private final Duration callTimeout;
  private final Duration probeTimeout;
  private final Cache<String, String> leaderEndpoint;
  private final Cache<String, String> nodeEndpoints;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, Boolean> speaksTls = new ConcurrentHashMap<>();
  private volatile boolean closed;

  ControlConnection(
      List<String> endpoints,
      ChannelCredentials credentials,
      Duration callTimeout,
      Duration probeTimeout,
      Duration leaderCacheTtl) {
    this.endpoints = List.copyOf(endpoints);
    this.credentials = credentials;
    this.callTimeout = callTimeout;
    this.probeTimeout = probeTimeout;
    this.leaderEndpoint = Caffeine.newBuilder().expireAfterWrite(leaderCacheTtl).build();
    this.nodeEndpoints = Caffeine.newBuilder().maximumSize(1000).build();
  }

  /**
   * Checks a {@link BatonClient.Builder}'s settings: at least one endpoint, each {@code host:port},
   * and every duration positive; throws {@link IllegalArgumentException} naming what is wrong.
   */
  static void check(List<String> endpoints, Map<String, Duration> durations) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("BatonClient: give at least one endpoint (host:port)");
    }
    endpoints.forEach(ControlConnection::requireHostPort);
    for (Map.Entry<String, Duration> d : durations.entrySet()) {
      if (d.getValue() == null || d.getValue().isZero() || d.getValue().isNegative()) {
        throw new IllegalArgumentException(
            "BatonClient: " + d.getKey() + " must be positive, got " + d.getValue());
      }
    }
  }

  /** Throws {@link IllegalArgumentException} unless {@code e} is {@code host:port}. */
  static void requireHostPort(String e) {
    int colon = e == null ? -1 : e.lastIndexOf(':');
    if (colon <= 0 || colon == e.length() - 1) {
      throw new IllegalArgumentException("BatonClient: endpoint '" + e + "' is not host:port");
    }
    try {
      Integer.parseInt(e.substring(colon + 1));
    } catch (NumberFormatException ex) {
      throw new IllegalArgumentException(
          "BatonClient: endpoint '"
              + e
              + "': port '"
              + e.substring(colon + 1)
              + "' is not a number");
    }
  }

  List<String> endpoints() {
    return endpoints;
  }

  /** The deadline of a call with all its retries. */
  Duration callTimeout() {
    return callTimeout;
  }

  Optional<String> cachedLeaderEndpoint() {
    return Optional.ofNullable(leaderEndpoint.getIfPresent(LEADER));
  }

  /** One status request to {@code endpoint} alone, one attempt; learns from the answer. */
  StatusResponse status(String endpoint, Duration timeout) {
    try {
      StatusResponse r =
          stub(endpoint, timeout.toMillis()).status(StatusRequest.getDefaultInstance());
      learn(endpoint, r);
      return r;
    } catch (StatusRuntimeException e) {
      throw translate("status", endpoint, e, 1);
    }
  }

  // ---------------------------------------------------------------- streams

  /**
   * Opens a server stream on {@code endpoint}: events to {@code onEvent}; a failure (or, when
   * {@code endIsFailure}, the server ending the stream) to {@code onError}, once, unless the
   * returned handle closed it. Shared by the role and key watches.
   */
  <Q, R> AutoCloseable openStream(
      String what,
      String endpoint,
      BiConsumer<BatonControlGrpc.BatonControlStub, ClientResponseObserver<Q, R>> start,
      Consumer<R> onEvent,
      Consumer<Throwable> onError,
      boolean endIsFailure) {
    AtomicReference<ClientCallStreamObserver<Q>> call = new AtomicReference<>();
    // Set before the handle cancels the call: its own cancellation is no failure to report.
    AtomicBoolean closedByHandle = new AtomicBoolean();
    start.accept(
        BatonControlGrpc.newStub(channel(endpoint)),
        new ClientResponseObserver<Q, R>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<Q> requestStream) {
            call.set(requestStream);
          }

          @Override
          public void onNext(R value) {
            onEvent.accept(value);
          }

          @Override
          public void onError(Throwable t) {
            if (t instanceof StatusRuntimeException s
                && s.getStatus().getCode() == Status.Code.CANCELLED
                && (closed || closedByHandle.get())) {
              return;
            }
            onError.accept(
                t instanceof StatusRuntimeException s ? translate(what, endpoint, s, 1) : t);
          }

          @Override
          public void onCompleted() {
            if (endIsFailure && !closedByHandle.get()) {
              onError.accept(
                  new ControlException(
                      what + " on " + endpoint + ": the node ended the stream",
                      Status.Code.UNAVAILABLE,
                      true,
                      null));
            }
          }
        });
    return () -> {
      closedByHandle.set(true);
      ClientCallStreamObserver<Q> c = call.get();
      if (c != null) {
        c.cancel("closed by the client", null);
      }
    };
  }

  // ---------------------------------------------------------------- the call loop

  <T> T call(
      String what, Retry retry, Duration perAttempt, Function<BatonControlBlockingStub, T> rpc) {
    return call(what, retry, perAttempt, callTimeout, rpc);
  }

  <T> T call(
      String what,
      Retry retry,
      Duration perAttempt,
      Duration total,
      Function<BatonControlBlockingStub, T> rpc) {
    if (closed) {
      throw new IllegalStateException("BatonClient is closed");
    }
    long deadline = System.nanoTime() + total.toNanos();
    Set<String> failed = new LinkedHashSet<>();
    StatusRuntimeException last = null;
    String lastEndpoint = null;
    int attempt = 0;
    while (true) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        break;
      }
      String endpoint = pickEndpoint(failed, Math.min(left, probeTimeout.toMillis()));
      if (endpoint == null) {
        last =
            Status.UNAVAILABLE
                .withDescription("no endpoint answered a status request: " + endpoints)
                .asRuntimeException();
        lastEndpoint = String.join(",", endpoints);
      } else {
        attempt++;
        lastEndpoint = endpoint;
        left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        try {
          return rpc.apply(stub(endpoint, Math.max(1, Math.min(left, perAttempt.toMillis()))));
        } catch (StatusRuntimeException e) {
          last = e;
          refuseIfTlsWithoutCredentials(endpoint, e, probeTimeout.toMillis());
          Status.Code code = e.getStatus().getCode();
          if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
            leaderEndpoint.invalidateAll();
            failed.add(endpoint);
          }
          boolean retriable =
              switch (retry) {
                case ALWAYS ->
                    code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED;
                case IF_NOT_APPLIED ->
                    code == Status.Code.UNAVAILABLE && StatusErrors.knownNotApplied(e);
              };
          if (!retriable) {
            throw translate(what, endpoint, e, attempt);
          }
          LOG.debug("{} on {} failed ({}), retrying", what, endpoint, e.getStatus());
        }
      }
      if (failed.containsAll(endpoints)) {
        failed.clear();
      }
      sleepBackoff(attempt, deadline);
    }
    if (last == null || lastEndpoint == null) {
      // Every pass of the loop sets both: the deadline passed before the first (a total under a
      // millisecond). Nothing was sent.
      throw new ControlException(
          what + " gave up after " + total.toMillis() + " ms, before a first attempt",
          Status.Code.DEADLINE_EXCEEDED,
          true,
          null);
    }
    throw translate(
        what + " gave up after " + total.toMillis() + " ms", lastEndpoint, last, attempt);
  }

  private static void sleepBackoff(int attempt, long deadlineNanos) {
    // Equal jitter spreads the retries of many clients after a leader change.
    long sleep = RETRY_BACKOFF.delay(attempt + 1).toMillis();
    long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    try {
      Thread.sleep(Math.max(0, Math.min(sleep, left)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ControlException("interrupted while retrying", Status.Code.CANCELLED, false, e);
    }
  }

  // ---------------------------------------------------------------- finding the leader

  /** The leader's endpoint, else any endpoint that answers, skipping those that just failed. */
  private @Nullable String pickEndpoint(Set<String> failed, long probeMillis) {
    String cached = leaderEndpoint.getIfPresent(LEADER);
    if (cached != null && !failed.contains(cached)) {
      return cached;
    }
    String anyReachable = null;
    for (String endpoint : candidates()) {
      if (failed.contains(endpoint)) {
        continue;
      }
      StatusResponse r;
      try {
        r = stub(endpoint, probeMillis).status(StatusRequest.getDefaultInstance());
      } catch (StatusRuntimeException e) {
        refuseIfTlsWithoutCredentials(endpoint, e, probeMillis);
        failed.add(endpoint);
        continue;
      }
      learn(endpoint, r);
      if (anyReachable == null) {
        anyReachable = endpoint;
      }
      if (!r.getLeaderId().isEmpty()) {
        String leader = nodeEndpoints.getIfPresent(r.getLeaderId());
        if (leader != null && !failed.contains(leader)) {
          leaderEndpoint.put(LEADER, leader);
          return leader;
        }
      }
    }
    return anyReachable;
  }

  /**
   * A client without credentials whose plaintext call an endpoint closed asks, once per endpoint,
   * whether it speaks TLS; if so the call fails at once, saying what is missing, instead of
   * retrying a call that can never succeed until its deadline.
   */
  private void refuseIfTlsWithoutCredentials(
      String endpoint, StatusRuntimeException e, long probeMillis) {
    if (!(credentials instanceof io.grpc.InsecureChannelCredentials)
        || e.getStatus().getCode() != Status.Code.UNAVAILABLE
        || StatusErrors.hasCause(e, java.net.ConnectException.class)) {
      return;
    }
    boolean tls =
        speaksTls.computeIfAbsent(
            endpoint,
            ep -> TlsProbe.speaksTls(ep, (int) Math.max(200, Math.min(probeMillis, 2000))));
    if (tls) {
      throw new ControlException(
          "UNAVAILABLE from "
              + endpoint
              + ": it speaks TLS (its control API asks for the cluster secret or a client"
              + " certificate) and this client has none; it closed the plaintext call ("
              + e.getStatus().getCode()
              + ")",
          Status.Code.UNAVAILABLE,
          true,
          e);
    }
  }

  /** The given endpoints first, then control addresses learned from status answers. */
  private List<String> candidates() {
    List<String> all = new ArrayList<>(endpoints);
    for (String learned : nodeEndpoints.asMap().values()) {
      if (!all.contains(learned)) {
        all.add(learned);
      }
    }
    return all;
  }

  private void learn(String endpoint, StatusResponse r) {
    nodeEndpoints.put(r.getNodeId(), endpoint);
    for (var m : r.getMembersList()) {
      String address = m.getMember().getControlAddress();
      // An endpoint this client was given wins over an address a server reported, which may be a
      // wildcard or an address this client cannot route to.
      if (!address.isEmpty() && nodeEndpoints.getIfPresent(m.getMember().getId()) == null) {
        nodeEndpoints.put(m.getMember().getId(), address);
      }
    }
  }

  // ---------------------------------------------------------------- channels and errors

  private BatonControlBlockingStub stub(String endpoint, long timeoutMillis) {
    return BatonControlGrpc.newBlockingStub(channel(endpoint))
        .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  private ManagedChannel channel(String endpoint) {
    if (closed) {
      throw new IllegalStateException("BatonClient is closed");
    }
    return channels.computeIfAbsent(endpoint, e -> Grpc.newChannelBuilder(e, credentials).build());
  }

  private static RuntimeException translate(
      String what, String endpoint, StatusRuntimeException e, int attempts) {
    Status s = e.getStatus();
    String description =
        s.getDescription() != null ? s.getDescription() : String.valueOf(s.getCause());
    if (s.getCause() != null
        && s.getCause().getMessage() != null
        && !description.contains(s.getCause().getMessage())) {
      // gRPC's "io exception" says little; the cause says "Connection refused: /10.0.1.5:7500".
      description += " (" + s.getCause().getMessage() + ")";
    }
    if (s.getCode() == Status.Code.INVALID_ARGUMENT) {
      return new IllegalArgumentException(description, e);
    }
    return new ControlException(
        what
            + ": "
            + s.getCode()
            + " from "
            + endpoint
            + (attempts > 1 ? " (attempt " + attempts + ")" : "")
            + ": "
            + description,
        s.getCode(),
        StatusErrors.knownNotApplied(e),
        e);
  }

  @Override
  public void close() {
    closed = true;
    for (ManagedChannel c : channels.values()) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels.values()) {
      try {
        c.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
