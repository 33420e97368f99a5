package dev.baton.core.control;

import dev.baton.core.Activation;
import dev.baton.core.Handover;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.TlsConfig;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusResponse;
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
import org.jspecify.annotations.Nullable;

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
 * <p>Answers are the library's records ({@link StatusReport}, {@link ClusterMember}, {@link
 * Activation}, {@link RoleChange}, {@link KvEntry}, ...), converted from the control API's messages
 * by the same code that the server converts them with. The methods that answer generated messages
 * are deprecated (since 0.3).
 *
 * <p>This class is the façade: one documented method per verb. Connecting, finding the leader and
 * retrying are {@link ControlConnection}'s; building each request and reading its answer is {@link
 * ControlCalls}'. Why it is over 450 lines: its last section keeps the forms that answer generated
 * messages, deprecated since 0.3 (about 100 lines); without them, under 380 remain, most of them
 * Javadoc and the {@link Builder}, both API.
 */
public final class BatonClient implements AutoCloseable {
  private final ControlConnection connection;
  private final ControlCalls calls;

  private BatonClient(Builder b) {
    this.connection =
        new ControlConnection(
            b.endpoints,
            // build() set them: mutual TLS, the cluster secret, or plaintext.
            Objects.requireNonNull(b.credentials, "credentials"),
            b.callTimeout,
            b.probeTimeout,
            b.leaderCacheTtl);
    this.calls = new ControlCalls(connection, b.attemptTimeout);
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

  /**
   * The leader's status (or, while no leader is known, that of any node that answers): its own view
   * and what it knows of the members, the steps beside the role and maintenance mode.
   *
   * @throws IllegalArgumentException for a promotion state this client does not know
   */
  public StatusReport statusReport() {
    return Messages.statusReport(calls.status());
  }

  /**
   * One node's own view, asked of {@code endpoint} alone, with one attempt bounded by {@code
   * timeout}: what a status table shows for each node.
   */
  public StatusReport statusReport(String endpoint, Duration timeout) {
    return Messages.statusReport(calls.status(endpoint, timeout));
  }

  /**
   * Streams the role changes of the node at {@code endpoint}: first its current role, then every
   * change, until the returned handle is closed or the stream fails ({@code onError}, once).
   */
  public AutoCloseable watchRoleChanges(
      String endpoint, Consumer<RoleChange> onChange, Consumer<Throwable> onError) {
    return calls.watchRole(endpoint, e -> onChange.accept(Messages.roleChange(e)), onError);
  }

  /**
   * Streams the changes to the keys under {@code prefix} as the node at {@code endpoint} applies
   * them, in revision order, until the returned handle is closed or the stream fails ({@code
   * onError}, once). With {@code afterRevision} above 0 the node first replays every key changed
   * after it (see the WatchKeys call in baton_control.proto); a {@link ControlException} with code
   * OUT_OF_RANGE says it cannot, and names the revision to re-read from. A watcher that reconnects
   * passes the revision of the last event it saw. With {@code roles}, the stream also carries every
   * change of the active ({@link WatchEvent.Type#ACTIVATED}, whose revision is the activation's
   * token), in log order with the key changes, and the replay from {@code afterRevision} includes
   * them; a server older than that sends key changes only.
   */
  public AutoCloseable watchKeyChanges(
      String endpoint,
      String prefix,
      long afterRevision,
      boolean roles,
      Consumer<WatchEvent> onEvent,
      Consumer<Throwable> onError) {
    return calls.watchKeys(
        endpoint,
        prefix,
        afterRevision,
        roles,
        e -> onEvent.accept(Messages.watchEvent(e)),
        onError);
  }

  /**
   * For a watch refused with OUT_OF_RANGE (the node cannot replay from the revision asked): the
   * oldest revision it can replay from; empty for any other failure.
   */
  public static java.util.OptionalLong oldestReplayable(Throwable failure) {
    return StatusErrors.oldestReplayable(failure);
  }

  // ---------------------------------------------------------------- switch-active, maintenance

  /**
   * Planned switchover to {@code targetNodeId}; waits up to {@code timeout} for it to be active.
   *
   * @return the target's new token
   */
  public long switchActive(String targetNodeId, Duration timeout) {
    Objects.requireNonNull(targetNodeId, "targetNodeId");
    return calls.switchActive("switch-active to " + targetNodeId, targetNodeId, timeout).getToken();
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
    var r = calls.switchActive("step-down", "", timeout);
    return new Handover(r.getNodeId(), r.getToken());
  }

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
    return Messages.maintenance(calls.maintenance(on, reason));
  }

  /**
   * The cluster's maintenance mode as the node answering (the leader when it can be reached) has
   * applied it; {@link Maintenance#NEVER_SET} when nobody ever set it, and from a server that
   * predates maintenance mode.
   */
  public Maintenance maintenance() {
    return Messages.maintenance(calls.status().getMaintenance());
  }

  // ---------------------------------------------------------------- history, members

  /**
   * The activation history, oldest first in token order, as the node answering has applied it (the
   * leader when it can be reached): see {@link dev.baton.core.BatonNode#history()}.
   *
   * @throws IllegalArgumentException naming the activation and the value, for a reason or a step
   *     outcome this client does not know (from a newer server)
   */
  public List<Activation> activations() {
    return calls.history().stream().map(Messages::activation).toList();
  }

