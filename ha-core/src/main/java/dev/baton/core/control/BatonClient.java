package dev.baton.core.control;

import com.google.protobuf.ByteString;
import dev.baton.core.Handover;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.ControlConnection.Retry;
import dev.baton.core.control.proto.AddMemberRequest;
import dev.baton.core.control.proto.HistoryRequest;
import dev.baton.core.control.proto.KvCompareAndSetRequest;
import dev.baton.core.control.proto.KvCompareAndSetResponse;
import dev.baton.core.control.proto.KvDeleteRequest;
import dev.baton.core.control.proto.KvGetRequest;
import dev.baton.core.control.proto.KvGetResponse;
import dev.baton.core.control.proto.KvListRequest;
import dev.baton.core.control.proto.KvPutRequest;
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
import io.grpc.ChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

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
 * compare-and-set can be checked with a read). Switch-active and maintenance are retried like a
 * write; both are idempotent anyway (switching to the active node returns its token; setting
 * maintenance to what it is changes only who set it and when).
 *
 * <p>Errors: an INVALID_ARGUMENT answer is thrown as {@link IllegalArgumentException} with the
 * server's message (as the embedded API does); every other failure is a {@link ControlException}
 * carrying the gRPC code.
 *
 * <p>Why this class is over 450 lines: it is the control API's Java façade, one documented method
 * per verb (about 300 lines of code, the rest their Javadoc); connecting, finding the leader and
 * retrying are {@link ControlConnection}'s. Returning API records instead of the generated messages
 * (issue 30) will shrink it.
 */
public final class BatonClient implements AutoCloseable {
  private final ControlConnection connection;
  private final Duration attemptTimeout;

