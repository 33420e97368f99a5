package dev.baton.sidecar.config;

import dev.baton.postgres.FenceSchema;
import dev.baton.postgres.FormerPrimaryGuard;
import dev.baton.postgres.PgRewindRejoin;
import dev.baton.postgres.PostgresEndpoint;
import dev.baton.postgres.PostgresPromotionAction;
import dev.baton.postgres.WalPositionReporter;
import dev.baton.postgres.WriterEndpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import javax.sql.DataSource;

/**
 * {@code type: postgres}: moves the PostgreSQL writer to this node's server ({@link
 * PostgresPromotionAction}: fence the old primary, check the lag, promote, advance the fence rows,
 * publish the writer), with the former-primary guard and the WAL position reporter beside it when
 * asked for. One section serves every node: {@code servers} names each member's server, and this
 * node's is the one it promotes. The schema, with an example, is in docs/sidecar-config.md.
 */
final class PostgresStep implements StepType {
  static final PostgresStep TYPE = new PostgresStep();

  private PostgresStep() {}

  @Override
  public String name() {
    return "postgres";
  }

  @Override
  public List<String> keys() {
    return List.of(
        "servers",
        "database",
        "user",
        "passwordFile",
        "passwordEnv",
        "password",
        "connectTimeout",
        "socketTimeout",
        "maximumLag",
        "catchUpTimeout",
        "promoteTimeout",
        "fenceTimeout",
        "fenceResources",
        "fenceSchema",
        "stopCommand",
        "stopCommandTimeout",
        "stopCommandPassEnv",
        "allowUnfencedOldPrimary",
        "rejoinStaleAfter",
        "refuseWhenPositionUnknown",
        "writer",
        "formerPrimaryGuard",
        "positionReporter",
        "fenceLease");
  }

