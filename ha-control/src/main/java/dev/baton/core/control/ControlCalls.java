package dev.baton.core.control;

import com.google.protobuf.ByteString;
import dev.baton.core.KvEntry;
import dev.baton.core.Member;
import dev.baton.core.control.ControlConnection.Retry;
import dev.baton.core.control.proto.AddMemberRequest;
import dev.baton.core.control.proto.HistoryRequest;
import dev.baton.core.control.proto.KvCompareAndSetRequest;
import dev.baton.core.control.proto.KvCompareAndSetResponse;
import dev.baton.core.control.proto.KvDeleteRequest;
import dev.baton.core.control.proto.KvEvent;
import dev.baton.core.control.proto.KvGetRequest;
import dev.baton.core.control.proto.KvGetResponse;
import dev.baton.core.control.proto.KvListRequest;
import dev.baton.core.control.proto.KvPutRequest;
import dev.baton.core.control.proto.ListMembersRequest;
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
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The verbs of {@link BatonClient} on the wire: each builds its request, sends it through the
 * {@link ControlConnection} with its retry rule and deadline (the contract is {@link BatonClient}'s
 * class javadoc), and answers the control API's messages; {@link BatonClient} turns them into the
 * library's records with {@link Messages}.
 */
final class ControlCalls {
  private final ControlConnection connection;
  private final Duration attemptTimeout;

  ControlCalls(ControlConnection connection, Duration attemptTimeout) {
    this.connection = connection;
    this.attemptTimeout = attemptTimeout;
  }

  StatusResponse status() {
    return connection.call(
        "status", Retry.ALWAYS, attemptTimeout, s -> s.status(StatusRequest.getDefaultInstance()));
  }

  StatusResponse status(String endpoint, Duration timeout) {
    return connection.status(endpoint, timeout);
  }

  AutoCloseable watchRole(
      String endpoint, Consumer<RoleEvent> onEvent, Consumer<Throwable> onError) {
    return connection.openStream(
        "watch role",
        endpoint,
        (stub, observer) -> stub.watchRole(WatchRoleRequest.getDefaultInstance(), observer),
        onEvent,
        onError,
        false);
  }

  AutoCloseable watchKeys(
      String endpoint,
      String prefix,
      long afterRevision,
      boolean roles,
      Consumer<KvEvent> onEvent,
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

  /** A switch-active ({@code target} set) or a step-down ({@code target} empty). */
  SwitchActiveResponse switchActive(String what, String target, Duration timeout) {
    SwitchActiveRequest request =
        SwitchActiveRequest.newBuilder()
            .setTargetNodeId(target)
            .setTimeoutMillis(timeout.toMillis())
            .build();
    Duration attempt = timeout.plus(Duration.ofSeconds(2));
    return connection.call(
        what,
        Retry.IF_NOT_APPLIED,
        attempt,
        attempt.plus(connection.callTimeout()),
        s -> s.switchActive(request));
  }

  MaintenanceState maintenance(boolean on, String reason) {
    MaintenanceRequest request =
        MaintenanceRequest.newBuilder().setOn(on).setReason(reason).build();
    return connection.call(
        "maintenance " + (on ? "on" : "off"),
        Retry.IF_NOT_APPLIED,
        attemptTimeout,
        s -> s.maintenance(request));
  }

  List<dev.baton.core.control.proto.Activation> history() {
    return connection
        .call(
            "history",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.history(HistoryRequest.getDefaultInstance()))
        .getActivationsList();
  }

  List<dev.baton.core.control.proto.Member> members() {
    return connection
        .call(
            "list members",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.listMembers(ListMembersRequest.getDefaultInstance()))
        .getMembersList();
  }

  List<dev.baton.core.control.proto.Member> addMember(Member member) {
    AddMemberRequest request =
        AddMemberRequest.newBuilder().setMember(Messages.member(member, "")).build();
    return connection
        .call(
            "add member " + member.id(),
            Retry.IF_NOT_APPLIED,
            membershipAttempt(),
            s -> s.addMember(request))
        .getMembersList();
  }

  List<dev.baton.core.control.proto.Member> removeMember(String memberId) {
    RemoveMemberRequest request = RemoveMemberRequest.newBuilder().setMemberId(memberId).build();
    return connection
        .call(
            "remove member " + memberId,
            Retry.IF_NOT_APPLIED,
            membershipAttempt(),
            s -> s.removeMember(request))
        .getMembersList();
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

  Optional<KvEntry> get(String key) {
    KvGetResponse r =
        connection.call(
            "kv get '" + key + "'",
            Retry.ALWAYS,
            attemptTimeout,
            s -> s.kvGet(KvGetRequest.newBuilder().setKey(key).build()));
    return r.getFound() ? Optional.of(Messages.entry(r.getEntry())) : Optional.empty();
  }

  List<KvEntry> list(String prefix) {
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

  KvEntry put(String key, byte[] value) {
    KvPutRequest request =
        KvPutRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(value)).build();
    return Messages.entry(
        connection
            .call(
                "kv put '" + key + "'", Retry.IF_NOT_APPLIED, attemptTimeout, s -> s.kvPut(request))
            .getEntry());
  }

  Optional<KvEntry> compareAndSet(String key, byte @Nullable [] expected, byte[] update) {
    KvCompareAndSetRequest.Builder b =
        KvCompareAndSetRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(update));
    if (expected == null) {
      b.setExpectAbsent(true);
    } else {
      b.setExpectedValue(ByteString.copyFrom(expected));
    }
    return cas(key, b.build());
  }

  Optional<KvEntry> compareAndSetRevision(String key, long expectedRevision, byte[] update) {
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

  boolean delete(String key) {
    return connection
        .call(
            "kv delete '" + key + "'",
            Retry.IF_NOT_APPLIED,
            attemptTimeout,
            s -> s.kvDelete(KvDeleteRequest.newBuilder().setKey(key).build()))
        .getExisted();
  }
}
