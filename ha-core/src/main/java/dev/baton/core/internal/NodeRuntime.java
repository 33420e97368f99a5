package dev.baton.core.internal;

import dev.baton.core.ActionContext;
import dev.baton.core.ActiveContext;
import dev.baton.core.BatonException;
import dev.baton.core.Handover;
import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.JournalEntry;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.PromotionPlan;
import dev.baton.core.Role;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.Ticker;
import dev.baton.core.internal.proto.ActivationRecord;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running parts of one {@code BatonNode}, wired in the order the lease argument needs: the data
 * directory claimed, the state machine, metrics, the Raft node, the plan runner, health gating, the
 * role controller, membership, switch-over and the KV store; then, in {@link #start()}, the quiet
 * period and the servers. Not an API: the node makes one per {@code start()}, keeps its own
 * lifecycle state (built, started, closed) and delegates to it.
 */
public final class NodeRuntime {
  // The node's logger: what an operator reads under BatonNode stays under BatonNode. By name, so
  // that this package does not depend on the class that depends on it.
  private static final Logger LOG = LoggerFactory.getLogger("dev.baton.core.BatonNode");

  /** What the builder gives the node beyond its validated configuration. */
  public record Collaborators(
      MeterRegistry meterRegistry,
      PromotionPlan plan,
      MonotonicClock clock,
      Ticker ticker,
      List<Map.Entry<RoleListener, Executor>> listeners,
      List<HealthCheck> healthChecks,
      HealthPolicy healthPolicy) {}

  private final NodeConfig config;
  private final List<Map.Entry<RoleListener, Executor>> initialListeners;
  private final Consumer<String> stopItself;
  private final long quietUntil;
  private final BatonStateMachine stateMachine;
  private final RaftNode raft;
  private final PlanRunner planRunner;
  private final HealthGate health;
  private final RoleController controller;
  private final MembershipCoordinator membership;
  private final Switchover switchover;
  private final KvStore kv;
  private final NodeMetrics metrics;
  private ScheduledExecutorService raftWatch;

  /**
   * Claims the data directory (with the bootstrap probe) and creates every part; starts nothing.
   *
   * @param stopItself called with why when the node must stop on its own account
   * @throws BatonException if the data directory belongs to another cluster or node, or the Raft
   *     node cannot be created
   */
  public NodeRuntime(NodeConfig config, Collaborators parts, Consumer<String> stopItself) {
    this.config = config;
    this.initialListeners = parts.listeners();
    this.stopItself = stopItself;
    // Before anything exists: Ratis leaves the threads of a server that never started running.
    requireRaftPortFree();
    DataDirectory.claim(
        config.dataDir(),
        config.clusterId(),
        config.self().id(),
        config.bootstrap(),
        config.joining(),
        () ->
            BootstrapProbe.check(
                config, config.dataDir().toPath(), config.bootstrapProbeTimeout()));
    // Step 3 of the lease argument: this node may have acknowledged the old active's lease round
    // just before it crashed, and has forgotten it. Staying silent for one minimum election
    // timeout means it cannot help elect a new leader while that lease may still run.
    quietUntil = System.nanoTime() + config.timing().electionTimeoutMin().toNanos();
    stateMachine = new BatonStateMachine();
    metrics =
        new NodeMetrics(
            parts.meterRegistry(),
            config.clusterId(),
            config.self().id(),
            this::leaseSeconds,
            this::roleForMetrics);
    stateMachine.onRejected(metrics::entryRejected);
    stateMachine.onUnreadableLog(stopItself::accept);
    try {
      raft = new RaftNode(config, stateMachine, parts.clock(), metrics::raftRefused);
    } catch (IOException | RuntimeException e) {
      metrics.close();
      throw new BatonException("node " + config.self().id() + " cannot be created: " + e, e);
    }
    PlanRunner runner = null;
    try {
      runner = new PlanRunner(parts.plan(), config, raft, parts.clock(), metrics);
      planRunner = runner;
      health =
          new HealthGate(
              config,
              raft,
              parts.clock(),
              parts.ticker(),
              metrics,
              parts.healthChecks(),
              parts.healthPolicy());
      controller = new RoleController(config, raft, parts.clock(), runner, metrics, health);
      // baton_lease_lapses_total, counted from the reason the controller gives its listeners.
      controller.addListener(
          new RoleListener() {
            @Override
            public void onActive(ActiveContext context) {}

            @Override
            public void onStandby(StandbyReason reason) {
              if (reason == StandbyReason.LEASE_EXPIRING) {
                metrics.leaseLapsed();
              }
            }
          },
          Runnable::run);
      membership = new MembershipCoordinator(config, raft);
      switchover = new Switchover(config, raft, stateMachine);
      kv = new KvStore(raft);
    } catch (RuntimeException e) {
      // The Raft node has its server and client threads: nothing of this node may stay in the JVM.
      if (runner != null) {
        runner.shutdown();
      }
      closeRaft(e);
      metrics.close();
      throw e;
    }
  }

  /**
   * Registers the builder's listeners, waits out the rest of the quiet period, then starts the Raft
   * server, the role controller, health gating and membership, and runs the plan's preflight. If
   * any of it fails, every part is closed again (in reverse order: the Raft server last, which
   * frees the lock on its storage), so that a node built again in this JVM can start on the same
   * data directory; this runtime is then done.
   *
   * @throws BatonException if the Raft server cannot start (the port is taken, or its storage holds
   *     what this release cannot read), with the reason in its message
   */
  public void start() {
    try {
      startParts();
    } catch (RuntimeException e) {
      // Not controller.close(): nothing may be handed over by a node that never counted as
      // started; crash() stops the role loop (if it runs) and the plan's threads, and a lease it
      // took just expires. Each step runs even if one before it throws: the Raft server, closed
      // last, holds the lock on its storage.
      runEach(e, membership::close, health::close, controller::crash);
      closeRaft(e);
      // Last: a node built again with the same ids in a shared registry reports its own values.
      metrics.close();
      throw e;
    }
  }

  private void startParts() {
    for (Map.Entry<RoleListener, Executor> l : initialListeners) {
      controller.addListener(l.getKey(), l.getValue());
    }
    long wait;
    while ((wait = quietUntil - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
    }
    // Again, just before Ratis binds: the quiet period gave another process time to take it.
    requireRaftPortFree();
    try {
      raft.start();
    } catch (IOException | RuntimeException e) {
      // Ratis wraps what a division's start threw (CompletionException): the reason an operator
      // needs (a snapshot in a newer format names both versions, say) goes to the top.
      throw cannotStart(reasonOf(e), e);
    }
    controller.start();
    health.start();
    membership.start();
    if (config.security() instanceof RaftSecurity.Insecure) {
      LOG.warn(
          "node {}: the Raft port {} is PLAINTEXT and UNAUTHENTICATED (insecureTransport): anyone"
              + " who can reach it can append entries, force elections and pose as a leader,"
              + " which breaks every guarantee; use tls(...) or clusterSecret(...) outside tests"
              + " and demos",
          config.self().id(),
          config.self().address());
    }
    if (config.self().eligible()) {
      // Checks, without changing anything, that each step could run here; it also loads the
      // steps' code, so the first promotion in this JVM does not pay for a cold start.
      planRunner.preflight();
    }
  }

  /**
   * Called once the node counts as started: watches the Raft server and says in the log that the
   * node started. Ratis may stop the server under the node (a fatal error in the log or the state
   * machine): the node then stops too and says so, rather than run on as a member that cannot act.
   *
   * @param running whether the node still counts as started (a closed node is not stopped again)
   */
  public void started(BooleanSupplier running) {
    raftWatch =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "baton-raft-watch-" + config.self().id());
              t.setDaemon(true);
              return t;
            });
    syncMemberGauges();
    AtomicReference<List<String>> lastConfiguration = new AtomicReference<>(List.of());
    raftWatch.scheduleWithFixedDelay(
        () -> {
          if (running.getAsBoolean() && !raft.alive()) {
            stopItself.accept(whyRaftStopped(lastConfiguration.get()));
          } else {
            lastConfiguration.set(raft.configurationIds());
          }
          syncMemberGauges();
        },
        500,
        500,
        TimeUnit.MILLISECONDS);
    LOG.info(
        "node {} of cluster {} started on {} ({}; lease {} ms, election timeout {}-{} ms)",
        config.self().id(),
        config.clusterId(),
        config.self().address(),
        describe(config.security()),
        config.timing().lease().toMillis(),
        config.timing().electionTimeoutMin().toMillis(),
        config.timing().electionTimeoutMax().toMillis());
  }

  /**
   * Why the Raft server stopped under the node, as far as the node can tell: Ratis stops a server
   * whose election finds it outside its own configuration (NOT_IN_CONF), and says so only at INFO.
   */
  private String whyRaftStopped(List<String> configuration) {
    String self = config.self().id();
    if (!configuration.isEmpty() && !configuration.contains(self)) {
      return "its Raft server stopped: "
          + self
          + " is not a voter of the Raft configuration it last held "
          + configuration
          + ", and Ratis stops a server whose election finds it outside its configuration (a removed"
          + " member, or a joiner that had not yet received the entry that adds it; see the errors"
          + " logged before this line)";
    }
    return "its Raft server stopped (see the errors logged before this line)";
  }

  // Read by the lease gauge, which the metrics register before the controller exists.
  private double leaseSeconds() {
    RoleController c = controller;
    return c == null ? 0.0 : c.leaseRemaining().toMillis() / 1000.0;
  }

  // Read by the role gauge, which the metrics register before the Raft node and controller exist.
  private Role roleForMetrics() {
    return raft == null || controller == null ? Role.STOPPED : role();
  }

  /** One baton_member_up gauge per member the cluster knows now; never throws. */
  private void syncMemberGauges() {
    try {
      metrics.members(members().stream().map(Member::id).toList(), this::memberUp);
    } catch (RuntimeException e) {
      LOG.debug("node {}: member gauges not updated: {}", config.self().id(), e.toString());
    }
  }

  /**
   * Whether member {@code id} is up as this node sees it, for {@code baton_member_up}: 1 or 0, or
   * NaN when this node cannot tell. This node is up while its Raft server runs. The leader counts a
   * follower up when it answered within the maximum election timeout; a follower counts the leader
   * up when it heard from it within that time, and cannot tell about the other followers (it hears
   * only from the leader), nor, without a leader, about anyone but itself.
   */
  double memberUp(String id) {
    try {
      if (!raft.alive()) {
        return id.equals(config.self().id()) ? 0 : Double.NaN;
      }
      if (id.equals(config.self().id())) {
        return 1;
      }
      PeerContact contact = raft.peerContacts().get(id);
      if (contact != null) {
        return contact.up() ? 1 : 0;
      }
      return raft.isLeader() ? 0 : Double.NaN;
    } catch (RuntimeException e) {
      return Double.NaN;
    }
  }

  public RoleController controller() {
    return controller;
  }

  public KvStore kv() {
    return kv;
  }

  /** This node's role: {@link Role#STOPPED} when its Raft server has shut itself down. */
  public Role role() {
    return raft.alive() ? controller.role() : Role.STOPPED;
  }

  public long lastLogIndex() {
    return raft.lastLogIndex();
  }

  /** The members as the cluster knows them. */
  public List<Member> members() {
    return MemberView.members(config, stateMachine);
  }

  /** The promotion journal as this node has applied it, oldest first. */
  public List<JournalEntry> journal() {
    return stateMachine.localState(false).getJournalList().stream()
        .map(
            r ->
                new JournalEntry(
                    r.getNodeId(),
                    r.getToken(),
                    r.getAction(),
                    ActionContext.Phase.valueOf(r.getPhase()),
                    r.getAttempt(),
                    JournalEntry.Outcome.valueOf(r.getOutcome()),
                    r.getError().isEmpty() ? Optional.empty() : Optional.of(r.getError())))
        .toList();
  }

  /** What this node knows now; cheap, local, not linearizable. */
  public NodeStatus status() {
    ActivationRecord activation = stateMachine.activation();
    Optional<String> leader = raft.leaderId();
    List<String> inConf = raft.configurationIds();
    boolean activeKnown = !activation.getNodeId().isEmpty() && !activation.getResigned();
    List<NodeStatus.MemberStatus> members = new ArrayList<>();
    for (Member m : members()) {
      members.add(
          new NodeStatus.MemberStatus(
              m,
              leader.filter(m.id()::equals).isPresent(),
              activeKnown && activation.getNodeId().equals(m.id()),
              inConf.contains(m.id())));
    }
    long term;
    try {
      term = raft.info().getCurrentTerm();
    } catch (RuntimeException e) {
      term = 0;
    }
    return new NodeStatus(
        config.clusterId(),
        config.self().id(),
        role(),
        controller.token(),
        term,
        leader,
        activeKnown ? Optional.of(activation.getNodeId()) : Optional.empty(),
        activeKnown ? activation.getToken() : 0,
        stateMachine.highestToken(),
        controller.leaseRemaining(),
        members,
        planRunner.status(),
        health.status(members()));
  }

  public long switchActive(String targetNodeId, Duration timeout) {
    return switchover.switchActive(members(), this::journal, targetNodeId, timeout);
  }

  public Handover stepDown(Duration timeout) {
    return switchover.stepDown(members(), this::journal, timeout);
  }

  public void addMember(Member member) {
    membership.add(members(), member);
  }

  public void removeMember(String memberId) {
    membership.remove(members(), stateMachine.activation(), memberId);
  }

  /**
   * Stops gracefully: an active demotes and hands leadership over before the server stops; then the
   * node's meters leave the registry.
   */
  public void close() {
    stopWatching();
    health.close();
    controller.close();
    membership.close();
    closeRaft();
    metrics.close();
  }

  /** Stops the Raft server at once without giving anything up, as a crash would. */
  public void crash() {
    stopWatching();
    health.close();
    controller.crash();
    membership.close();
    closeRaft();
  }

  /**
   * Ratis ends the whole JVM (System.exit, in its gRPC services' start) when it cannot bind the
   * Raft port, so a taken port is found here first and refused with an error naming it. A port
   * taken between the last check and Ratis's bind still ends the process, as before.
   */
  private void requireRaftPortFree() {
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress(config.bindHost(), config.bindPort()));
    } catch (IOException | RuntimeException e) {
      throw cannotStart("the port cannot be bound (" + reasonOf(e) + "); is it taken?", e);
    }
  }

  private BatonException cannotStart(String reason, Exception cause) {
    return new BatonException(
        "node "
            + config.self().id()
            + " cannot start its Raft server on "
            + config.bindHost()
            + ":"
            + config.bindPort()
            + ": "
            + reason,
        cause);
  }

  private static String reasonOf(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  private static void runEach(Exception failure, Runnable... steps) {
    for (Runnable step : steps) {
      try {
        step.run();
      } catch (RuntimeException suppressed) {
        failure.addSuppressed(suppressed);
      }
    }
  }

  private void closeRaft(Exception failure) {
    try {
      raft.close();
    } catch (IOException | RuntimeException suppressed) {
      failure.addSuppressed(suppressed);
    }
  }

  private void stopWatching() {
    if (raftWatch != null) {
      raftWatch.shutdown();
    }
  }

  private void closeRaft() {
    try {
      raft.close();
    } catch (IOException e) {
      LOG.warn("node {}: closing the Raft server failed: {}", config.self().id(), e.toString());
    }
  }

  private static String describe(RaftSecurity security) {
    if (security instanceof RaftSecurity.Certificates) {
      return "Raft port: mutual TLS, certificates must name a member";
    }
    if (security instanceof RaftSecurity.SharedSecret s) {
      return "Raft port: mutual TLS with keys from the cluster secret (" + s.source() + ")";
    }
    return "Raft port: PLAINTEXT, unauthenticated";
  }
}
