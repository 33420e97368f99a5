package dev.baton.sidecar.config;

import dev.baton.core.BatonNode;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.postgres.PostgresEndpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A postgres step's former-primary guard ({@code formerPrimaryGuard:}), which runs either in the
 * sidecar beside the node ({@code runIn: sidecar}, the default) or in its own process beside
 * PostgreSQL ({@code runIn: pg-guard}, started with {@code baton pg-guard --config NODE.yaml}),
 * which reaches the cluster as a client. Either way it is built from the same section.
 */
public final class FormerPrimaryGuardService implements NodeService {
  private final String description;
  private final String stepName;
  private final String nodeId;
  private final PostgresEndpoint server;
  private final boolean inSidecar;
  private final List<RejoinTool> rejoinTools;
  private final Supplier<FormerPrimaryGuard.Builder> builder;
  private volatile FormerPrimaryGuard running;

  FormerPrimaryGuardService(
      String description,
      String stepName,
      String nodeId,
      PostgresEndpoint server,
      boolean inSidecar,
      List<RejoinTool> rejoinTools,
      Supplier<FormerPrimaryGuard.Builder> builder) {
    this.description = description;
    this.stepName = stepName;
    this.nodeId = nodeId;
    this.server = server;
    this.inSidecar = inSidecar;
    this.rejoinTools = List.copyOf(rejoinTools);
    this.builder = Objects.requireNonNull(builder);
  }

  @Override
  public String describe() {
    return description
        + (inSidecar ? "" : " runs in 'baton pg-guard' beside PostgreSQL, not in this sidecar");
  }

  /** The postgres step's name. */
  public String stepName() {
    return stepName;
  }

  /** The node whose server it guards. */
  public String nodeId() {
    return nodeId;
  }

  /** The server it guards. */
  public PostgresEndpoint server() {
    return server;
  }

  /** Whether the sidecar runs it ({@code runIn: sidecar}) rather than {@code baton pg-guard}. */
  public boolean inSidecar() {
    return inSidecar;
  }

  /**
   * The PostgreSQL programs its rejoin runs on the guarded server's host: {@code pg_rewind}
   * whenever it rejoins, and {@code pg_basebackup} too with {@code recloneOnRewindFailure: true}.
   * Empty without a rejoin section. The sidecar checks them when it loads a guard it runs; {@code
   * baton pg-guard} checks them on its own host, where they run.
   */
  public List<RejoinTool> rejoinTools() {
    return rejoinTools;
  }

  /**
   * A program the rejoin runs.
   *
   * @param key the config key that makes it needed, under {@code formerPrimaryGuard.rejoin}
   * @param path where it is expected ({@code binDirectory}/name)
   */
  public record RejoinTool(String key, Path path) {
    public RejoinTool {
      Objects.requireNonNull(key);
      Objects.requireNonNull(path);
    }
  }

  @Override
  public AutoCloseable start(BatonNode node) {
    if (!inSidecar) {
      return () -> {};
    }
    FormerPrimaryGuard guard = builder.get().node(node).build().start();
    running = guard;
    return guard;
  }

  /**
   * The guard this sidecar runs, once {@link #start started}; empty for {@code runIn: pg-guard}.
   */
  public Optional<FormerPrimaryGuard> guard() {
    return Optional.ofNullable(running);
  }

  /**
   * Starts the guard outside the node (in {@code baton pg-guard}); the configuration's store must
   * have been {@linkplain NodeRef#bindClientStore bound} to the cluster first.
   *
   * @param nodeHoldsRole whether the guarded node holds or may be taking the role now (the guard
   *     leaves the server alone while it does, and when it cannot tell)
   */
  public FormerPrimaryGuard startOutsideNode(BooleanSupplier nodeHoldsRole) {
    return builder.get().nodeId(nodeId).isActive(nodeHoldsRole).build().start();
  }
}
