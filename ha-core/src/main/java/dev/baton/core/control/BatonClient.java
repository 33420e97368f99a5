package dev.baton.core.control;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.ByteString;
import dev.baton.core.Handover;
import dev.baton.core.KvEntry;
import dev.baton.core.Member;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.proto.AddMemberRequest;
import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.BatonControlGrpc.BatonControlBlockingStub;
import dev.baton.core.control.proto.KvCompareAndSetRequest;
import dev.baton.core.control.proto.KvCompareAndSetResponse;
import dev.baton.core.control.proto.KvDeleteRequest;
import dev.baton.core.control.proto.KvGetRequest;
import dev.baton.core.control.proto.KvGetResponse;
import dev.baton.core.control.proto.KvListRequest;
import dev.baton.core.control.proto.KvPutRequest;
import dev.baton.core.control.proto.ListMembersRequest;
import dev.baton.core.control.proto.ListMembersResponse;
import dev.baton.core.control.proto.RemoveMemberRequest;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusRequest;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.core.control.proto.SwitchActiveRequest;
import dev.baton.core.control.proto.SwitchActiveResponse;
import dev.baton.core.control.proto.WatchKeysRequest;
import dev.baton.core.control.proto.WatchRoleRequest;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the control API that follows the Raft leader.
 *
 * <pre>{@code
 * try (BatonClient client = BatonClient.builder()
 *         .endpoints("10.0.1.5:7500", "10.1.1.5:7500", "10.2.1.5:7500")
 *         .tls(new TlsConfig(cert, key, ca))
 *         .build()) {
 *   long token = client.switchActive("west-1", Duration.ofSeconds(30));
 *   client.put("config/region", "west".getBytes(UTF_8));
 * }
 * }</pre>
 *
 * <p><b>Where calls go.</b> Every node can serve every call, but the leader saves the forwarding
 * hop, so the client sends calls to the leader's endpoint. It finds the leader by asking the
 * endpoints for their status (each names the leader, and the members' control addresses) and keeps
 * the answer in a Caffeine cache for {@code leaderCacheTtl}; a failed call drops it.
 *
 * <p><b>Deadlines.</b> Each attempt has a deadline ({@code attemptTimeout}, default 6 s: longer
 * than a node's default 5 s operation timeout, so the server's own answer arrives first), and a
 * call with its retries ends by {@code callTimeout} (default 15 s).
 *
 * <p><b>Retries, and what "safely" means.</b> Reads, status and list are retried on UNAVAILABLE and
 * DEADLINE_EXCEEDED, on the next endpoint, with jittered exponential backoff. A write (put,
 * compare-and-set, delete, membership change) is retried only when it is known not to have been
 * applied: the server said so (trailer {@code baton-applied: false}, sent when the node refused the
 * call before submitting anything), or no connection could be made, so the request never left this
 * process. A write that timed out or broke off mid-call is NOT retried: it may have been applied,
 * and the caller gets a {@link ControlException} with DEADLINE_EXCEEDED or UNKNOWN to decide (a
 * compare-and-set can be checked with a read). Switch-active is retried like a write; it is
 * idempotent for a given target anyway (switching to the active node returns its token).
 *
 * <p>Errors: an INVALID_ARGUMENT answer is thrown as {@link IllegalArgumentException} with the
 * server's message (as the embedded API does); every other failure is a {@link ControlException}
 * carrying the gRPC code.
 */
public final class BatonClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BatonClient.class);
  private static final String LEADER = "leader";

  private enum Retry {
    ALWAYS,
    IF_NOT_APPLIED
  }

  private final List<String> endpoints;
  private final ChannelCredentials credentials;
  private final Duration attemptTimeout;
  private final Duration callTimeout;
  private final Duration probeTimeout;
  private final Cache<String, String> leaderEndpoint;
  private final Cache<String, String> nodeEndpoints;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, Boolean> speaksTls = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private BatonClient(Builder b) {
    this.endpoints = List.copyOf(b.endpoints);
    this.credentials = b.credentials;
    this.attemptTimeout = b.attemptTimeout;
    this.callTimeout = b.callTimeout;
    this.probeTimeout = b.probeTimeout;
    this.leaderEndpoint = Caffeine.newBuilder().expireAfterWrite(b.leaderCacheTtl).build();
    this.nodeEndpoints = Caffeine.newBuilder().maximumSize(1000).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The endpoints this client was given. */
  public List<String> endpoints() {
    return endpoints;
  }

  /** The leader's endpoint as cached now, if any (for diagnostics and tests). */
  public Optional<String> cachedLeaderEndpoint() {
    return Optional.ofNullable(leaderEndpoint.getIfPresent(LEADER));
  }

  // ---------------------------------------------------------------- status and role

  /** The leader's status (or, while no leader is known, that of any node that answers). */
  public StatusResponse status() {
    return call(
        "status", Retry.ALWAYS, attemptTimeout, s -> s.status(StatusRequest.getDefaultInstance()));
  }

  /**
   * One node's own view, asked of {@code endpoint} alone, with one attempt bounded by {@code
   * timeout}: what a status table shows for each node.
   */
  public StatusResponse status(String endpoint, Duration timeout) {
    try {
      StatusResponse r =
          stub(endpoint, timeout.toMillis()).status(StatusRequest.getDefaultInstance());
      learn(endpoint, r);
      return r;
    } catch (StatusRuntimeException e) {
      throw translate("status", endpoint, e, 1);
    }
  }

  /**
   * Streams the role changes of the node at {@code endpoint}: first its current role, then every
   * change, until the returned handle is closed or the stream fails ({@code onError}, once).
   */
  public AutoCloseable watchRole(
      String endpoint, Consumer<RoleEvent> onEvent, Consumer<Throwable> onError) {
    return openStream(
        "watch role",
        endpoint,
        (stub, observer) -> stub.watchRole(WatchRoleRequest.getDefaultInstance(), observer),
        onEvent,
        onError,
        false);
  }

  /**
   * Opens a server stream on {@code endpoint}: events to {@code onEvent}; a failure (or, when
   * {@code endIsFailure}, the server ending the stream) to {@code onError}, once, unless the
   * returned handle closed it. Shared by the role and key watches.
   */
  private <Q, R> AutoCloseable openStream(
      String what,
      String endpoint,
      java.util.function.BiConsumer<BatonControlGrpc.BatonControlStub, ClientResponseObserver<Q, R>>
          start,
      Consumer<R> onEvent,
      Consumer<Throwable> onError,
      boolean endIsFailure) {
    AtomicReference<ClientCallStreamObserver<Q>> call = new AtomicReference<>();
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
                && closed) {
              return;
            }
            onError.accept(
                t instanceof StatusRuntimeException s ? translate(what, endpoint, s, 1) : t);
          }

          @Override
          public void onCompleted() {
            if (endIsFailure) {
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
      ClientCallStreamObserver<Q> c = call.get();
      if (c != null) {
        c.cancel("closed by the client", null);
      }
    };
  }

  /**
   * Streams the changes to the keys under {@code prefix} as the node at {@code endpoint} applies
   * them, in revision order, until the returned handle is closed or the stream fails ({@code
   * onError}, once). With {@code afterRevision} above 0 the node first replays every key changed
   * after it (see the WatchKeys call in baton_control.proto); a {@link ControlException} with code
   * OUT_OF_RANGE says it cannot, and names the revision to re-read from. A watcher that reconnects
   * passes the revision of the last event it saw.
   */
  public AutoCloseable watchKeys(
      String endpoint,
      String prefix,
      long afterRevision,
      Consumer<dev.baton.core.control.proto.KvEvent> onEvent,
      Consumer<Throwable> onError) {
    if (afterRevision < 0) {
      throw new IllegalArgumentException("afterRevision must be 0 or more, not " + afterRevision);
    }
    WatchKeysRequest request =
        WatchKeysRequest.newBuilder().setPrefix(prefix).setAfterRevision(afterRevision).build();
    return openStream(
        "watch keys",
        endpoint,
        (stub, observer) -> stub.watchKeys(request, observer),
        onEvent,
        onError,
        true);
  }

  /**
   * For a watch refused with OUT_OF_RANGE (the node cannot replay from the revision asked): the
   * oldest revision it can replay from; empty for any other failure.
   */
  public static java.util.OptionalLong oldestReplayable(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof StatusRuntimeException s
          && s.getStatus().getCode() == Status.Code.OUT_OF_RANGE
          && s.getTrailers() != null) {
        String v = s.getTrailers().get(ControlService.OLDEST_REPLAYABLE);
        if (v != null) {
          try {
            return java.util.OptionalLong.of(Long.parseLong(v));
          } catch (NumberFormatException e) {
            return java.util.OptionalLong.empty();
          }
        }
      }
    }
    return java.util.OptionalLong.empty();
  }

  // ---------------------------------------------------------------- switch-active, members

  /**
   * Planned switchover to {@code targetNodeId}; waits up to {@code timeout} for it to be active.
   *
   * @return the target's new token
   */
  public long switchActive(String targetNodeId, Duration timeout) {
    Objects.requireNonNull(targetNodeId, "targetNodeId");
    SwitchActiveRequest request =
        SwitchActiveRequest.newBuilder()
            .setTargetNodeId(targetNodeId)
            .setTimeoutMillis(timeout.toMillis())
            .build();
    Duration attempt = timeout.plus(Duration.ofSeconds(2));
    return call(
            "switch-active to " + targetNodeId,
            Retry.IF_NOT_APPLIED,
            attempt,
            attempt.plus(callTimeout),
            s -> s.switchActive(request))
        .getToken();
  }

  /**
   * Step-down: moves the role from the active to the best peer, chosen by the cluster (an eligible,
   * healthy member other than the active, highest priority first); waits up to {@code timeout} for
   * it to be active. Refused (FAILED_PRECONDITION, not retried) when no node is active or no peer
   * may take the role.
   *
   * @return the node that took the role and its new token
   */
  public Handover stepDown(Duration timeout) {
    SwitchActiveRequest request =
        SwitchActiveRequest.newBuilder().setTimeoutMillis(timeout.toMillis()).build();
    Duration attempt = timeout.plus(Duration.ofSeconds(2));
    SwitchActiveResponse r =
        call(
            "step-down",
            Retry.IF_NOT_APPLIED,
            attempt,
            attempt.plus(callTimeout),
            s -> s.switchActive(request));
    return new Handover(r.getNodeId(), r.getToken());
  }

  /** The members as the leader knows them. */
  public List<dev.baton.core.control.proto.Member> members() {
    return call(
            "list members",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.listMembers(ListMembersRequest.getDefaultInstance()))
        .getMembersList();
  }

  /** Adds a member (started beforehand with {@code joining(true)}); returns the new list. */
  public List<dev.baton.core.control.proto.Member> addMember(Member member) {
    AddMemberRequest request =
        AddMemberRequest.newBuilder().setMember(Messages.member(member, "")).build();
    ListMembersResponse r =
        call(
            "add member " + member.id(),
            Retry.IF_NOT_APPLIED,
            membershipAttempt(),
            s -> s.addMember(request));
    return r.getMembersList();
  }

  /**
   * A membership change waits for the leader to stage the new member, change the configuration, and
   * see every new voter hold it: longer than a KV call, bounded on the node by seven operation
   * timeouts (35 s with the default 5 s).
   */
  private Duration membershipAttempt() {
    Duration floor = Duration.ofSeconds(40);
    return attemptTimeout.compareTo(floor) > 0 ? attemptTimeout : floor;
  }

  /** Removes a member; returns the new list. */
  public List<dev.baton.core.control.proto.Member> removeMember(String memberId) {
    RemoveMemberRequest request = RemoveMemberRequest.newBuilder().setMemberId(memberId).build();
    return call(
            "remove member " + memberId,
            Retry.IF_NOT_APPLIED,
            membershipAttempt(),
            s -> s.removeMember(request))
        .getMembersList();
  }

  // ---------------------------------------------------------------- KV

  public Optional<KvEntry> get(String key) {
    KvGetResponse r =
        call(
            "kv get '" + key + "'",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.kvGet(KvGetRequest.newBuilder().setKey(key).build()));
    return r.getFound() ? Optional.of(Messages.entry(r.getEntry())) : Optional.empty();
  }

  public List<KvEntry> list(String prefix) {
    return call(
            "kv list '" + prefix + "'",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.kvList(KvListRequest.newBuilder().setPrefix(prefix).build()))
        .getEntriesList()
        .stream()
        .map(Messages::entry)
        .toList();
  }

  public KvEntry put(String key, byte[] value) {
    KvPutRequest request =
        KvPutRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(value)).build();
    return Messages.entry(
        call("kv put '" + key + "'", Retry.IF_NOT_APPLIED, attemptTimeout, s -> s.kvPut(request))
            .getEntry());
  }

  /**
   * Sets {@code key} to {@code update} if its value is {@code expected} ({@code null}: absent).
   *
   * @return the new entry, or empty if the value did not match
   */
  public Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
    KvCompareAndSetRequest.Builder b =
        KvCompareAndSetRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(update));
    if (expected == null) {
      b.setExpectAbsent(true);
    } else {
      b.setExpectedValue(ByteString.copyFrom(expected));
    }
    return cas(key, b.build());
  }

  /** Sets {@code key} to {@code update} if its revision is {@code expectedRevision} (0: absent). */
  public Optional<KvEntry> compareAndSetRevision(String key, long expectedRevision, byte[] update) {
    return cas(
        key,
        KvCompareAndSetRequest.newBuilder()
            .setKey(key)
            .setValue(ByteString.copyFrom(update))
            .setExpectedRevision(expectedRevision)
            .build());
  }

  private Optional<KvEntry> cas(String key, KvCompareAndSetRequest request) {
    KvCompareAndSetResponse r =
        call(
            "kv compare-and-set '" + key + "'",
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.kvCompareAndSet(request));
    return r.getApplied() ? Optional.of(Messages.entry(r.getEntry())) : Optional.empty();
  }

  /** Removes {@code key}; returns whether it existed. */
  public boolean delete(String key) {
    return call(
            "kv delete '" + key + "'",
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.kvDelete(KvDeleteRequest.newBuilder().setKey(key).build()))
        .getExisted();
  }

  // ---------------------------------------------------------------- the call loop

  private <T> T call(
      String what, Retry retry, Duration perAttempt, Function<BatonControlBlockingStub, T> rpc) {
    return call(what, retry, perAttempt, callTimeout, rpc);
  }

  private <T> T call(
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
    throw translate(
        what + " gave up after " + total.toMillis() + " ms", lastEndpoint, last, attempt);
  }

  private static void sleepBackoff(int attempt, long deadlineNanos) {
    // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads the retries
    // of many clients after a leader change.
    long cap = Math.min(1000, 25L << Math.min(attempt, 6));
    long sleep = ThreadLocalRandom.current().nextLong(cap / 2, cap + 1);
    long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    try {
      Thread.sleep(Math.max(0, Math.min(sleep, left)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ControlException("interrupted while retrying", Status.Code.CANCELLED, false, e);
    }
  }

  /** The leader's endpoint, else any endpoint that answers, skipping those that just failed. */
  private String pickEndpoint(Set<String> failed, long probeMillis) {
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

  /** Configures a {@link BatonClient}. */
  public static final class Builder {
    private final List<String> endpoints = new ArrayList<>();
    private ChannelCredentials credentials;
    private Duration attemptTimeout = Duration.ofSeconds(6);
    private Duration callTimeout = Duration.ofSeconds(15);
    private Duration probeTimeout = Duration.ofSeconds(1);
    private Duration leaderCacheTtl = Duration.ofSeconds(30);

    private Builder() {}

    /** Control addresses ({@code host:port}) of one or more nodes. Required. */
    public Builder endpoints(String... hostPorts) {
      return endpoints(List.of(hostPorts));
    }

    public Builder endpoints(List<String> hostPorts) {
      endpoints.clear();
      endpoints.addAll(hostPorts);
      return this;
    }

    /** Mutual TLS: this client's certificate and key, and the certificates it trusts. */
    public Builder tls(TlsConfig tls) {
      try {
        this.credentials = ControlServer.channelCredentials(tls);
      } catch (IOException e) {
        throw new UncheckedIOException("client TLS files: " + e.getMessage(), e);
      }
      return this;
    }

    /**
     * Mutual TLS with a key derived from the cluster secret, for a cluster whose control API runs
     * on it ({@link ControlServer.Builder#clusterSecret}); this client proves that it holds the
     * secret under the name {@code clientName} (shown in the server's logs), and accepts only
     * servers that hold it too.
     */
    public Builder clusterSecret(ClusterSecretCredentials secret, String clientName) {
      if (clientName == null || clientName.isBlank()) {
        throw new IllegalArgumentException("BatonClient: clientName must not be blank");
      }
      this.credentials = ControlServer.secretClientCredentials(secret, clientName);
      return this;
    }

    /** The deadline of one attempt; default 6 s. */
    public Builder attemptTimeout(Duration timeout) {
      this.attemptTimeout = timeout;
      return this;
    }

    /** The deadline of a call with all its retries; default 15 s. */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = timeout;
      return this;
    }

    /** How long the client asks one endpoint for its status when it looks for the leader. */
    public Builder probeTimeout(Duration timeout) {
      this.probeTimeout = timeout;
      return this;
    }

    /** How long a known leader endpoint is trusted without a failure; default 30 s. */
    public Builder leaderCacheTtl(Duration ttl) {
      this.leaderCacheTtl = ttl;
      return this;
    }

    public BatonClient build() {
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException("BatonClient: give at least one endpoint (host:port)");
      }
      for (String e : endpoints) {
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
      for (Map.Entry<String, Duration> d :
          Map.of(
                  "attemptTimeout", attemptTimeout,
                  "callTimeout", callTimeout,
                  "probeTimeout", probeTimeout,
                  "leaderCacheTtl", leaderCacheTtl)
              .entrySet()) {
        if (d.getValue() == null || d.getValue().isZero() || d.getValue().isNegative()) {
          throw new IllegalArgumentException(
              "BatonClient: " + d.getKey() + " must be positive, got " + d.getValue());
        }
      }
      if (credentials == null) {
        credentials = io.grpc.InsecureChannelCredentials.create();
      }
      return new BatonClient(this);
    }
  }
}
