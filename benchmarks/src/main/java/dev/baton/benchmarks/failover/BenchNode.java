package dev.baton.benchmarks.failover;

import dev.baton.core.ActiveContext;
import dev.baton.core.BatonNode;
import dev.baton.core.Member;
import dev.baton.core.PromotionPlan;
import dev.baton.core.RoleListener;
import dev.baton.core.StandbyReason;
import dev.baton.core.StepPolicy;
import dev.baton.core.Timing;
import dev.baton.dns.DnsSwitch;
import dev.baton.postgres.PostgresEndpoint;
import dev.baton.postgres.PostgresPromotionAction;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One Baton node as its own process, for {@link FailoverBenchmark}: a {@link BatonNode} with the
 * default timing whose promotion plan is what a deployment would configure — a {@link
 * PostgresPromotionAction} (this node's server is the target, the other site's the peer: fence the
 * old primary if reachable, promote, wait until writable, advance the fence row) followed by a
 * {@link DnsSwitch} that points the writer's name at this node's server (RFC 2136 update with TSIG,
 * compare-and-set on the fence TXT record, verified on the server). A witness has no plan.
 *
 * <p>It reports to its parent on stdout, one line per event, with {@link System#nanoTime()} (the
 * machine's CLOCK_MONOTONIC, the same clock in every process here): {@code EVENT started <t>},
 * {@code EVENT active <token> <t>}, {@code EVENT standby <reason> <t>}. It reads commands on stdin:
 * {@code switch <node>} (planned switch-active), {@code sync} (a linearizable KV read, answered
 * {@code EVENT synced <t> <highestToken>}; the read is answered by the leader, so only the highest
 * token this node has applied itself tells how far its own log has come), {@code heap} (a full GC,
 * then {@code EVENT heap <usedBytes> <committedBytes>}).
 *
 * <p>Arguments, all {@code --key=value}: {@code id}, {@code cluster}, {@code members} ({@code
 * id=host:port[:witness],...}), {@code data}, and for an eligible node {@code pg-target}, {@code
 * pg-peer} (host:port), {@code dns} (host:port), {@code zone}, {@code key-file}, {@code name},
 * {@code address}.
 */
public final class BenchNode {
  private BenchNode() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = parse(args);
    String id = required(opt, "id");
    List<Member> members = new ArrayList<>();
    for (String m : required(opt, "members").split(",")) {
      String[] kv = m.split("=", 2);
      if (kv.length != 2) {
        throw new IllegalArgumentException("--members: expected id=host:port[:witness], got " + m);
      }
      boolean witness = kv[1].endsWith(":witness");
      String address = witness ? kv[1].substring(0, kv[1].length() - 8) : kv[1];
      members.add(witness ? Member.witness(kv[0], address) : Member.voter(kv[0], address));
    }
    BatonNode.Builder builder =
        BatonNode.builder()
            .clusterId(required(opt, "cluster"))
            .nodeId(id)
            .members(members)
            .dataDir(Path.of(required(opt, "data")))
            .clusterSecret(Path.of(required(opt, "secret")))
            .bootstrap(Boolean.parseBoolean(opt.getOrDefault("bootstrap", "false")))
            .timing(timing(opt.get("election-timeout")))
            .listener(new Reporter(), Runnable::run);
    if (opt.containsKey("pg-target")) {
      PostgresPromotionAction pg =
          PostgresPromotionAction.builder()
              .target(endpoint(required(opt, "pg-target")))
              .peer(endpoint(required(opt, "pg-peer")))
              .connectTimeout(Duration.ofSeconds(1))
              .fenceResources("bench")
              // The benchmark's site loss takes the site's database down with its node; it has no
              // stop command and accepts promoting past the unreachable old primary explicitly
              // (logged as an error on every such promotion).
              .allowUnfencedOldPrimary(true)
              .build();
      String[] dns = required(opt, "dns").split(":");
      DnsSwitch sw =
          DnsSwitch.builder()
              .server(dns[0], Integer.parseInt(dns[1]))
              .zone(required(opt, "zone"))
              .tsigKeyFile(Path.of(required(opt, "key-file")))
              .address(required(opt, "name"), required(opt, "address"))
              .ttl(Duration.ofSeconds(1))
              .build();
      builder.promotionPlan(
          PromotionPlan.builder()
              .fence(sw.fence())
              .action(pg, StepPolicy.mustSucceed())
              .action(sw, StepPolicy.mustSucceed())
              .build());
    }
    BatonNode node = builder.build();
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "bench-node-close"));
    node.start();
    emit("started " + System.nanoTime());

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] cmd = line.trim().split("\\s+");
      try {
        switch (cmd[0]) {
          case "switch" -> node.cluster().switchActive(cmd[1], Duration.ofSeconds(30));
          case "sync" -> {
            node.kv().get("bench/sync");
            emit("synced " + System.nanoTime() + " " + node.status().highestToken());
          }
          case "heap" -> {
            System.gc();
            MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            emit("heap " + heap.getUsed() + " " + heap.getCommitted());
          }
          case "" -> {}
          default -> emit("error unknown command " + cmd[0]);
        }
      } catch (RuntimeException e) {
        emit("error " + cmd[0] + " " + e.toString().replace('\n', ' '));
      }
    }
    node.close();
  }

  private static final class Reporter implements RoleListener {
    @Override
    public void onActive(ActiveContext context) {
      emit("active " + context.token() + " " + System.nanoTime());
    }

    @Override
    public void onStandby(StandbyReason reason) {
      emit("standby " + String.valueOf(reason).replace(' ', '_') + " " + System.nanoTime());
    }
  }

  private static synchronized void emit(String event) {
    System.out.println("EVENT " + event);
    System.out.flush();
  }

  /**
   * The timing for {@code --election-timeout=MIN-MAX} (milliseconds, e.g. {@code 300-450} for the
   * LAN profile of docs/sidecar-config.md): {@link Timing#scaledTo}, the other settings scaled with
   * the minimum, as the sidecar's YAML does when only the election timeouts are given. Without it,
   * {@link Timing#DEFAULTS}.
   */
  static Timing timing(String electionTimeout) {
    if (electionTimeout == null) {
      return Timing.DEFAULTS;
    }
    String[] mm = electionTimeout.split("-", 2);
    try {
      if (mm.length == 2) {
        return Timing.scaledTo(
            Duration.ofMillis(Long.parseLong(mm[0].trim())),
            Duration.ofMillis(Long.parseLong(mm[1].trim())));
      }
    } catch (NumberFormatException e) {
      // the message below names the value
    }
    throw new IllegalArgumentException(
        "--election-timeout: expected MIN-MAX in milliseconds such as 300-450, got '"
            + electionTimeout
            + "'");
  }

  private static PostgresEndpoint endpoint(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    return PostgresEndpoint.of(
        hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> opt = new LinkedHashMap<>();
    for (String a : args) {
      if (!a.startsWith("--") || !a.contains("=")) {
        throw new IllegalArgumentException("expected --key=value, got '" + a + "'");
      }
      opt.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    }
    return opt;
  }

  private static String required(Map<String, String> opt, String key) {
    String v = opt.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("missing --" + key + "=...");
    }
    return v;
  }
}
