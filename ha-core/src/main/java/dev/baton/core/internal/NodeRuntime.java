package dev.baton.core.internal;

import dev.baton.core.Activation;
import dev.baton.core.ActiveContext;
import dev.baton.core.BatonException;
import dev.baton.core.FailbackPolicy;
import dev.baton.core.Handover;
import dev.baton.core.HealthCheck;
import dev.baton.core.HealthPolicy;
import dev.baton.core.JournalEntry;
import dev.baton.core.Maintenance;
import dev.baton.core.Member;
import dev.baton.core.NodeStatus;
import dev.baton.core.PromotionPlan;
import dev.baton.core.Role;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running parts of one {@code BatonNode}, wired in the order the lease argument needs: the data
 * directory claimed, the state machine, metrics, the Raft node, the plan runner, health gating, the
 * role controller, membership, switch-over, maintenance mode and the KV store; then, in {@link
 * #start()}, the quiet period and the servers. Not an API: the node makes one per {@code start()},
 * keeps its own lifecycle state (built, started, closed) and delegates to it.
 *
 * <p>The parts with a job of their own: {@link RaftStartup} (the quiet period and the port check),
 * {@link RaftWatch} (the node stops when its Raft server stops), {@link MemberGauges} and {@link
 * LocalStatus} (what this node knows now).
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
      HealthPolicy healthPolicy,
      FailbackPolicy failback) {
    /** The same, with {@code more} listeners after the builder's (those added before start). */
    public Collaborators plusListeners(List<Map.Entry<RoleListener, Executor>> more) {
      if (more.isEmpty()) {
        return this;
      }
      List<Map.Entry<RoleListener, Executor>> all = new java.util.ArrayList<>(listeners);
      all.addAll(more);
      return new Collaborators(
          meterRegistry,
          plan,
          clock,
          ticker,
          List.copyOf(all),
          healthChecks,
          healthPolicy,
          failback);
    }
  }

  private final NodeConfig config;
  private final List<Map.Entry<RoleListener, Executor>> initialListeners;
  private final Consumer<String> stopItself;
  private final RaftStartup startup;
  private final BatonStateMachine stateMachine;
  private final RaftNode raft;
  private final PlanRunner planRunner;
  private final HealthGate health;
  private final RoleController controller;
  private final MembershipCoordinator membership;
  private final Switchover switchover;
  private final MaintenanceSwitch maintenance;
  private final KvStore kv;
  private final NodeMetrics metrics;
  private final LocalStatus local;
  private final MemberGauges memberGauges;
  private final RaftWatch raftWatch;

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
    RaftStartup.requirePortFree(config);
    DataDirectory.claim(
        config.dataDir(),
        config.clusterId(),
        config.self().id(),
        config.bootstrap(),
        config.joining(),
        () ->
            BootstrapProbe.check(
                config, config.dataDir().toPath(), config.bootstrapProbeTimeout()));
    // The quiet period (step 3 of the lease argument) starts once the data directory is claimed.
    startup = new RaftStartup(config);
    stateMachine = new BatonStateMachine(config.historyLimit());
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
      controller =
          new RoleController(
              config,
              raft,
              parts.clock(),
              runner,
              metrics,
              health,
              new FailbackHandOver(
                  config, raft, parts.failback(), parts.ticker(), metrics.failbacks()));
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
      maintenance = new MaintenanceSwitch(config, raft);
      metrics.maintenance(() -> stateMachine.maintenance().getOn());
      kv = new KvStore(raft);
      local = new LocalStatus(config, stateMachine, raft, controller.state(), runner, health);
      memberGauges = new MemberGauges(config, raft, metrics, local::members);
      raftWatch = new RaftWatch(config, raft, stopItself, memberGauges::sync);
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
    startup.start(raft);
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
   * Called once the node counts as started: starts the {@link RaftWatch} (the node stops when its
   * Raft server stops under it) and says in the log that the node started.
   *
   * @param running whether the node still counts as started (a closed node is not stopped again)
   */
  public void started(BooleanSupplier running) {
    memberGauges.sync();
    raftWatch.start(running);
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

  // Read by the lease gauge, which the metrics register before the controller exists.
  private double leaseSeconds() {
    RoleController c = controller;
    return c == null ? 0.0 : c.state().leaseRemaining().toMillis() / 1000.0;
  }

  // Read by the role gauge, which the metrics register before the Raft node and controller exist.
  private Role roleForMetrics() {
    LocalStatus l = local;
    return l == null ? Role.STOPPED : l.role();
  }

  public RoleController controller() {
    return controller;
  }

  /** This node's role, its activation and its lease: what {@code BatonNode} reads of them. */
  public RoleState roleState() {
    return controller.state();
  }

  public KvStore kv() {
    return kv;
  }

  /** This node's role: {@link Role#STOPPED} when its Raft server has shut itself down. */
  public Role role() {
    return local.role();
  }

  public long lastLogIndex() {
    return raft.lastLogIndex();
  }

  /** The members as the cluster knows them. */
  public List<Member> members() {
    return local.members();
  }

  /** The promotion journal as this node has applied it, oldest first. */
  public List<JournalEntry> journal() {
    return local.journal();
  }

  /**
   * A watch of the keys under {@code prefix} and of the activations, in log order, from after
   * {@code afterRevision} (0: from now); see {@link BatonStateMachine#watch(String, long,
   * java.util.concurrent.Executor, Consumer, Consumer)}.
   */
  public AutoCloseable watch(
      String prefix,
      long afterRevision,
      java.util.concurrent.Executor executor,
      Consumer<dev.baton.core.KvEvent> keys,
      Consumer<Activation> activations) {
    return stateMachine.watch(prefix, afterRevision, executor, keys, activations);
  }

  /** The activation history as this node has applied it, oldest first. */
  public List<Activation> history() {
    return stateMachine.history();
  }

  /** What this node knows now; cheap, local, not linearizable. */
  public NodeStatus status() {
    return local.status();
  }

  public long switchActive(String targetNodeId, Duration timeout) {
    return switchover.switchActive(members(), this::journal, targetNodeId, timeout);
  }

  public Handover stepDown(Duration timeout) {
    return switchover.stepDown(members(), this::journal, timeout);
  }

  /** Maintenance mode as this node has applied it. */
  public Maintenance maintenance() {
    return maintenance.current();
  }

  /** Turns maintenance mode on or off through Raft; see {@code Cluster.maintenance}. */
  public Maintenance maintenance(boolean on, String reason) {
    return maintenance.set(on, reason);
  }

  /** As {@link #maintenance(boolean, String)}, asked by control-API client {@code client}. */
  public Maintenance maintenance(boolean on, String reason, String client) {
    return maintenance.set(on, reason, client);
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
    raftWatch.stop();
    health.close();
    controller.close();
    membership.close();
    closeRaft();
    metrics.close();
  }

  /** Stops the Raft server at once without giving anything up, as a crash would. */
  public void crash() {
    raftWatch.stop();
    health.close();
    controller.crash();
    membership.close();
    closeRaft();
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