  /** The members as the leader knows them, with their control addresses where it knows them. */
  public List<ClusterMember> listMembers() {
    return clusterMembers(calls.members());
  }

  /**
   * Adds a member (started beforehand with {@code joining(true)}) to the cluster's configuration.
   *
   * @return the members after the change
   */
  public List<ClusterMember> addToCluster(Member member) {
    return clusterMembers(calls.addMember(member));
  }

  /**
   * Removes a member from the cluster's configuration.
   *
   * @return the members after the change
   */
  public List<ClusterMember> removeFromCluster(String memberId) {
    return clusterMembers(calls.removeMember(memberId));
  }

  private static List<ClusterMember> clusterMembers(
      List<dev.baton.core.control.proto.Member> members) {
    return members.stream().map(Messages::clusterMember).toList();
  }

  // ---------------------------------------------------------------- KV

  public Optional<KvEntry> get(String key) {
    return calls.get(key);
  }

  public List<KvEntry> list(String prefix) {
    return calls.list(prefix);
  }

  public KvEntry put(String key, byte[] value) {
    return calls.put(key, value);
  }

  /**
   * Sets {@code key} to {@code update} if its value is {@code expected} ({@code null}: absent).
   *
   * @return the new entry, or empty if the value did not match
   */
  public Optional<KvEntry> compareAndSet(String key, byte @Nullable [] expected, byte[] update) {
    return calls.compareAndSet(key, expected, update);
  }

  /** Sets {@code key} to {@code update} if its revision is {@code expectedRevision} (0: absent). */
  public Optional<KvEntry> compareAndSetRevision(String key, long expectedRevision, byte[] update) {
    return calls.compareAndSetRevision(key, expectedRevision, update);
  }

  /** Removes {@code key}; returns whether it existed. */
  public boolean delete(String key) {
    return calls.delete(key);
  }

  // ---------------------------------------------------------------- deprecated: the generated
  // messages

  /**
   * The leader's status as the generated message.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #statusReport()}
   */
  @Deprecated(since = "0.3")
  public StatusResponse status() {
    return calls.status();
  }

  /**
   * One node's status as the generated message.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #statusReport(String,
   *     Duration)}
   */
  @Deprecated(since = "0.3")
  public StatusResponse status(String endpoint, Duration timeout) {
    return calls.status(endpoint, timeout);
  }

  /**
   * As {@link #watchRoleChanges}, as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #watchRoleChanges}
   */
  @Deprecated(since = "0.3")
  public AutoCloseable watchRole(
      String endpoint, Consumer<RoleEvent> onEvent, Consumer<Throwable> onError) {
    return calls.watchRole(endpoint, onEvent, onError);
  }

  /**
   * As {@link #watchKeyChanges} without roles, as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #watchKeyChanges}
   */
  @Deprecated(since = "0.3")
  public AutoCloseable watchKeys(
      String endpoint,
      String prefix,
      long afterRevision,
      Consumer<dev.baton.core.control.proto.KvEvent> onEvent,
      Consumer<Throwable> onError) {
    return calls.watchKeys(endpoint, prefix, afterRevision, false, onEvent, onError);
  }

  /**
   * As {@link #watchKeyChanges}, as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #watchKeyChanges}
   */
  @Deprecated(since = "0.3")
  public AutoCloseable watchKeys(
      String endpoint,
      String prefix,
      long afterRevision,
      boolean roles,
      Consumer<dev.baton.core.control.proto.KvEvent> onEvent,
      Consumer<Throwable> onError) {
    return calls.watchKeys(endpoint, prefix, afterRevision, roles, onEvent, onError);
  }

  /**
   * The activation history as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #activations()}
   */
  @Deprecated(since = "0.3")
  public List<dev.baton.core.control.proto.Activation> history() {
    return calls.history();
  }

  /**
   * The members as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #listMembers()}
   */
  @Deprecated(since = "0.3")
  public List<dev.baton.core.control.proto.Member> members() {
    return calls.members();
  }

  /**
   * Adds a member; returns the new list as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #addToCluster(Member)}
   */
  @Deprecated(since = "0.3")
  public List<dev.baton.core.control.proto.Member> addMember(Member member) {
    return calls.addMember(member);
  }

  /**
   * Removes a member; returns the new list as generated messages.
   *
   * @deprecated since 0.3, removable in 0.4 at the earliest: use {@link #removeFromCluster(String)}
   */
  @Deprecated(since = "0.3")
  public List<dev.baton.core.control.proto.Member> removeMember(String memberId) {
    return calls.removeMember(memberId);
  }

  @Override
  public void close() {
    connection.close();
  }

  /** Configures a {@link BatonClient}. */
  public static final class Builder {
    private final List<String> endpoints = new ArrayList<>();
    private @Nullable ChannelCredentials credentials; // null: none given, build() sets plaintext
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
      ControlConnection.check(
          endpoints,
          Map.of(
              "attemptTimeout", attemptTimeout,
              "callTimeout", callTimeout,
              "probeTimeout", probeTimeout,
              "leaderCacheTtl", leaderCacheTtl));
      if (credentials == null) {
        credentials = io.grpc.InsecureChannelCredentials.create();
      }
      return new BatonClient(this);
    }
  }
}
