package dev.baton.core.control;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.baton.core.BatonNode;
import dev.baton.core.Handover;
import dev.baton.core.KvEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.control.proto.BatonControlGrpc;
import dev.baton.core.control.proto.Health;
import dev.baton.core.control.proto.KvCompareAndSetRequest;
import dev.baton.core.control.proto.Role;
import dev.baton.core.control.proto.RoleEvent;
import dev.baton.core.control.proto.StatusResponse;
import dev.baton.testing.cluster.TestCluster;
import dev.baton.testing.steps.FragilePlan;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control API over a real three-node cluster in this JVM, through {@link BatonClient}. */
class ControlServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private TestCluster cluster;
  private final Map<String, String> endpoints = new LinkedHashMap<>();
  private final Map<String, ControlServer> servers = new LinkedHashMap<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private boolean onShared;

  /** Each server's probe interval; the probe's own test sets a shorter one before it starts. */
  private Duration probeInterval = Duration.ofMillis(200);

  private record Shared(
      TestCluster cluster,
      Map<String, String> endpoints,
      Map<String, ControlServer> servers,
      BatonClient client) {}

  private static Shared shared;

  /**
   * The cluster of the tests that change neither the role nor the membership, started once for the
   * class (each of them writes keys of its own): with a cluster each, most of their time went to
   * starting and stopping clusters.
   */
  private BatonClient sharedClusterAndClient() {
    if (shared == null) {
      BatonClient client = startClusterAndClient();
      closeables.remove(client);
      shared =
          new Shared(cluster, new LinkedHashMap<>(endpoints), new LinkedHashMap<>(servers), client);
    } else {
      cluster = shared.cluster();
      endpoints.putAll(shared.endpoints());
      servers.putAll(shared.servers());
    }
    onShared = true;
    return shared.client();
  }

  @AfterAll
  static void closeShared() throws Exception {
    if (shared != null) {
      shared.client().close();
      shared.servers().values().forEach(ControlServer::close);
      shared.cluster().close();
      shared = null;
    }
  }

  private BatonClient startClusterAndClient() {
    return startClusterAndClient(TestCluster.create(3, 0));
  }

  private BatonClient startClusterAndClient(TestCluster created) {
    cluster = created.startAll();
    for (Member m : cluster.members()) {
      endpoints.put(m.id(), "127.0.0.1:" + TestCluster.freePort());
    }
    for (BatonNode n : cluster.running()) {
      startServer(n);
    }
    BatonClient client =
        BatonClient.builder().endpoints(new ArrayList<>(endpoints.values())).build();
    closeables.add(client);
    return client;
  }

  private void startServer(BatonNode n) {
    String address = endpoints.get(n.id());
    ControlServer server =
        ControlServer.builder(n)
            .listen("127.0.0.1", Integer.parseInt(address.substring(address.indexOf(':') + 1)))
            .peerControlAddresses(endpoints)
            .probeInterval(probeInterval)
            // Plaintext on purpose: these tests are about the API and its authorisation without
            // TLS (ControlSecretTest and ControlSecretDefaultTest cover the secret).
            .insecurePlaintext()
            .build()
            .start();
    servers.put(n.id(), server);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    if (onShared) {
      return;
    }
    servers.values().forEach(ControlServer::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void statusNamesRoleTokenLeaderAndTheMembersWithTheirHealth() {
    BatonClient client = sharedClusterAndClient();
    BatonNode active = cluster.awaitActive(WAIT);

    StatusResponse leader =
        await().atMost(WAIT).until(client::status, s -> s.getRole() == Role.ACTIVE);
    assertThat(leader.getNodeId()).isEqualTo(active.id());
    assertThat(leader.getToken()).isEqualTo(active.token()).isPositive();
    assertThat(leader.getLeaderId()).isEqualTo(active.id());
    assertThat(leader.getClusterId()).isEqualTo(cluster.clusterId());
    assertThat(leader.getTerm()).isPositive();
    assertThat(leader.getPromotion().getState()).isNotEmpty();
    assertThat(client.cachedLeaderEndpoint()).contains(endpoints.get(active.id()));

    // The same, as the library's records (issue 30).
    StatusReport report =
        await()
            .atMost(WAIT)
            .until(client::statusReport, r -> r.node().role() == dev.baton.core.Role.ACTIVE);
    assertThat(report.node().nodeId()).isEqualTo(active.id());
    assertThat(report.node().token()).isEqualTo(active.token());
    assertThat(report.node().leaderId()).contains(active.id());
    assertThat(report.node().clusterId()).isEqualTo(cluster.clusterId());
    assertThat(report.node().promotion().state()).isNotNull();

    // Every member answers the leader's probes; each reports its own role.
    StatusReport withHealth =
        await()
            .atMost(WAIT)
            .until(
                () -> client.statusReport(endpoints.get(active.id()), Duration.ofSeconds(2)),
                r ->
                    r.peers().values().stream()
                        .allMatch(
                            p ->
                                p.reachability() == StatusReport.Reachability.SELF
                                    || p.reachability() == StatusReport.Reachability.REACHABLE));
    assertThat(withHealth.peers().keySet()).containsExactlyInAnyOrderElementsOf(endpoints.keySet());
    for (dev.baton.core.NodeStatus.MemberStatus m : withHealth.node().members()) {
      String id = m.member().id();
      StatusReport.Peer p = withHealth.peers().get(id);
      assertThat(p.controlAddress()).contains(endpoints.get(id));
      assertThat(m.inConfiguration()).isTrue();
      assertThat(m.leader()).isEqualTo(id.equals(active.id()));
      assertThat(m.active()).isEqualTo(id.equals(active.id()));
      assertThat(p.reportedRole())
          .contains(
              id.equals(active.id()) ? dev.baton.core.Role.ACTIVE : dev.baton.core.Role.STANDBY);
      assertThat(p.lastSeen()).isPresent();
    }
    // The record carries the whole answer: turned back into the message it is the answer itself.
    StatusResponse message = client.status(endpoints.get(active.id()), Duration.ofSeconds(2));
    assertThat(ControlMessages.status(Messages.statusReport(message))).isEqualTo(message);

    // A standby's own view: standby, knows who is active.
    String standby = otherThan(active.id());
    StatusReport s = client.statusReport(endpoints.get(standby), Duration.ofSeconds(2));
    assertThat(s.node().nodeId()).isEqualTo(standby);
    assertThat(s.node().role()).isEqualTo(dev.baton.core.Role.STANDBY);
    assertThat(s.node().token()).isEqualTo(BatonNode.NO_TOKEN);
    await()
        .atMost(WAIT)
        .until(
            () ->
                client
                    .statusReport(endpoints.get(standby), Duration.ofSeconds(2))
                    .node()
                    .activeNodeId(),
            Optional.of(active.id())::equals);
  }

  /**
   * Issue 37, watch: WatchKeys refuses a prefix that can match no key with INVALID_ARGUMENT naming
   * it (before, it watched nothing, silently); with roles set it carries the activations among the
   * key changes in log order, replayed from a revision as the keys are; without, keys only. (A live
   * switch on the stream is in switchActiveMovesTheRoleAndTheRoleStreamsReportIt, and as a
   * watcher's role line with processes in SidecarProcessTest.)
   */
  @Test
  void watchKeysRefusesABadPrefixNamingItAndWithRolesReplaysTheActivationsAmongTheKeys()
      throws Exception {
    BatonClient client = sharedClusterAndClient();
    BatonNode active = cluster.awaitActive(WAIT);
    String watched = otherThan(active.id());
    String endpoint = endpoints.get(watched);
    for (String bad : List.of("bad\u0001", "x".repeat(600))) {
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      try (AutoCloseable w = client.watchKeys(endpoint, bad, 0, true, e -> {}, failures::add)) {
        await().atMost(WAIT).until(() -> !failures.isEmpty());
      }
      Status status = Status.fromThrowable(failures.get(0));
      assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription())
          .contains("watch keys: prefix '" + (bad.length() > 40 ? bad.substring(0, 40) : "bad?"))
          .contains(bad.length() > 40 ? "600 bytes long" : "control character U+0001");
    }

    KvEntry a = client.put("rw/a", "1".getBytes(UTF_8));
    KvEntry b = client.put("rw/b", "1".getBytes(UTF_8));
    List<dev.baton.core.control.proto.KvEvent> withRoles = new CopyOnWriteArrayList<>();
    List<dev.baton.core.control.proto.KvEvent> keysOnly = new CopyOnWriteArrayList<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    // From just before a: the class's other tests delete keys, and a watch cannot replay past a
    // delete.
    long from = a.revision() - 1;
    try (AutoCloseable w1 =
            client.watchKeys(endpoint, "rw/", from, true, withRoles::add, failures::add);
        AutoCloseable w2 =
            client.watchKeys(endpoint, "rw/", from, false, keysOnly::add, failures::add)) {
      await()
          .atMost(WAIT)
          .until(
              () ->
                  !failures.isEmpty()
                      || withRoles.stream().anyMatch(e -> e.getRevision() == b.revision())
                          && keysOnly.size() >= 2);
    }
    // Closing a watch is no failure: its own cancellation must not reach the failure callback.
    await("no failure after the watches were closed")
        .during(Duration.ofMillis(500))
        .atMost(WAIT)
        .until(failures::isEmpty);
    // The watched node has applied b: its history holds every activation the replay may send
    // (none unless the role moved on its own since a).
    List<String> expected =
        cluster.node(watched).cluster().history().stream()
            .filter(h -> h.token() > from && h.token() < b.revision())
            .map(h -> h.nodeId() + "@" + h.token() + " " + h.reason())
            .toList();
    assertThat(withRoles)
        .filteredOn(e -> e.getType() == dev.baton.core.control.proto.KvEvent.Type.ACTIVATED)
        .as("the activations replayed, their tokens as revisions")
        .allSatisfy(e -> assertThat(e.getRevision()).isEqualTo(e.getActivation().getToken()))
        .extracting(
            e ->
                e.getActivation().getNodeId()
                    + "@"
                    + e.getActivation().getToken()
                    + " "
                    + e.getActivation().getReason())
        .containsExactlyElementsOf(expected);
    assertThat(withRoles)
        .extracting(dev.baton.core.control.proto.KvEvent::getRevision)
        .as("one stream in log order")
        .isSorted()
        .contains(a.revision(), b.revision());
    assertThat(keysOnly)
        .extracting(dev.baton.core.control.proto.KvEvent::getType)
        .containsOnly(dev.baton.core.control.proto.KvEvent.Type.PUT);
  }

  /**
   * An embedder (the sidecar) gives the server the steps that work beside the role as Baton's
   * records ({@code Builder.steps}); every status the server answers carries them, and a client
   * reads them back as the same records.
   */
  @Test
  void theStepsGivenToTheServerAreInEveryStatusItAnswers() {
    BatonClient client = sharedClusterAndClient();
    BatonNode node = cluster.awaitActive(WAIT);
    StatusReport.StepState step =
        new StatusReport.StepState(
            "dns-api",
            "dns",
            "PENDING",
            false,
            7,
            Optional.of(Instant.ofEpochMilli(1_765_000_000_000L)),
            Duration.ofMillis(1500),
            3,
            Optional.of("SERVFAIL from 10.0.0.53"),
            Optional.of(Instant.ofEpochMilli(1_765_000_001_000L)),
            List.of(new StatusReport.Target("api.example.com.", List.of("A 10.0.1.5"))));
    int port = TestCluster.freePort();
    ControlServer server =
        ControlServer.builder(node)
            .listen("127.0.0.1", port)
            .insecurePlaintext()
            .steps(() -> List.of(step))
            .build()
            .start();
    closeables.add(server);

    assertThat(server.statusReport().steps()).containsExactly(step);
    assertThat(client.statusReport("127.0.0.1:" + port, WAIT).steps()).containsExactly(step);
  }

  @Test
  void keyValueCallsWorkOnAnyNodeAndBadInputIsInvalidArgumentNamingTheKey() {
    BatonClient client = sharedClusterAndClient();
    cluster.awaitActive(WAIT);

    KvEntry put = client.put("app/owner", "east".getBytes(UTF_8));
    assertThat(put.revision()).isPositive();
    assertThat(client.get("app/owner")).map(KvEntry::valueAsString).contains("east");
    assertThat(client.get("app/none")).isEmpty();

    assertThat(client.compareAndSet("app/owner", "west".getBytes(UTF_8), "x".getBytes(UTF_8)))
        .isEmpty();
    Optional<KvEntry> swapped =
        client.compareAndSet("app/owner", "east".getBytes(UTF_8), "west".getBytes(UTF_8));
    assertThat(swapped).map(KvEntry::valueAsString).contains("west");
    assertThat(client.compareAndSet("app/new", null, "1".getBytes(UTF_8))).isPresent();
    assertThat(client.compareAndSet("app/new", null, "2".getBytes(UTF_8))).isEmpty();
    long rev = swapped.get().revision();
    assertThat(client.compareAndSetRevision("app/owner", rev + 1000, "y".getBytes(UTF_8)))
        .isEmpty();
    assertThat(client.compareAndSetRevision("app/owner", rev, "z".getBytes(UTF_8))).isPresent();
    assertThat(client.list("app/"))
        .extracting(KvEntry::key)
        .containsExactly("app/new", "app/owner");
    assertThat(client.delete("app/new")).isTrue();
    assertThat(client.delete("app/new")).isFalse();

    // Any node serves a write: ask one standby directly.
    BatonNode active = cluster.active().orElseThrow();
    try (BatonClient viaStandby =
        BatonClient.builder().endpoints(endpoints.get(otherThan(active.id()))).build()) {
      assertThat(viaStandby.put("app/via-standby", new byte[] {1}).revision()).isPositive();
      assertThat(client.get("app/via-standby")).isPresent();
    }

    assertThatThrownBy(() -> client.put("", new byte[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key");
    assertThatThrownBy(() -> client.put("big", new byte[70 * 1024]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("big");

    // A compare-and-set without an expectation is refused, naming what to set.
    ManagedChannel raw =
        Grpc.newChannelBuilder(endpoints.get(active.id()), InsecureChannelCredentials.create())
            .build();
    closeables.add(raw::shutdownNow);
    assertThatThrownBy(
            () ->
                BatonControlGrpc.newBlockingStub(raw)
                    .kvCompareAndSet(KvCompareAndSetRequest.newBuilder().setKey("k").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .contains("expected_value, expect_absent or expected_revision");
            });
  }

  /**
   * Issue 37: maintenance mode through the control API. The change goes through Raft, and every
   * member's status shows it, naming the member whose API received it (the client sends it to the
   * leader); without TLS no client has a name to record. A reason that status lines could not show
   * is refused naming why.
   */
  @Test
  void maintenanceIsSetThroughTheApiAndEveryMembersStatusShowsIt() {
    BatonClient client = sharedClusterAndClient();
    BatonNode active = cluster.awaitActive(WAIT);
    assertThatThrownBy(() -> client.maintenance(true, "two\nlines"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("control character");

    Maintenance on = client.maintenance(true, "database upgrade (ticket 4711)");
    assertThat(on.on()).isTrue();
    assertThat(on.reason()).isEqualTo("database upgrade (ticket 4711)");
    assertThat(on.setBy()).hasValueSatisfying(id -> assertThat(endpoints).containsKey(id));
    assertThat(on.client()).isEmpty();
    assertThat(on.setAt()).isPresent();
    assertThat(on.index()).isPositive();
    for (String id : endpoints.keySet()) {
      await("maintenance in the status of " + id)
          .atMost(WAIT)
          .until(
              () -> client.statusReport(endpoints.get(id), Duration.ofSeconds(2)).maintenance(),
              m -> m.isPresent() && m.get().on() && m.get().index() == on.index());
    }
    String standby = otherThan(active.id());
    assertThat(client.statusReport(endpoints.get(standby), Duration.ofSeconds(2)).maintenance())
        .contains(on);
    StatusResponse seen = client.status(endpoints.get(standby), Duration.ofSeconds(2));
    assertThat(seen.getMaintenance().getSetBy()).isEqualTo(on.setBy().orElseThrow());
    assertThat(seen.getMaintenance().getClient()).isEmpty();
    assertThat(seen.getMaintenance().getReason()).isEqualTo("database upgrade (ticket 4711)");
    assertThat(seen.getMaintenance().getSetAtUnixMillis())
        .isEqualTo(on.setAt().orElseThrow().toEpochMilli());
    assertThat(client.maintenance()).isEqualTo(on);
    // It moved no role.
    assertThat(cluster.active()).map(BatonNode::id).contains(active.id());

    Maintenance off = client.maintenance(false, "");
    assertThat(off.on()).isFalse();
    assertThat(off.index()).isGreaterThan(on.index());
    await().atMost(WAIT).until(client::maintenance, m -> !m.on());
  }

  @Test
  void switchActiveMovesTheRoleAndTheRoleStreamsReportIt() throws Exception {
    BatonClient client = startClusterAndClient();
    BatonNode old = cluster.awaitActive(WAIT);
    long oldToken = old.token();
    String target = otherThan(old.id());

    List<RoleChange> targetEvents = new CopyOnWriteArrayList<>();
    List<RoleEvent> oldEvents = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    closeables.add(client.watchRoleChanges(endpoints.get(target), targetEvents::add, errors::add));
    // The deprecated form, as generated messages, still streams the same.
    closeables.add(client.watchRole(endpoints.get(old.id()), oldEvents::add, errors::add));
    // The cluster's role changes among the key changes, watched on the third member (issue 37).
    String third =
        endpoints.keySet().stream()
            .filter(id -> !id.equals(old.id()) && !id.equals(target))
            .findFirst()
            .orElseThrow();
    KvEntry before = client.put("sw/before", "1".getBytes(UTF_8));
    List<WatchEvent> changes = new CopyOnWriteArrayList<>();
    closeables.add(
        client.watchKeyChanges(
            endpoints.get(third), "sw/", before.revision(), true, changes::add, errors::add));
    // Each stream starts with the node's current role.
    await().atMost(WAIT).until(() -> !targetEvents.isEmpty() && !oldEvents.isEmpty());
    assertThat(targetEvents.get(0).role()).isEqualTo(dev.baton.core.Role.STANDBY);
    assertThat(targetEvents.get(0).token()).isEqualTo(BatonNode.NO_TOKEN);
    assertThat(oldEvents.get(0).getRole()).isEqualTo(Role.ACTIVE);
    assertThat(oldEvents.get(0).getToken()).isEqualTo(oldToken);

    long token = client.switchActive(target, Duration.ofSeconds(20));

    assertThat(token).isGreaterThan(oldToken);
    assertThat(cluster.awaitActive(WAIT).id()).isEqualTo(target);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(targetEvents)
                  .anySatisfy(
                      e -> {
                        assertThat(e.role()).isEqualTo(dev.baton.core.Role.ACTIVE);
                        assertThat(e.token()).isEqualTo(token);
                        assertThat(e.nodeId()).isEqualTo(target);
                        assertThat(e.previousActive()).contains(old.id());
                        assertThat(e.previousToken()).isEqualTo(oldToken);
                        assertThat(e.standbyReason()).isEmpty();
                      });
              assertThat(oldEvents)
                  .anySatisfy(
                      e -> {
                        assertThat(e.getRole()).isEqualTo(Role.STANDBY);
                        assertThat(e.getStandbyReason()).isEqualTo("SWITCH_ACTIVE");
                      });
            });
    assertThat(errors).isEmpty();
    KvEntry after = client.put("sw/after", "1".getBytes(UTF_8));
    await()
        .atMost(WAIT)
        .until(() -> changes.stream().anyMatch(e -> e.revision() == after.revision()));
    assertThat(changes)
        .extracting(
            e ->
                e.type()
                    + " "
                    + e.activation()
                        .map(
                            a ->
                                a.nodeId()
                                    + " "
                                    + a.reason()
                                    + " after "
                                    + a.previousNodeId().orElse("")
                                    + "@"
                                    + a.previousToken())
                        .orElseGet(() -> e.entry().orElseThrow().key())
                    + " @"
                    + e.revision())
        .as("the switch between the two puts, in log order")
        .containsExactly(
            "ACTIVATED "
                + target
                + " SWITCH_ACTIVE after "
                + old.id()
                + "@"
                + oldToken
                + " @"
                + token,
            "PUT sw/after @" + after.revision());
    // A watcher that resumes after the put before the switch gets the same, replayed (here through
    // the deprecated form, as generated messages).
    List<dev.baton.core.control.proto.KvEvent> replayed = new CopyOnWriteArrayList<>();
    try (AutoCloseable w =
        client.watchKeys(
            endpoints.get(third), "sw/", before.revision(), true, replayed::add, errors::add)) {
      await().atMost(WAIT).until(() -> replayed.size() >= 2);
    }
    // The same changes; a replayed activation is its history record as it is now (promoted since).
    assertThat(replayed)
        .extracting(e -> e.getType() + " @" + e.getRevision() + " " + e.getActivation().getReason())
        .isEqualTo(
            changes.subList(0, 2).stream()
                .map(
                    e ->
                        e.type()
                            + " @"
                            + e.revision()
                            + " "
                            + e.activation().map(a -> a.reason().name()).orElse(""))
                .toList());
    assertThat(replayed.get(0).getActivation().getPromoted()).isTrue();

    assertThatThrownBy(() -> client.switchActive("nobody", Duration.ofSeconds(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'nobody' is not a member");

    // Step-down names no target: the role moves from the active to another node, planned.
    Handover h = client.stepDown(Duration.ofSeconds(20));
    assertThat(h.nodeId()).isNotEqualTo(target);
    assertThat(h.token()).isGreaterThan(token);
    assertThat(cluster.awaitActive(WAIT).id()).isEqualTo(h.nodeId());
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(targetEvents)
                    .anySatisfy(
                        e -> {
                          assertThat(e.role()).isEqualTo(dev.baton.core.Role.STANDBY);
                          assertThat(e.standbyReason()).contains("SWITCH_ACTIVE");
                        }));

    // The history, through the API: both moves, in token order, each a SWITCH_ACTIVE naming the
    // member that took the request, the step-down's record naming the node that took the role.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              List<dev.baton.core.Activation> history = client.activations();
              assertThat(history)
                  .extracting(dev.baton.core.Activation::token)
                  .isSorted()
                  .contains(oldToken, token, h.token());
              assertThat(history)
                  .filteredOn(a -> a.token() == token || a.token() == h.token())
                  .allSatisfy(
                      a -> {
                        assertThat(a.reason())
                            .isEqualTo(dev.baton.core.Activation.Reason.SWITCH_ACTIVE);
                        assertThat(cluster.members())
                            .extracting(dev.baton.core.Member::id)
                            .contains(a.requester().orElseThrow());
                        assertThat(a.proposedAt()).isPresent();
                      });
              assertThat(history)
                  .filteredOn(a -> a.token() == h.token())
                  .singleElement()
                  .satisfies(a -> assertThat(a.nodeId()).isEqualTo(h.nodeId()));
              // The records are the answer: turned back, they are the messages the node sent.
              List<dev.baton.core.control.proto.Activation> messages = client.history();
              if (messages.size() == history.size()) {
                assertThat(ControlMessages.history(history).getActivationsList())
                    .isEqualTo(messages);
              }
            });
  }

  /**
   * Step-down with no member that may take the role (the other member is a witness) is refused at
   * once, naming who was passed over and why; the active stays.
   */
  @Test
  void aStepDownWithNoPeerToTakeTheRoleIsRefusedNamingWhyAndTheActiveStays() {
    BatonClient client = startClusterAndClient(TestCluster.create(1, 2));
    BatonNode active = cluster.awaitActive(WAIT);
    long token = active.token();
    assertThatThrownBy(() -> client.stepDown(Duration.ofSeconds(10)))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining("no member other than the active " + active.id())
        .hasMessageContaining("w1 (witness)")
        .hasMessageContaining("the active stays");
    assertThat(active.isActive()).isTrue();
    assertThat(active.token()).isEqualTo(token);
  }

  @Test
  void aSwitchWhoseTargetsPlanFailsIsAbortedNamingTheStepAndItsError() {
    FragilePlan fragile = new FragilePlan();
    BatonClient client =
        startClusterAndClient(
            TestCluster.create(
                3, 0, TestCluster.TIMING, (id, b) -> b.promotionPlan(fragile.plan())));
    BatonNode old = cluster.awaitActive(WAIT);
    String target = otherThan(old.id());
    fragile.breakOn(target);

    assertThatThrownBy(() -> client.switchActive(target, Duration.ofSeconds(20)))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.ABORTED);
              assertThat(e.getMessage())
                  .contains("switch-active to " + target)
                  .contains("gave it up before it became active")
                  .contains("step 'fragile' failed")
                  .contains("writer unreachable from " + target)
                  .doesNotContain("may or may not");
            });
    // Another node, whose plan works, takes the role.
    await()
        .atMost(WAIT)
        .until(() -> cluster.active().filter(n -> !n.id().equals(target)).isPresent());
  }

  /**
   * Issue 33: the peer probe was a third of an idle node's CPU. It now probes only while the status
   * is read; a peer's probe call does not count as a read (or the members would keep each other
   * awake), a client's Status call does, and the first read after a quiet spell reports the health
   * of a fresh round.
   */
  @Test
  void thePeerProbeRunsOnlyWhileTheStatusIsReadAndPeersProbesDoNotWakeIt() {
    // The probe stays awake for 60 intervals after a read, which the test waits out: 100 ms
    // intervals (6 s) rather than the other tests' 200 ms (12 s). A member is still REACHABLE for
    // three intervals after its last answer, 300 ms.
    probeInterval = Duration.ofMillis(100);
    Duration awake = probeInterval.multipliedBy(ControlServer.PROBE_AWAKE_INTERVALS);
    startClusterAndClient();
    BatonNode active = cluster.awaitActive(WAIT);
    ControlServer watched = servers.get(active.id());
    List<ControlServer> others = servers.values().stream().filter(s -> s != watched).toList();

    // Nobody has read a status: no node probes.
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(5))
        .until(() -> servers.values().stream().mapToLong(ControlServer::probeRounds).sum() == 0);
    // Nor has any built its channels to the others: an idle node loads no gRPC client (issue 34).
    assertThat(servers.values()).allSatisfy(s -> assertThat(s.probeChannels()).isZero());

    // One read wakes that node's probe, and its health comes from the round the read started.
    await()
        .atMost(WAIT)
        .until(
            watched::status,
            s ->
                s.getMembersList().stream()
                    .allMatch(
                        m -> m.getHealth() == Health.SELF || m.getHealth() == Health.REACHABLE));
    long readAt = System.nanoTime();
    await().atMost(WAIT).until(() -> watched.probeRounds() >= 3);
    // Its probe calls, answered by the others, do not wake theirs.
    assertThat(others).allSatisfy(o -> assertThat(o.probeRounds()).isZero());
    assertThat(watched.probeChannels()).isEqualTo(others.size());
    assertThat(others).allSatisfy(o -> assertThat(o.probeChannels()).isZero());

    // A client's Status call (not a probe) wakes the node it asks.
    ControlServer asked = others.get(0);
    ManagedChannel channel =
        Grpc.newChannelBuilder(asked.address(), InsecureChannelCredentials.create()).build();
    try {
      BatonControlGrpc.newBlockingStub(channel)
          .status(dev.baton.core.control.proto.StatusRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
    await().atMost(WAIT).until(() -> asked.probeRounds() >= 1);

    // 60 intervals (6 s) after the last read the watched node's probe sleeps again.
    long[] last = {-1};
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              long r = watched.probeRounds();
              boolean still = r == last[0];
              last[0] = r;
              return still && System.nanoTime() - readAt > awake.plusSeconds(1).toNanos();
            });
    long slept = watched.probeRounds();
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(5))
        .until(() -> watched.probeRounds() == slept);
  }

  @Test
  void theClientFollowsTheLeaderWhenTheActiveDies() {
    BatonClient client = startClusterAndClient();
    BatonNode old = cluster.awaitActive(WAIT);
    client.put("k", "1".getBytes(UTF_8));
    assertThat(client.cachedLeaderEndpoint()).contains(endpoints.get(old.id()));

    servers.remove(old.id()).close();
    cluster.crash(old.id());

    // Reads and writes go on through the new leader, found without being told.
    KvEntry e = client.put("k", "2".getBytes(UTF_8));
    assertThat(e.valueAsString()).isEqualTo("2");
    assertThat(client.get("k")).map(KvEntry::valueAsString).contains("2");
    BatonNode now = cluster.awaitActive(WAIT);
    assertThat(now.id()).isNotEqualTo(old.id());
    await().atMost(WAIT).until(() -> client.status().getNodeId(), now.id()::equals);
    assertThat(client.cachedLeaderEndpoint()).contains(endpoints.get(now.id()));
    // The dead member is reported unreachable by the survivors.
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.status().getMembersList().stream()
                    .filter(m -> m.getMember().getId().equals(old.id()))
                    .findFirst()
                    .orElseThrow()
                    .getHealth(),
            Health.UNREACHABLE::equals);
  }

  @Test
  void membersAreListedAddedAndRemoved() {
    BatonClient client = startClusterAndClient();
    BatonNode active = cluster.awaitActive(WAIT);
    List<ClusterMember> members = client.listMembers();
    assertThat(members)
        .extracting(m -> m.member().id())
        .containsExactlyInAnyOrder("n1", "n2", "n3");
    assertThat(members).extracting(ClusterMember::member).hasSameElementsAs(cluster.members());
    assertThat(members)
        .allSatisfy(m -> assertThat(m.controlAddress()).contains(endpoints.get(m.member().id())));
    // The deprecated form answers the same, as generated messages.
    assertThat(client.members()).isEqualTo(members.stream().map(ControlMessages::member).toList());

    assertThatThrownBy(() -> client.removeFromCluster(active.id()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("switch-active to another node first");
    assertThatThrownBy(() -> client.removeFromCluster("ghost"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'ghost' is not a member");

    Member n4 = cluster.newMember("n4", false);
    BatonNode joining = cluster.builderFor("n4").joining(true).build();
    closeables.add(joining);
    joining.start();
    assertThat(client.addToCluster(n4)).extracting(ClusterMember::member).contains(n4);
    await()
        .atMost(WAIT)
        .until(
            () ->
                client.statusReport().node().members().stream()
                    .anyMatch(m -> m.member().id().equals("n4") && m.inConfiguration()));

    assertThat(client.removeFromCluster("n4"))
        .extracting(m -> m.member().id())
        .containsExactlyInAnyOrder("n1", "n2", "n3");
  }

  private String otherThan(String id) {
    return endpoints.keySet().stream().filter(n -> !n.equals(id)).findFirst().orElseThrow();
  }

  /**
   * Issue 15, item 9: a put with a huge token on the PostgreSQL writer record would send every pool
   * that follows it to any URL and make every genuine publish fail as stale. Keys under the
   * reserved {@code baton/} prefix are written by members through the state machine, never by an
   * ordinary client of the control API (here: no TLS, so no client is authorised).
   */
  @Test
  void anOrdinaryClientCannotWriteReservedKeysSuchAsTheWriterRecord() {
    BatonClient client = sharedClusterAndClient();
    cluster.awaitActive(WAIT);
    String key = "baton/postgres/orders/writer";
    byte[] hijack =
        "{\"token\":9223372036854775807,\"url\":\"jdbc:postgresql://evil/db\"}".getBytes(UTF_8);
    assertThatThrownBy(() -> client.put(key, hijack))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED))
        .hasMessageContaining(key);
    assertThatThrownBy(() -> client.compareAndSet(key, null, hijack))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
    assertThatThrownBy(() -> client.delete("baton/anything"))
        .isInstanceOfSatisfying(
            ControlException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED));
    assertThat(client.get(key)).isEmpty();
    // Ordinary keys are unaffected, and a member still writes reserved keys through its node.
    // (Not under app/: the key-value test lists that prefix on the same cluster.)
    assertThat(client.put("ordinary/x", "1".getBytes(UTF_8)).key()).isEqualTo("ordinary/x");
    BatonNode member = cluster.running().get(0);
    member.kv().put(key, "genuine".getBytes(UTF_8));
    assertThat(client.get(key).map(e -> new String(e.value(), UTF_8))).contains("genuine");
  }
}