  @Override
  public Built build(String stepName, Yaml.Section step, Scope scope) {
    Yaml yaml = step.yaml();
    int before = yaml.problems().size();
    String database = step.string("database").orElse("postgres");
    String user = step.string("user").orElse("postgres");

    Map<String, PostgresEndpoint> servers = new LinkedHashMap<>();
    Yaml.Section serverSection = step.section("servers");
    if (!serverSection.present()) {
      step.required("servers", "each member's PostgreSQL server, e.g. n1: 10.0.1.5:5432");
    }
    for (String member : serverSection.keys()) {
      if (!scope.memberIds().contains(member)) {
        serverSection.report(
            member,
            "'" + member + "' is not a member; members are " + new TreeSet<>(scope.memberIds()));
        continue;
      }
      serverSection
          .hostPort(member)
          .ifPresent(
              a -> {
                int colon = a.lastIndexOf(':');
                servers.put(
                    member,
                    new PostgresEndpoint(
                        a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)), database));
              });
    }
    // A node that never becomes active and has no server here (a witness) never connects: the
    // form of the step is checked, but its secrets and tools need not exist on that host.
    boolean uses = scope.eligible() || serverSection.keys().contains(scope.nodeId());
    String password =
        ConfigSecrets.read(
                step, "passwordFile", "passwordEnv", "password", "the PostgreSQL password", uses)
            .orElse(null);
    if (serverSection.present()
        && scope.eligible()
        && !serverSection.keys().contains(scope.nodeId())) {
      yaml.problem(
          serverSection.node(),
          serverSection.path(),
          "has no server for this node '"
              + scope.nodeId()
              + "': a node that may become active promotes its own server (a witness needs none)");
    }

    Duration connectTimeout = step.duration("connectTimeout").orElse(Duration.ofSeconds(3));
    Duration socketTimeout = step.duration("socketTimeout").orElse(Duration.ofSeconds(30));
    long maximumLag = Sizes.bytes(step, "maximumLag", 1024 * 1024);
    Duration catchUp = step.duration("catchUpTimeout").orElse(Duration.ofSeconds(10));
    Duration promote = step.duration("promoteTimeout").orElse(Duration.ofSeconds(60));
    Duration fenceTimeout = step.duration("fenceTimeout").orElse(Duration.ofSeconds(10));
    List<String> resources = step.strings("fenceResources");
    FenceSchema schema = FenceSchema.defaultSchema();
    Optional<String> schemaName = step.string("fenceSchema");
    if (schemaName.isPresent()) {
      try {
        schema = FenceSchema.named(schemaName.get());
      } catch (IllegalArgumentException e) {
        step.report("fenceSchema", e.getMessage());
      }
    }
    Optional<List<String>> stop = step.words("stopCommand");
    boolean stopShell =
        step.valueNode("stopCommand") instanceof org.yaml.snakeyaml.nodes.ScalarNode;
    Duration stopTimeout = step.duration("stopCommandTimeout").orElse(Duration.ofSeconds(30));
    List<String> stopPassEnv = step.passEnv("stopCommandPassEnv");
    boolean allowUnfenced = step.bool("allowUnfencedOldPrimary", false);
    boolean refuseUnknown = step.bool("refuseWhenPositionUnknown", false);
    Duration rejoinStaleAfter = step.duration("rejoinStaleAfter").orElse(Duration.ofSeconds(5));
    if (rejoinStaleAfter.isZero() || rejoinStaleAfter.isNegative()) {
      step.report(
          "rejoinStaleAfter",
          "must be positive (how long a peer's rejoin record may go without moving), not "
              + step.string("rejoinStaleAfter").orElse(""));
    }
    WriterEndpoint writer = null;
    try {
      writer = new WriterEndpoint(scope.node().kv(), step.string("writer").orElse(stepName));
    } catch (IllegalArgumentException e) {
      step.report("writer", e.getMessage());
    }

    Yaml.Section guardSection = step.section("formerPrimaryGuard");
    guardSection.allow("checkInterval", "fenceTimeout", "rejoin", "rejoinLinger", "runIn");
    String runIn = guardSection.string("runIn").orElse("sidecar");
    if (!runIn.equals("sidecar") && !runIn.equals("pg-guard")) {
      guardSection.report(
          "runIn",
          "must be 'sidecar' (the sidecar runs the guard) or 'pg-guard' ('baton pg-guard' runs it"
              + " beside PostgreSQL), not '"
              + runIn
              + "'");
    }
    boolean guardInSidecar = !runIn.equals("pg-guard");
    Duration guardInterval = guardSection.duration("checkInterval").orElse(Duration.ofSeconds(5));
    Duration guardFenceTimeout = guardSection.duration("fenceTimeout").orElse(fenceTimeout);
    Duration rejoinLinger = guardSection.duration("rejoinLinger").orElse(Duration.ofSeconds(30));
    Yaml.Section rejoinSection = guardSection.section("rejoin");
    rejoinSection.allow(
        "dataDirectory", "binDirectory", "runAs", "logFile", "timeout", "recloneOnRewindFailure");
    boolean reclone = rejoinSection.bool("recloneOnRewindFailure", false);
    Path base = yaml.file().toAbsolutePath().getParent();
    Path pgData = null;
    Path pgBin = Path.of("/usr/lib/postgresql/15/bin");
    if (rejoinSection.present()) {
      String d = rejoinSection.required("dataDirectory", "this node's PostgreSQL data directory");
      if (d != null) {
        pgData = base.resolve(d);
      }
      Optional<String> b = rejoinSection.string("binDirectory");
      if (b.isPresent()) {
        pgBin = base.resolve(b.get());
      }
      // With runIn: pg-guard the sidecar may run on another host; 'baton pg-guard' checks it.
      if (uses && guardInSidecar && !Files.isExecutable(pgBin.resolve("pg_rewind"))) {
        rejoinSection.report(
            "binDirectory", "no executable pg_rewind in " + pgBin + " (set binDirectory)");
      }
      if (uses
          && guardInSidecar
          && reclone
          && !Files.isExecutable(pgBin.resolve("pg_basebackup"))) {
        rejoinSection.report(
            "recloneOnRewindFailure",
            "true needs pg_basebackup, and there is no executable pg_basebackup in "
                + pgBin
                + " (set binDirectory)");
      }
    }
    List<String> runAs = rejoinSection.strings("runAs");
    Optional<Path> rejoinLog = rejoinSection.string("logFile").map(base::resolve);
    Duration rejoinTimeout = rejoinSection.duration("timeout").orElse(Duration.ofSeconds(120));

    Yaml.Section reporterSection = step.section("positionReporter");
    reporterSection.allow("interval");
    Duration reportInterval = reporterSection.duration("interval").orElse(Duration.ofSeconds(1));

    // Fence protocol version 3: the promotion bounds the fence rows in time, and a renewer beside
    // the role renews them on this node's server while it is active (docs/fence-protocol.md).
    Yaml.Section leaseSection = step.section("fenceLease");
    leaseSection.allow("renewInterval", "maxRenewalTime");
    Duration leaseInterval = leaseSection.duration("renewInterval").orElse(Duration.ofMillis(100));
    // Absent: derived from the lease at each renewal (FenceLease.renewalBudgetNanos).
    Duration maxRenewalTime = leaseSection.duration("maxRenewalTime").orElse(null);
    if (leaseSection.present()) {
      if (maxRenewalTime != null && (maxRenewalTime.isZero() || maxRenewalTime.isNegative())) {
        leaseSection.report(
            "maxRenewalTime",
            "must be positive (the longest a renewal may take, taken off valid_until in advance),"
                + " not "
                + leaseSection.string("maxRenewalTime").orElse(""));
      }
      if (leaseInterval.isZero() || leaseInterval.isNegative()) {
        leaseSection.report(
            "renewInterval",
            "must be positive (how often the active renews the fence lease), not "
                + leaseSection.string("renewInterval").orElse(""));
      }
      if (resources.isEmpty()) {
        step.report(
            "fenceLease",
            "bounds the fence rows in time, but fenceResources names none: list the resources"
                + " that the plane's writers check");
      }
    }

    if (yaml.problems().size() > before) {
      return null;
    }
    PostgresEndpoint target = servers.get(scope.nodeId());
    if (target == null) {
      return null; // a witness: nothing to promote here
    }
    PostgresPromotionAction.Builder b =
        PostgresPromotionAction.builder()
            .name(stepName)
            .target(target)
            .user(user)
            .password(password)
            .connectTimeout(connectTimeout)
            .socketTimeout(socketTimeout)
            .maximumLagBytes(maximumLag)
            .catchUpTimeout(catchUp)
            .promoteTimeout(promote)
            .fenceTimeout(fenceTimeout)
            .fenceResources(resources.toArray(String[]::new))
            .schema(schema)
            .writerEndpoint(writer)
            .lastKnownPrimaryPosition(writer::lastKnownPosition)
            .refuseWhenPositionUnknown(refuseUnknown)
            .rejoinStaleAfter(rejoinStaleAfter)
            .allowUnfencedOldPrimary(allowUnfenced)
            .fenceTimeBound(leaseSection.present());
    servers.forEach(
        (member, server) -> {
          if (!member.equals(scope.nodeId())) {
            b.peer(server, member);
          }
        });
    stop.ifPresent(
        c ->
            b.stopCommand(
                    stopShell ? List.of("/bin/sh", "-c", String.join(" ", c)) : c, stopTimeout)
                .stopCommandPassEnv(stopPassEnv));
    PostgresPromotionAction action;
    try {
      action = b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      step.report("servers", e.getMessage());
      return null;
    }

    List<NodeService> services = new ArrayList<>();
    if (guardSection.present()) {
      PgRewindRejoin rejoin = null;
      if (pgData != null) {
        PgRewindRejoin.Builder rb =
            PgRewindRejoin.builder()
                .dataDirectory(pgData)
                .binDirectory(pgBin)
                .runAs(runAs)
                .local(target)
                .user(user)
                .password(password)
                .timeout(rejoinTimeout)
                .recloneOnRewindFailure(reclone);
        rejoinLog.ifPresent(rb::logFile);
        rejoin = rb.build();
      }
      PgRewindRejoin rejoinFinal = rejoin;
      WriterEndpoint published = writer;
      services.add(
          new FormerPrimaryGuardService(
              "postgres step '"
                  + stepName
                  + "': former-primary guard of "
                  + target.address()
                  + (rejoin == null
                      ? " (read-only only)"
                      : reclone
                          ? " (with pg_rewind rejoin; pg_basebackup re-clone if pg_rewind fails)"
                          : " (with pg_rewind rejoin)"),
              stepName,
              scope.nodeId(),
              target,
              guardInSidecar,
              rejoinTools(rejoin != null, reclone, pgBin),
              () ->
                  FormerPrimaryGuard.builder()
                      .local(target)
                      .writerEndpoint(published)
                      .rejoin(rejoinFinal)
                      .checkInterval(guardInterval)
                      .fenceTimeout(guardFenceTimeout)
                      .rejoinLinger(rejoinLinger)
                      .user(user)
                      .password(password)));
    }
    if (reporterSection.present()) {
      WriterEndpoint published = writer;
      DataSource local =
          target.dataSource(
              user, password, connectTimeout, socketTimeout, "baton-position-" + stepName);
      services.add(
          NodeService.of(
              "postgres step '"
                  + stepName
                  + "': WAL position reporter of "
                  + target.address()
                  + " every "
                  + reportInterval.toMillis()
                  + " ms while active",
              node ->
                  WalPositionReporter.start(
                      published,
                      local,
                      () -> node.activeContext().orElseThrow().token(),
                      reportInterval)));
    }
    if (leaseSection.present()) {
      services.add(
          NodeService.of(
              "postgres step '"
                  + stepName
                  + "': fence lease renewer of "
                  + resources
                  + " on "
                  + target.address()
                  + " every "
                  + leaseInterval.toMillis()
                  + " ms while active",
              // The node's own drift bound: the database's clock may run off this node's by as
              // much as the nodes' clocks may run off each other's.
              node ->
                  action.startFenceLeaseRenewer(
                      node::activeContext,
                      leaseInterval,
                      node.timing().clockDrift(),
                      maxRenewalTime)));
    }
    return new Built(action, services);
  }

  /** What a guard's rejoin runs: pg_rewind, and pg_basebackup when it may re-clone. */
  private static List<FormerPrimaryGuardService.RejoinTool> rejoinTools(
      boolean rejoins, boolean reclone, Path pgBin) {
    if (!rejoins) {
      return List.of();
    }
    List<FormerPrimaryGuardService.RejoinTool> tools = new ArrayList<>();
    tools.add(new FormerPrimaryGuardService.RejoinTool("binDirectory", pgBin.resolve("pg_rewind")));
    if (reclone) {
      tools.add(
          new FormerPrimaryGuardService.RejoinTool(
              "recloneOnRewindFailure", pgBin.resolve("pg_basebackup")));
    }
    return tools;
  }
}
