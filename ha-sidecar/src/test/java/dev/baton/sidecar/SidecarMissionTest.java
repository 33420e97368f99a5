package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.dns.TsigAlgorithm;
import dev.baton.dns.testing.BindServer;
import dev.baton.postgres.testing.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The whole mission through sidecars, with no Java code of the user's: three real sidecar processes
 * (n1 beside the PostgreSQL server east, n2 beside west, the witness w1), each eligible node with a
 * {@code type: postgres} and a {@code type: dns} step from its YAML, a real PostgreSQL 15 primary
 * and streaming standby, a real BIND 9, and a Python writer beside each database node that takes
 * the token from its sidecar's {@code /token}, finds the primary through the DNS name, and writes
 * through the fence ({@code baton.check_fence}) in every transaction.
 *
 * <p>The servers listen on the same port on two loopback addresses, so the DNS name's A record is
 * what tells the writer where the primary is.
 */
class SidecarMissionTest {
  private static final Duration LIVENESS = Duration.ofSeconds(90);
  private static final String EAST_IP = "127.0.10.1";
  private static final String WEST_IP = "127.0.10.2";
  private static final String RESOURCE = "orders";
  private static final Path WRITER =
      Path.of("..", "examples", "python-fenced-writer", "fenced_writer.py").toAbsolutePath();

  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      try {
        cleanup.get(i).close();
      } catch (Exception e) {
        System.err.println("cleanup: " + e);
      }
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    cleanup.add(c);
    return c;
  }

  @Test
  void sigkillOfTheActiveWithItsDatabaseMovesWriterAndNameAndTheOldTokenIsRefused()
      throws Exception {
    int pgPort = SidecarProcesses.freePort();
    PostgresServer east =
        closeLater(PostgresServer.startPrimary("east", EAST_IP, pgPort, Map.of()));
    PostgresServer west =
        closeLater(PostgresServer.startStandbyOf(east, "west", WEST_IP, pgPort, Map.of()));
    BindServer dns = closeLater(BindServer.start());
    Path keyFile = dns.keyFile(TsigAlgorithm.HMAC_SHA256);
    Map<String, PostgresServer> local = Map.of("n1", east, "n2", west);
    String name = "db." + dns.zone();

    SidecarProcesses cluster =
        closeLater(
            new SidecarProcesses(
                List.of("n1", "n2", "w1"),
                Set.of("w1"),
                (dir, n) -> promotion(dir, n.id, local.get(n.id), pgPort, dns, keyFile)));
    // Trust authentication on loopback ignores it, but the file is read as a deployment's is.
    Files.writeString(cluster.dir.resolve("pg-password"), "not-used-with-trust\n");

    // n1 and the witness first (a majority of three), so that n1 is the first active.
    cluster.start("n1");
    cluster.start("w1");
    String first = cluster.awaitSingleActive(LIVENESS);
    assertThat(first).as(cluster.logTails(40)).isEqualTo("n1");
    cluster.start("n2");
    // n2 must hold the log before the failover: Ratis does not count the vote of a member whose
    // log is empty once the cluster has committed entries (a voter that lost its disk must not
    // elect), so an n2 that never heard from n1 could elect nobody with the witness.
    await("n2 has applied n1's activation")
        .atMost(LIVENESS)
        .ignoreExceptions()
        .until(
            () -> Json.read(cluster.get("n2", "/status").body()).path("activeNodeId").asText(),
            "n1"::equals);
    await("the name points at east")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(EAST_IP)));

    Writer w1 = closeLater(new Writer(cluster, "n1", dns, name, pgPort));
    Writer w2 = closeLater(new Writer(cluster, "n2", dns, name, pgPort));
    // n1's token as its writer commits with it: on this loaded machine a node can lose its first
    // lease at start and win the role again with a higher token (ENVIRONMENT.md), so the token is
    // read again on each poll rather than once.
    long t1 =
        await("n1's writer commits five transactions with n1's token")
            .atMost(LIVENESS)
            .until(
                () -> {
                  long t = currentToken(cluster, "n1");
                  return t > 0 && w1.committed(t).size() >= 5 ? t : -1L;
                },
                t -> t > 0);

    // SIGKILL n1 with its database: the machine is gone.
    long killedAt = System.currentTimeMillis();
    cluster.kill("n1");
    east.kill();

    await("n2 active").atMost(LIVENESS).until(() -> cluster.get("n2", "/active").code() == 200);
    long t2 = tokenOf(cluster, "n2");
    assertThat(t2).isGreaterThan(t1);
    assertThat(west.isInRecovery()).as("west was promoted").isFalse();
    // Promoted past the unreachable east by the fence's time bound: no stop command, no opt-out.
    String n2Log = cluster.log("n2");
    assertThat(n2Log).as(cluster.logTails(40)).doesNotContain("allowUnfencedOldPrimary");
    java.util.regex.Matcher covered =
        java.util.regex.Pattern.compile(
                "unreachable; not stopped; it refuses writes with token (\\d+) \\(resource "
                    + RESOURCE
                    + "\\)")
            .matcher(n2Log);
    assertThat(covered.find()).as(cluster.logTails(40)).isTrue();
    // n1's last token before the SIGKILL (t1, or a later one if it won the role again since).
    assertThat(Long.parseLong(covered.group(1))).isGreaterThanOrEqualTo(t1).isLessThan(t2);
    await("the name points at west")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(WEST_IP)));
    JsonNode firstOnWest =
        await("n2's writer commits on west with token " + t2)
            .atMost(LIVENESS)
            .until(() -> w2.committed(t2), l -> !l.isEmpty())
            .get(0);
    long failoverMillis = firstOnWest.path("t").asLong() - killedAt;
    System.out.println(
        "SidecarMissionTest: failover through sidecars, SIGKILL of n1 and east to the Python"
            + " writer's first committed transaction on west: "
            + failoverMillis
            + " ms (token "
            + t1
            + " -> "
            + t2
            + ")");

    // A transaction that carries the old token is refused by the fence.
    JsonNode stale = Writer.once(west, pgPort, WEST_IP, t1);
    assertThat(stale.path("outcome").asText()).as(stale.toString()).isEqualTo("refused");
    assertThat(stale.path("sqlstate").asText()).isEqualTo("BT001");

    // east comes back as a primary of its own, diverged: n1's guard keeps it read-only and rewinds
    // it into a standby of west.
    east.start();
    cluster.start("n1");
    await("east rejoined as a standby of west")
        .atMost(LIVENESS)
        .ignoreExceptions()
        .until(
            () ->
                east.isInRecovery()
                    && west.queryLong(
                            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                        > 0);

    // Switch back to n1 with the CLI: east is promoted, the name moves back, west is rejoined.
    Process cli =
        SidecarProcesses.launch(
            cluster.dir.resolve("cli.log"),
            "switch-active",
            "--to",
            "n1",
            "--endpoints",
            String.join(",", cluster.endpoints()),
            "--cluster-secret-file",
            cluster.secretArgs().get(1),
            "--cluster",
            "sidecar-test");
    assertThat(cli.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(cli.exitValue())
        .as(Files.readString(cluster.dir.resolve("cli.log")) + cluster.logTails(60))
        .isZero();
    long t3 = tokenOf(cluster, "n1");
    assertThat(t3).isGreaterThan(t2);
    await("the name points at east again")
        .atMost(LIVENESS)
        .until(() -> dns.dig(name, "A"), a -> a.equals(List.of(EAST_IP)));
    await("n1's writer commits on east with token " + t3)
        .atMost(LIVENESS)
        .until(() -> !w1.committed(t3).isEmpty());
    // n1's promotion fenced west (read-only, sessions cut); n2's guard rewinds it into a standby
    // of east.
    try {
      await("west rejoined as a standby of east")
          .atMost(LIVENESS)
          .ignoreExceptions()
          .until(west::isInRecovery);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          e.getMessage()
              + "\nn2 /status: "
              + cluster.get("n2", "/status").body()
              + "\n"
              + cluster.threadDump("n2"),
          e);
    }

    // What the primary holds: every committed transaction's token, in commit order, never goes
    // down, and nothing was written with the old token after the new one appeared.
    List<Long> tokens = new ArrayList<>();
    for (String t :
        east.queryString("SELECT string_agg(token::text, ',' ORDER BY id) FROM ledger")
            .split(",")) {
      tokens.add(Long.parseLong(t));
    }
    for (int i = 1; i < tokens.size(); i++) {
      assertThat(tokens.get(i)).as("ledger row %d", i).isGreaterThanOrEqualTo(tokens.get(i - 1));
    }
    assertThat(tokens).contains(t1, t2, t3);
  }

  /** The token {@code id}'s {@code /token} serves now, or -1 while it serves none. */
  private static long currentToken(SidecarProcesses cluster, String id) {
    SidecarProcesses.HttpResult r = cluster.get(id, "/token");
    return r.code() == 200 ? Json.read(r.body()).path("token").asLong() : -1L;
  }

  private static long tokenOf(SidecarProcesses cluster, String id) {
    return await("token of " + id)
        .atMost(LIVENESS)
        .until(
            () -> {
              SidecarProcesses.HttpResult r = cluster.get(id, "/token");
              return r.code() == 200 ? Json.read(r.body()).path("token").asLong() : -1L;
            },
            t -> t > 0);
  }

  private static String promotion(
      Path dir, String id, PostgresServer mine, int pgPort, BindServer dns, Path keyFile) {
    StringBuilder y = new StringBuilder();
    y.append("promotion:\n  watchdog: false\n  steps:\n");
    y.append("    - name: postgres\n      type: postgres\n");
    y.append("      servers:\n");
    y.append("        n1: ").append(EAST_IP).append(':').append(pgPort).append('\n');
    y.append("        n2: ").append(WEST_IP).append(':').append(pgPort).append('\n');
    y.append("      user: ").append(PostgresServer.SUPERUSER).append('\n');
    y.append("      passwordFile: pg-password\n");
    y.append("      fenceResources: [").append(RESOURCE).append("]\n");
    // The region loss takes east's database down with its node. The fence's time bound (fence
    // protocol 3) makes promoting past the unreachable old primary safe with no STONITH and no
    // opt-out: n1 renews its fence row's valid_until on east while it is active, so once its lease
    // has ended east refuses its token by itself; n2's promotion reads the bound on west, which
    // replays east's WAL, and does not stop east.
    y.append("      fenceLease: {renewInterval: 100ms}\n");
    y.append("      timeout: 60s\n");
    if (mine != null) {
      y.append("      formerPrimaryGuard:\n        checkInterval: 500ms\n        rejoin:\n");
      y.append("          dataDirectory: ").append(mine.dataDir()).append('\n');
      y.append("          binDirectory: ")
          .append(Path.of(PostgresServer.bin("pg_ctl")).getParent())
          .append('\n');
      y.append("          runAs: [")
          .append(String.join(", ", PostgresServer.asPostgresPrefix()))
          .append("]\n");
      y.append("          logFile: ").append(mine.baseDir().resolve("postgres.log")).append('\n');
      y.append("      positionReporter:\n        interval: 500ms\n");
    }
    y.append("    - name: dns\n      type: dns\n");
    y.append("      server: ").append(dns.host()).append(':').append(dns.port()).append('\n');
    y.append("      zone: ").append(dns.zone()).append('\n');
    y.append("      names:\n        - name: db\n          type: A\n          values:\n");
    y.append("            n1: ").append(EAST_IP).append('\n');
    y.append("            n2: ").append(WEST_IP).append('\n');
    y.append("      ttl: 1s\n");
    y.append("      tsig:\n        keyFile: ").append(keyFile).append('\n');
    y.append("      timeout: 30s\n");
    // Ratis's election rounds in the node logs, for a failure's diagnosis.
    y.append("logging:\n  ratisLevel: INFO\n");
    return y.toString();
  }

  /** The Python writer beside one sidecar, as a real process; its JSON lines go to a file. */
  static final class Writer implements AutoCloseable {
    private final Path out;
    private final Process process;

    Writer(SidecarProcesses cluster, String id, BindServer dns, String name, int pgPort)
        throws IOException {
      out = cluster.dir.resolve("writer-" + id + ".jsonl");
      List<String> cmd =
          List.of(
              WRITER.toString(),
              "--token-url",
              "http://127.0.0.1:" + cluster.node(id).orElseThrow().http + "/token",
              "--resolve",
              name,
              "--dns-server",
              dns.host() + ":" + dns.port(),
              "--dsn",
              "port=" + pgPort + " dbname=postgres user=" + PostgresServer.SUPERUSER,
              "--resource",
              RESOURCE,
              "--table",
              "ledger",
              "--writer",
              id,
              "--interval-ms",
              "50");
      process =
          new ProcessBuilder(cmd)
              .redirectOutput(out.toFile())
              .redirectError(cluster.dir.resolve("writer-" + id + ".err").toFile())
              .start();
    }

    /** The transactions committed with {@code token}, in order. */
    List<JsonNode> committed(long token) throws IOException {
      List<JsonNode> ok = new ArrayList<>();
      for (String line : Files.readAllLines(out)) {
        if (line.isBlank() || !line.endsWith("}")) {
          continue; // a line still being written
        }
        JsonNode j = Json.read(line);
        if (j.path("outcome").asText().equals("ok") && j.path("token").asLong() == token) {
          ok.add(j);
        }
      }
      return ok;
    }

    /** One transaction with {@code token} on {@code server} (no sidecar, no DNS). */
    static JsonNode once(PostgresServer server, int port, String host, long token)
        throws IOException, InterruptedException {
      Process p =
          new ProcessBuilder(
                  WRITER.toString(),
                  "--token",
                  Long.toString(token),
                  "--dsn",
                  "host="
                      + host
                      + " port="
                      + port
                      + " dbname=postgres user="
                      + PostgresServer.SUPERUSER,
                  "--resource",
                  RESOURCE,
                  "--table",
                  "ledger",
                  "--writer",
                  "stale",
                  "--max-attempts",
                  "1")
              .redirectErrorStream(true)
              .start();
      String output = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(output).isTrue();
      String last = output.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElse("{}");
      return Json.read(last);
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }
}
