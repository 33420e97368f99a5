package dev.baton.sidecar.cli;

import dev.baton.core.KeyValueStore;
import dev.baton.core.KvEntry;
import dev.baton.core.KvEvent;
import dev.baton.core.NodeStatus;
import dev.baton.core.Role;
import dev.baton.core.control.BatonClient;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.sidecar.Logging;
import dev.baton.sidecar.config.ConfigLoader;
import dev.baton.sidecar.config.FormerPrimaryGuardService;
import dev.baton.sidecar.config.NodeService;
import dev.baton.sidecar.config.SidecarConfig;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code baton pg-guard --config node.yaml}: the former-primary guard of the node's postgres step
 * as a process of its own beside PostgreSQL, reaching the cluster as a client (the control API,
 * with the credentials of {@link ClientOptions}). It reads the node's own YAML and acts only on the
 * {@code formerPrimaryGuard} section of its postgres step(s), which must say {@code runIn:
 * pg-guard} (so that the sidecar, given the same file, does not run the guard too).
 */
@Command(
    name = "pg-guard",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a node's PostgreSQL former-primary guard beside PostgreSQL, as a cluster client.",
      "It reads the node's sidecar YAML (--config) and runs the formerPrimaryGuard of its",
      "postgres step, which must say runIn: pg-guard. While the cluster's leader reports",
      "another node as active, and the node's own server is a primary that is not the",
      "published writer, it makes that server read-only and, with a rejoin section, rewinds",
      "it into a standby of the writer (pg_rewind, on this host's data directory). While the",
      "node holds the role, or while the cluster cannot be asked, it leaves the server alone.",
      "Rejoin records are keys under baton/: with TLS the client certificate must be among",
      "tls.authorizedClients; with a cluster secret every holder may write them.",
      "Runs until SIGTERM or SIGINT."
    })
final class PgGuardCommand implements java.util.concurrent.Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(PgGuardCommand.class);

  @Mixin ClientOptions client;

  @Override
  public Integer call() throws InterruptedException {
    if (client.config == null) {
      throw new BatonCommand.UsageError(
          "pg-guard needs --config NODE.yaml: the node's sidecar config, whose postgres step's"
              + " formerPrimaryGuard it runs");
    }
    Logging.cli();
    SidecarConfig c = ConfigLoader.loadAsClient(client.config);
    List<FormerPrimaryGuardService> guards = new ArrayList<>();
    for (NodeService s : c.services()) {
      if (s instanceof FormerPrimaryGuardService g) {
        guards.add(g);
      }
    }
    if (guards.isEmpty()) {
      throw new BatonCommand.UsageError(
          client.config
              + ": node '"
              + c.nodeId()
              + "' has no postgres step with a formerPrimaryGuard section (and a server of its"
              + " own under servers): nothing to guard");
    }
    for (FormerPrimaryGuardService g : guards) {
      if (g.inSidecar()) {
        throw new BatonCommand.UsageError(
            client.config
                + ": promotion step '"
                + g.stepName()
                + "': formerPrimaryGuard.runIn is 'sidecar' (the default), so the sidecar runs"
                + " this guard; set runIn: pg-guard to run it here instead (never both)");
      }
      for (FormerPrimaryGuardService.RejoinTool tool : g.rejoinTools()) {
        if (!Files.isExecutable(tool.path())) {
          throw new BatonCommand.UsageError(
              client.config
                  + ": promotion step '"
                  + g.stepName()
                  + "': formerPrimaryGuard.rejoin."
                  + tool.key()
                  + ": no executable "
                  + tool.path().getFileName()
                  + " at "
                  + tool.path()
                  + " on this host"
                  + (tool.key().equals("binDirectory")
                      ? ""
                      : " (recloneOnRewindFailure: true needs it; set binDirectory)"));
        }
      }
    }
    Logging.sidecar(c.logging().format(), c.logging().level(), c.logging().ratisLevel());
    BatonClient cluster = client.client();
    c.nodeRef().bindClientStore(new ClientStore(cluster));
    BooleanSupplier holdsRole = new NodeHoldsRole(cluster, c.nodeId());
    List<FormerPrimaryGuard> started = new ArrayList<>();
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  started.forEach(FormerPrimaryGuard::close);
                  cluster.close();
                  closed.countDown();
                },
                "baton-pg-guard-shutdown"));
    for (FormerPrimaryGuardService g : guards) {
      LOG.info(
          "pg-guard: guarding {} of node {} (promotion step '{}') through the control API at {}",
          g.server().address(),
          g.nodeId(),
          g.stepName(),
          cluster.endpoints());
      started.add(g.startOutsideNode(holdsRole));
    }
    closed.await();
    return 0;
  }

  /**
   * Whether the guarded node holds or may be taking the role, as the cluster's leader reports it:
   * false only when the answer comes from the leader itself, the leader is another node, and the
   * leader is the active (with a token). Any doubt (no leader known, the node itself leads, the
   * cluster does not answer) counts as "holds it": the guard then leaves the server alone and asks
   * again at its next check.
   */
  static final class NodeHoldsRole implements BooleanSupplier {
    private final BatonClient cluster;
    private final String nodeId;

    NodeHoldsRole(BatonClient cluster, String nodeId) {
      this.cluster = cluster;
      this.nodeId = nodeId;
    }

    @Override
    public boolean getAsBoolean() {
      NodeStatus s;
      try {
        s = cluster.statusReport().node();
      } catch (RuntimeException e) {
        LOG.warn(
            "pg-guard: cannot ask the cluster who is active ({}); leaving the server alone",
            e.getMessage());
        return true;
      }
      boolean anotherIsActive =
          s.leaderId().filter(s.nodeId()::equals).isPresent()
              && !s.nodeId().equals(nodeId)
              && s.role() == Role.ACTIVE
              && s.activeNodeId().filter(s.nodeId()::equals).isPresent()
              && s.token() > 0;
      return !anotherIsActive;
    }
  }

  /**
   * The cluster's key-value store through the control API. Its watch is the control API's WatchKeys
   * stream ({@link ClientWatch}): the guard subscribes to the writer endpoint's key, so outside the
   * node it checks on writer changes as well as on its own interval ({@code
   * formerPrimaryGuard.checkInterval}), as inside it. The watch that resumes from a revision is not
   * offered (the guard does not use it): it throws {@link UnsupportedOperationException}.
   */
  static final class ClientStore implements KeyValueStore {
    private final BatonClient c;

    ClientStore(BatonClient c) {
      this.c = c;
    }

    @Override
    public Optional<KvEntry> get(String key) {
      return c.get(key);
    }

    @Override
    public List<KvEntry> list(String prefix) {
      return c.list(prefix);
    }

    @Override
    public KvEntry put(String key, byte[] value) {
      return c.put(key, value);
    }

    @Override
    public Optional<KvEntry> compareAndSet(String key, byte[] expected, byte[] update) {
      return c.compareAndSet(key, expected, update);
    }

    @Override
    public Optional<KvEntry> compareAndSetRevision(
        String key, long expectedRevision, byte[] update) {
      return c.compareAndSetRevision(key, expectedRevision, update);
    }

    @Override
    public boolean delete(String key) {
      return c.delete(key);
    }

    @Override
    public Watch watch(String prefix, Executor executor, Consumer<KvEvent> listener) {
      return ClientWatch.start(c, prefix, executor, listener);
    }
  }
}