  private BatonClient(Builder b) {
    this.connection =
        new ControlConnection(
            b.endpoints, b.credentials, b.callTimeout, b.probeTimeout, b.leaderCacheTtl);
    this.attemptTimeout = b.attemptTimeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The endpoints this client was given. */
  public List<String> endpoints() {
    return connection.endpoints();
  }

  /** The leader's endpoint as cached now, if any (for diagnostics and tests). */
  public Optional<String> cachedLeaderEndpoint() {
    return connection.cachedLeaderEndpoint();
  }

  // ---------------------------------------------------------------- status and role

  /** The leader's status (or, while no leader is known, that of any node that answers). */
  public StatusResponse status() {
    return connection.call(
        "status", Retry.ALWAYS, attemptTimeout, s -> s.status(StatusRequest.getDefaultInstance()));
  }

  /**
   * One node's own view, asked of {@code endpoint} alone, with one attempt bounded by {@code
   * timeout}: what a status table shows for each node.
   */
  public StatusResponse status(String endpoint, Duration timeout) {
    return connection.status(endpoint, timeout);
  }

  /**
   * Streams the role changes of the node at {@code endpoint}: first its current role, then every
   * change, until the returned handle is closed or the stream fails ({@code onError}, once).
   */
  public AutoCloseable watchRole(
      String endpoint, Consumer<RoleEvent> onEvent, Consumer<Throwable> onError) {
    return connection.openStream(
        "watch role",
        endpoint,
        (stub, observer) -> stub.watchRole(WatchRoleRequest.getDefaultInstance(), observer),
        onEvent,
        onError,
        false);
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
    return watchKeys(endpoint, prefix, afterRevision, false, onEvent, onError);
  }

  /**
   * As {@link #watchKeys(String, String, long, Consumer, Consumer)}; with {@code roles}, the stream
   * also carries every change of the active (events of type ACTIVATED, whose revision is the
   * activation's token), in log order with the key changes, and the replay from {@code
   * afterRevision} includes them. A server older than this field sends key changes only.
   */
  public AutoCloseable watchKeys(
      String endpoint,
      String prefix,
      long afterRevision,
      boolean roles,
      Consumer<dev.baton.core.control.proto.KvEvent> onEvent,
      Consumer<Throwable> onError) {
    if (afterRevision < 0) {
      throw new IllegalArgumentException("afterRevision must be 0 or more, not " + afterRevision);
    }
    WatchKeysRequest request =
        WatchKeysRequest.newBuilder()
            .setPrefix(prefix)
            .setAfterRevision(afterRevision)
            .setRoles(roles)
            .build();
    return connection.openStream(
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
    return StatusErrors.oldestReplayable(failure);
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
    return connection
        .call(
            "switch-active to " + targetNodeId,
            Retry.IF_NOT_APPLIED,
            attempt,
            attempt.plus(connection.callTimeout()),
            s -> s.switchActive(request))
        .getToken();
  }

  /**
   * Step-down: moves the role from the active to the best peer, chosen by the cluster (an eligible,
   * healthy member other than the active, up and caught up as the leader sees it, highest priority
   * first; see {@code BatonNode.resign(Duration)}); waits up to {@code timeout} for it to be
   * active. Refused (FAILED_PRECONDITION, not retried) when no node is active or no peer may take
   * the role.
   *
   * @return the node that took the role and its new token
   */
  public Handover stepDown(Duration timeout) {
    SwitchActiveRequest request =
        SwitchActiveRequest.newBuilder().setTimeoutMillis(timeout.toMillis()).build();
    Duration attempt = timeout.plus(Duration.ofSeconds(2));
    SwitchActiveResponse r =
        connection.call(
            "step-down",
            Retry.IF_NOT_APPLIED,
            attempt,
            attempt.plus(connection.callTimeout()),
            s -> s.switchActive(request));
    return new Handover(r.getNodeId(), r.getToken());
  }

  // ---------------------------------------------------------------- maintenance mode

  /**
   * Turns the cluster's maintenance mode on or off: see {@link Maintenance} for what it suspends
   * (role moves for health) and what it does not (switch-active, step-down, the replacement of a
   * dead active). Any node may be asked; the change goes through Raft. With TLS on, only an
   * authorised client may (as for switch-active), and the change records its certificate name as
   * {@link Maintenance#client()}. Retried like a write: only when known not applied.
   *
   * @param reason why, for people reading status and logs (may be empty): one line, at most {@link
   *     Maintenance#MAX_REASON_LENGTH} characters
   * @return the state the change made
   * @throws IllegalArgumentException if the node refused the reason (naming why); nothing changed
   * @throws ControlException with PERMISSION_DENIED when TLS is on and this client is not
   *     authorised, or another code when the call failed
   */
  public Maintenance maintenance(boolean on, String reason) {
    Objects.requireNonNull(reason, "reason");
    MaintenanceRequest request =
        MaintenanceRequest.newBuilder().setOn(on).setReason(reason).build();
    MaintenanceState made =
        connection.call(
            "maintenance " + (on ? "on" : "off"),
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.maintenance(request));
    return Messages.maintenance(made);
  }

  /**
   * The cluster's maintenance mode as the node answering (the leader when it can be reached) has
   * applied it; {@link Maintenance#NEVER_SET} when nobody ever set it, and from a server that
   * predates maintenance mode.
   */
  public Maintenance maintenance() {
    return Messages.maintenance(status().getMaintenance());
  }

  /**
   * The activation history, oldest first in token order, as the node answering has applied it (the
   * leader when it can be reached): see {@link dev.baton.core.BatonNode#history()}. As messages,
   * like {@link #members()}: a newer server's reasons and fields pass through unchanged.
   */
  public List<dev.baton.core.control.proto.Activation> history() {
    return connection
        .call(
            "history",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.history(HistoryRequest.getDefaultInstance()))
        .getActivationsList();
  }

  /** The members as the leader knows them. */
  public List<dev.baton.core.control.proto.Member> members() {
    return connection
        .call(
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
        connection.call(
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
    return connection
        .call(
            "remove member " + memberId,
            Retry.IF_NOT_APPLIED,
            membershipAttempt(),
            s -> s.removeMember(request))
        .getMembersList();
  }

  // ---------------------------------------------------------------- KV

  public Optional<KvEntry> get(String key) {
    KvGetResponse r =
        connection.call(
            "kv get '" + key + "'",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.kvGet(KvGetRequest.newBuilder().setKey(key).build()));
    return r.getFound() ? Optional.of(Messages.entry(r.getEntry())) : Optional.empty();
  }

  public List<KvEntry> list(String prefix) {
    return connection
        .call(
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
        connection
            .call(
                "kv put '" + key + "'", Retry.IF_NOT_APPLIED, attemptTimeout, s -> s.kvPut(request))
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
        connection.call(
            "kv compare-and-set '" + key + "'",
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.kvCompareAndSet(request));
    return r.getApplied() ? Optional.of(Messages.entry(r.getEntry())) : Optional.empty();
  }

  /** Removes {@code key}; returns whether it existed. */
  public boolean delete(String key) {
    return connection
        .call(
            "kv delete '" + key + "'",
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.kvDelete(KvDeleteRequest.newBuilder().setKey(key).build()))
        .getExisted();
  }

  @Override
  public void close() {
    connection.close();
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
        this.credentials = GrpcCredentials.channel(tls);
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
      this.credentials = GrpcCredentials.secretClient(secret, clientName);
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
      endpoints.forEach(ControlConnection::requireHostPort);
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
