package dev.baton.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.sidecar.cli.BatonCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import picocli.CommandLine;

/**
 * Three real sidecar processes: the HTTP endpoints, the CLI (status, switch-active, members, kv)
 * against the running cluster, and a SIGKILL of the active that moves /active to another node. The
 * methods run in order on one cluster: each step starts from where the last one left it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarProcessTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static SidecarProcesses cluster;

  @BeforeAll
  static void start() throws Exception {
    cluster = new SidecarProcesses(3);
    cluster.startAll();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  record Cli(int status, String out, String err) {}

  /** Runs the CLI in this JVM, as bin/baton would in its own. */
  static Cli cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = BatonCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int status = cl.execute(args);
    return new Cli(status, out.toString(), err.toString());
  }

  /** Runs the CLI against every node until its answer satisfies {@code until} (bounded). */
  private static Cli awaitCli(Predicate<Cli> until, String... args) {
    return await().atMost(WAIT).until(() -> cli(withEndpoints(args)), until);
  }

  private static String[] withEndpoints(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--endpoints");
    all.add(String.join(",", cluster.endpoints()));
    all.addAll(cluster.secretArgs());
    return all.toArray(String[]::new);
  }

  @Test
  @Order(1)
  void oneNodeAnswersActiveAndEveryNodeServesHealthStatusAndMetrics() throws Exception {
    String active = cluster.awaitSteadyActive(WAIT);
    SidecarProcesses.HttpResult a = cluster.get(active, "/active");
    assertThat(a.body()).startsWith("active " + active + " token=");
    for (String id : cluster.nodes.keySet()) {
      await().atMost(WAIT).until(() -> cluster.get(id, "/health").code() == 200);
      if (!id.equals(active)) {
        assertThat(cluster.get(id, "/active").code()).isEqualTo(503);
      }
      JsonNode status = Json.read(cluster.get(id, "/status").body());
      assertThat(status.path("nodeId").asText()).isEqualTo(id);
      assertThat(status.path("members")).hasSize(3);
      String metrics = cluster.get(id, "/metrics").body();
      assertThat(metrics).contains("baton_role_active").contains("node=\"" + id + "\"");
      // Which Baton this is, as the build recorded it: the version and the git commit.
      assertThat(metrics)
          .containsPattern(
              "baton_build_info\\{[^}]*commit=\"([0-9a-f]{12}(-dirty)?|unknown)\"[^}]*"
                  + "version=\"0\\.2\\.0\"[^}]*\\} 1(\\.0)?");
    }
    assertThat(cluster.get(active, "/metrics").body())
        .containsPattern("baton_role_active\\{[^}]*node=\"" + active + "\"[^}]*\\} 1\\.0");
    // The promotion hook ran with the token in its environment.
    long token = Long.parseLong(a.body().replaceAll("(?s).*token=(\\d+).*", "$1"));
    await()
        .atMost(WAIT)
        .until(
            () ->
                Files.exists(cluster.hooks)
                    && Files.readString(cluster.hooks).contains(active + " token=" + token));
  }

  @Test
  @Order(2)
  void cliStatusShowsTheClusterAsATableAndAsJson() {
    String active = cluster.awaitSingleActive(WAIT);
    // Each node is asked for its own view with a short deadline; on a busy machine one may miss
    // it, so wait (bounded) for a table in which every node answered.
    Cli table =
        awaitCli(
            c ->
                c.status() == 0
                    && c.out().contains("active " + active)
                    && rows(c, "ACTIVE") == 1
                    && rows(c, "STANDBY") == 2,
            "status");
    assertThat(table.out()).contains("NODE", "ROLE", "TOKEN", "LEADER", "HEALTH");
    assertThat(table.out().lines().filter(l -> l.matches(active + " +ACTIVE +\\d+ +\\* +up .*")))
        .hasSize(1);
    assertThat(table.out()).doesNotContain("unreachable");

    Cli json =
        awaitCli(
            c -> c.status() == 0 && !c.out().contains("\"reachable\" : false"), "status", "--json");
    JsonNode j = Json.read(json.out());
    assertThat(j.path("activeNodeId").asText()).isEqualTo(active);
    assertThat(j.path("activeNow")).hasSize(1);
    assertThat(j.path("activeNow").get(0).path("id").asText()).isEqualTo(active);
    assertThat(j.path("nodes")).hasSize(3);
    for (JsonNode n : j.path("nodes")) {
      assertThat(n.path("reachable").asBoolean()).isTrue();
      assertThat(n.path("status").path("role").asText())
          .isEqualTo(n.path("id").asText().equals(active) ? "ACTIVE" : "STANDBY");
    }
  }

  @Test
  @Order(3)
  void cliKvAndMembers() {
    Cli put = cli(withEndpoints("kv", "put", "app/owner", "east"));
    assertThat(put.status()).as(put.err()).isZero();
    assertThat(put.out()).contains("app/owner = east");
    assertThat(cli(withEndpoints("kv", "get", "app/owner")).out()).contains("east");
    Cli casWrong = cli(withEndpoints("kv", "cas", "app/owner", "x", "--expect", "west"));
    assertThat(casWrong.status()).isEqualTo(1);
    assertThat(casWrong.err()).contains("not applied");
    assertThat(cli(withEndpoints("kv", "cas", "app/owner", "west", "--expect", "east")).status())
        .isZero();
    assertThat(cli(withEndpoints("kv", "get", "app/owner")).out()).contains("west");
    Cli absent = cli(withEndpoints("kv", "get", "app/none"));
    assertThat(absent.status()).isEqualTo(1);
    assertThat(absent.err()).contains("'app/none' is absent");

    Cli members = cli(withEndpoints("members", "list"));
    assertThat(members.status()).isZero();
    for (SidecarProcesses.Node n : cluster.nodes.values()) {
      assertThat(members.out())
          .contains(n.id)
          .contains("127.0.0.1:" + n.raft)
          .contains(n.controlAddress());
    }
    Cli removeUnknown = cli(withEndpoints("members", "remove", "ghost"));
    assertThat(removeUnknown.status()).isEqualTo(1);
    assertThat(removeUnknown.err()).contains("'ghost' is not a member");
  }

  /**
   * Issue 37, watch: one watcher, started on a standby, prints the role changes and another
   * client's puts as one stream in log order, and misses none of them while the node it watches is
   * killed and restarted. It starts after the revision of a put made before a switch-active, so
   * that switch reaches it through the replay from the activation history (as after a reconnect); a
   * second switch reaches it live, on the endpoint it moved to when its node was killed.
   */
  @Test
  @Order(3)
  void cliWatchPrintsRoleChangesAndPutsInLogOrderAndMissesNoneWhileItsNodeRestarts()
      throws Exception {
    String active = cluster.awaitSingleActive(WAIT);
    String watched =
        cluster.nodes.keySet().stream().filter(id -> !id.equals(active)).findFirst().orElseThrow();
    String third =
        cluster.nodes.keySet().stream()
            .filter(id -> !id.equals(active) && !id.equals(watched))
            .findFirst()
            .orElseThrow();
    List<String> endpoints = new ArrayList<>();
    endpoints.add(cluster.nodes.get(watched).controlAddress());
    cluster.nodes.values().stream()
        .filter(n -> !n.id.equals(watched))
        .forEach(n -> endpoints.add(n.controlAddress()));
    // The watch resumes after the revision of a put made before it starts, so the first put it
    // must show cannot race its connection.
    Cli mark = cli(withEndpoints("kv", "put", "w/0", "mark", "--json"));
    assertThat(mark.status()).as(mark.err()).isZero();
    java.util.regex.Matcher rev =
        java.util.regex.Pattern.compile("\"revision\":(\\d+)").matcher(mark.out());
    assertThat(rev.find()).as(mark.out()).isTrue();
    long firstSwitch = switchTo(third);
    List<String> args =
        new ArrayList<>(List.of("watch", "--prefix", "w/", "--after", rev.group(1), "--endpoints"));
    args.add(String.join(",", endpoints));
    args.addAll(cluster.secretArgs());
    // The watcher runs until it has printed the last put, then is stopped (no --count: a role
    // change the load may cause on its own would be one line more, and must not end it early).
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    ExecutorService runner = Executors.newSingleThreadExecutor();
    try {
      runner.submit(
          () -> {
            CommandLine cl = BatonCommand.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            return cl.execute(args.toArray(String[]::new));
          });
      await("the replayed switch to " + third)
          .atMost(WAIT)
          .until(() -> out.toString().contains("ACTIVE " + third + " token " + firstSwitch));
      assertThat(cli(withEndpoints("kv", "put", "w/1", "first")).status()).isZero();
      cluster.kill(watched);
      assertThat(cli(withEndpoints("kv", "put", "w/2", "while-down")).status()).isZero();
      assertThat(cli(withEndpoints("kv", "put", "w/3", "while-down")).status()).isZero();
      cluster.start(watched);
      // Back as a standby that knows the current activation, so that the switch below and the
      // tests after this one (a switch to this node) do not meet a node still catching up.
      await("the watched node is back as a standby that knows the current activation")
          .atMost(WAIT)
          .ignoreExceptions()
          .until(
              () -> {
                String now = cluster.awaitSingleActive(WAIT);
                long token = token(cluster.get(now, "/active").body());
                JsonNode s = Json.read(cluster.get(watched, "/status").body());
                return s.path("role").asText().equals("STANDBY")
                    && s.path("activeToken").asLong() == token;
              });
      long secondSwitch = switchTo(active);
      assertThat(cli(withEndpoints("kv", "put", "w/4", "after")).status()).isZero();
      await("the watcher's last put")
          .atMost(WAIT)
          .until(() -> out.toString().contains("PUT w/4 = after"));
      List<String> lines = out.toString().lines().toList();
      assertThat(lines.stream().filter(l -> l.startsWith("PUT ")))
          .as("the watcher's lines: %s; its errors: %s", lines, err)
          .hasSize(4)
          .satisfiesExactly(
              l -> assertThat(l).startsWith("PUT w/1 = first"),
              l -> assertThat(l).startsWith("PUT w/2 = while-down"),
              l -> assertThat(l).startsWith("PUT w/3 = while-down"),
              l -> assertThat(l).startsWith("PUT w/4 = after"));
      String replayed = "ACTIVE " + third + " token " + firstSwitch + " (SWITCH_ACTIVE asked of ";
      String live = "ACTIVE " + active + " token " + secondSwitch + " (SWITCH_ACTIVE asked of ";
      assertThat(lines)
          .as("role lines where they happened among the puts; errors: %s", err)
          .anySatisfy(l -> assertThat(l).startsWith(replayed).contains("; was " + active + " "))
          .anySatisfy(l -> assertThat(l).startsWith(live).contains("; was " + third + " "));
      assertThat(indexOf(lines, replayed)).isLessThan(indexOf(lines, "PUT w/1 "));
      assertThat(indexOf(lines, live))
          .isGreaterThan(indexOf(lines, "PUT w/3 "))
          .isLessThan(indexOf(lines, "PUT w/4 "));
      assertThat(err.toString())
          .contains(cluster.nodes.get(watched).controlAddress())
          .contains("resuming after revision");
    } finally {
      runner.shutdownNow();
    }
  }

  /** Switches the role to {@code target} with the CLI; returns its new token. */
  private static long switchTo(String target) {
    Cli r = cli(withEndpoints("switch-active", "--to", target));
    assertThat(r.status()).as(r.err()).isZero();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile(target + " is active with token (\\d+)").matcher(r.out());
    assertThat(m.find()).as(r.out()).isTrue();
    return Long.parseLong(m.group(1));
  }

  private static int indexOf(List<String> lines, String start) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(start)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The sidecars run on a cluster secret: their control API asks for it too (issue 28, item 3). A
   * CLI without it is refused before any call, and says how to give it; on the old code the control
   * API was plaintext and this switch moved the active.
   */
  @Test
  @Order(4)
  void aCliWithoutTheClusterSecretCannotSwitchTheActive() {
    String old = cluster.awaitSingleActive(WAIT);
    String target = cluster.nodes.keySet().stream().filter(id -> !id.equals(old)).findFirst().get();
    Cli r =
        cli(
            "switch-active",
            "--to",
            target,
            "--timeout",
            "3s",
            "--endpoints",
            String.join(",", cluster.endpoints()));
    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(1);
    assertThat(r.err()).contains("UNAVAILABLE").contains("--cluster-secret-file FILE --cluster ID");
    // It says why at once: the node speaks TLS and this client has no credentials. Before, the CLI
    // retried the closed plaintext call until its deadline (35 s) and then only guessed.
    assertThat(r.err()).contains("it speaks TLS").contains("this client has none");
    assertThat(cluster.awaitSingleActive(WAIT)).isEqualTo(old);
  }

  @Test
  @Order(4)
  void cliSwitchActiveMovesActiveToTheTarget() {
    String old = cluster.awaitSingleActive(WAIT);
    String target = cluster.nodes.keySet().stream().filter(id -> !id.equals(old)).findFirst().get();
    Cli r = cli(withEndpoints("switch-active", "--to", target));
    // A switch that stalled (CI, 2026-12-07: 30 s, the old active kept the role) is read from the
    // nodes' logs: the failure carries their tails.
    assertThat(r.status())
        .as("%s\n%s", r.err(), r.status() == 0 ? "" : cluster.logTails(80))
        .isZero();
    assertThat(r.out()).contains(target + " is active with token");
    assertThat(cluster.awaitSingleActive(WAIT)).isEqualTo(target);
    assertThat(cluster.get(old, "/active").code()).isEqualTo(503);

    Cli bad = cli(withEndpoints("switch-active", "--to", "nobody"));
    assertThat(bad.status()).isEqualTo(1);
    assertThat(bad.err()).contains("'nobody' is not a member");

    // step-down names no target: the role leaves the active for the best peer.
    Cli down = cli(withEndpoints("step-down"));
    assertThat(down.status()).as(down.err()).isZero();
    assertThat(down.out()).contains(" is active with token").doesNotStartWith(target + " ");
    assertThat(cluster.awaitSingleActive(WAIT)).isNotEqualTo(target);
  }

  /**
   * Issue 37: maintenance mode through the CLI, given one member's endpoint alone. Every member's
   * /status and /metrics show it, {@code status} prints it in its top line, a switch-active still
   * works while it is on, and off clears it everywhere. (No health checks here: that maintenance
   * holds an unhealthy active is MaintenanceTest's, in ha-core.)
   */
  @Test
  @Order(4)
  void cliMaintenanceShowsOnEveryMemberAndASwitchStillWorksWhileItIsOn() {
    String active = cluster.awaitSingleActive(WAIT);
    String asked =
        cluster.nodes.keySet().stream().filter(id -> !id.equals(active)).findFirst().orElseThrow();
    List<String> args =
        new ArrayList<>(
            List.of(
                "maintenance",
                "on",
                "--reason",
                "database upgrade (ticket 4711)",
                "--endpoints",
                cluster.nodes.get(asked).controlAddress()));
    args.addAll(cluster.secretArgs());
    Cli on = cli(args.toArray(String[]::new));
    assertThat(on.status()).as(on.err()).isZero();
    // The CLI proves the cluster secret under the name baton-cli; that is the client recorded.
    assertThat(on.out())
        .startsWith("maintenance ON, set by baton-cli via n")
        .contains("(that member's clock): database upgrade (ticket 4711)");
    for (String id : cluster.nodes.keySet()) {
      await("maintenance on in /status and /metrics of " + id)
          .atMost(WAIT)
          .ignoreExceptions()
          .until(() -> maintenanceShown(id, true));
      JsonNode m = Json.read(cluster.get(id, "/status").body()).path("maintenance");
      assertThat(m.path("reason").asText()).isEqualTo("database upgrade (ticket 4711)");
      assertThat(m.path("client").asText()).isEqualTo("baton-cli");
      assertThat(cluster.nodes).containsKey(m.path("setBy").asText());
    }
    Cli status =
        awaitCli(
            c -> c.status() == 0 && c.out().lines().findFirst().orElse("").contains("MAINTENANCE"),
            "status");
    assertThat(status.out().lines().findFirst().orElseThrow())
        .contains("; MAINTENANCE ON, set by baton-cli via n")
        .endsWith(": database upgrade (ticket 4711)");

    // A planned switch still works while it is on.
    String target =
        cluster.nodes.keySet().stream().filter(id -> !id.equals(active)).findFirst().orElseThrow();
    Cli moved = cli(withEndpoints("switch-active", "--to", target));
    assertThat(moved.status()).as(moved.err()).isZero();
    assertThat(cluster.awaitSingleActive(WAIT)).isEqualTo(target);

    Cli off = cli(withEndpoints("maintenance", "off"));
    assertThat(off.status()).as(off.err()).isZero();
    assertThat(off.out()).startsWith("maintenance OFF, set by baton-cli via n");
    for (String id : cluster.nodes.keySet()) {
      await("maintenance off in /status and /metrics of " + id)
          .atMost(WAIT)
          .ignoreExceptions()
          .until(() -> maintenanceShown(id, false));
    }
    assertThat(
            awaitCli(c -> c.status() == 0 && c.out().contains("active " + target), "status")
                .out()
                .lines()
                .findFirst()
                .orElseThrow())
        .doesNotContain("MAINTENANCE");
  }

  /** Whether node {@code id}'s /status and its baton_maintenance gauge both say {@code on}. */
  private static boolean maintenanceShown(String id, boolean on) {
    JsonNode m = Json.read(cluster.get(id, "/status").body()).path("maintenance");
    String gauge = on ? "1" : "0";
    return m.path("on").asBoolean() == on
        && java.util.regex.Pattern.compile(
                "(?m)^baton_maintenance\\{[^}]*baton_node=\"" + id + "\"[^}]*\\} " + gauge)
            .matcher(cluster.get(id, "/metrics").body())
            .find();
  }

  @Test
  @Order(5)
  void aNodeStartedWithJoiningIsAddedWithTheCliAndCatchesUp() throws Exception {
    SidecarProcesses.Node n4 = cluster.addJoining("n4");
    cluster.start("n4");
    await("n4's HTTP endpoint answers")
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> cluster.get("n4", "/health").code() > 0);
    List<String> oldEndpoints =
        cluster.nodes.values().stream()
            .filter(n -> n != n4)
            .map(SidecarProcesses.Node::controlAddress)
            .toList();
    Cli add =
        cli(
            "members",
            "add",
            "--id",
            "n4",
            "--raft",
            "127.0.0.1:" + n4.raft,
            "--endpoints",
            String.join(",", oldEndpoints),
            "--cluster-secret-file",
            cluster.secretArgs().get(1),
            "--cluster",
            "sidecar-test");
    assertThat(add.status()).as(add.err() + "\n" + cluster.log("n4")).isZero();

    Cli members =
        await("n4 is a member")
            .atMost(WAIT)
            .until(
                () -> cli(withEndpoints("members", "list")),
                c -> c.status() == 0 && c.out().contains("127.0.0.1:" + n4.raft));
    assertThat(members.out()).contains("n4");
    // n4 has the cluster's state: a KV read through n4's own control API alone.
    Cli get =
        await("a read through n4")
            .atMost(WAIT)
            .until(
                () ->
                    cli(
                        "kv",
                        "get",
                        "app/owner",
                        "--endpoints",
                        n4.controlAddress(),
                        "--cluster-secret-file",
                        cluster.secretArgs().get(1),
                        "--cluster",
                        "sidecar-test"),
                c -> c.status() == 0);
    assertThat(get.out()).contains("west");
    assertThat(cluster.get("n4", "/health").code()).isEqualTo(200);
    assertThat(cluster.log("n4")).doesNotContain("caught a Throwable");
    assertThat(cluster.activeIds()).hasSize(1);

    // Replacing a node is add, then remove: retire an old standby, as the operations guide says.
    String active = cluster.awaitSingleActive(WAIT);
    String retired =
        cluster.nodes.keySet().stream()
            .filter(id -> !id.equals(active) && !id.equals("n4"))
            .findFirst()
            .get();
    Cli remove = cli(withEndpoints("members", "remove", retired));
    assertThat(remove.status()).as(remove.err()).isZero();
    cluster.kill(retired);
    Cli after = cli(withEndpoints("members", "list"));
    assertThat(after.out())
        .contains("n4")
        .doesNotContain("127.0.0.1:" + cluster.nodes.get(retired).raft);
    assertThat(cluster.awaitSingleActive(WAIT)).isEqualTo(active);
  }

  @Test
  @Order(6)
  void sigkillOfTheActiveMovesActiveToAnotherNode() {
    cluster.awaitSingleActive(WAIT);
    SidecarProcesses.Active before = cluster.awaitActiveWithToken(id -> true, WAIT);
    String old = before.id();
    cluster.kill(old);
    SidecarProcesses.Active after = cluster.awaitActiveWithToken(id -> !id.equals(old), WAIT);
    String now = after.id();
    assertThat(after.token()).isGreaterThan(before.token());
    assertThat(cluster.get(old, "/active").code()).isEqualTo(-1);

    // The CLI still answers, showing the dead node as unreachable.
    Cli status = awaitCli(c -> c.status() == 0 && c.out().contains("active " + now), "status");
    assertThat(status.out()).contains("unreachable");
    assertThat(cli(withEndpoints("kv", "put", "after/failover", "ok")).out())
        .contains("after/failover = ok");
    assertThat(cli(withEndpoints("kv", "get", "after/failover")).out()).contains("ok");

    // The history (issue 37), from the CLI and from /history: every activation so far in token
    // order, the first a START, the switch of step 4 naming the member asked, this failover the
    // record of its token, and each activation that completed with its exec step's outcome.
    Cli history =
        awaitCli(
            c ->
                c.status() == 0
                    && tokens(Json.read(c.out())).contains(after.token())
                    && activation(Json.read(c.out()), after.token()).path("promoted").asBoolean(),
            "history",
            "--json");
    JsonNode doc = Json.read(history.out());
    List<Long> tokens = tokens(doc);
    assertThat(tokens).isSorted().doesNotHaveDuplicates();
    assertThat(doc.path("activations").get(0).path("reason").asText()).isEqualTo("START");
    JsonNode failover = activation(doc, after.token());
    assertThat(failover.path("reason").asText()).isEqualTo("FAILOVER");
    assertThat(failover.path("nodeId").asText()).isEqualTo(now);
    assertThat(failover.path("proposedAtUnixMillis").asLong()).isPositive();
    assertThat(doc.path("activations"))
        .anySatisfy(
            a -> {
              assertThat(a.path("reason").asText()).isEqualTo("SWITCH_ACTIVE");
              assertThat(cluster.nodes).containsKey(a.path("requester").asText());
            });
    assertThat(doc.path("activations"))
        .filteredOn(a -> a.path("promoted").asBoolean())
        .isNotEmpty()
        .allSatisfy(
            a ->
                assertThat(a.path("steps"))
                    .anySatisfy(
                        st -> {
                          assertThat(st.path("name").asText()).isEqualTo("record");
                          assertThat(st.path("outcome").asText()).isEqualTo("COMPLETED");
                          assertThat(st.path("durationMillis").asLong()).isNotNegative();
                        }));
    await("/history on the new active holds the same records")
        .atMost(WAIT)
        .until(() -> tokens(Json.read(cluster.get(now, "/history").body())).containsAll(tokens));
    Cli table = cli(withEndpoints("history"));
    assertThat(table.status()).as(table.err()).isZero();
    assertThat(table.out())
        .contains("in token order")
        .contains("TOKEN")
        .contains("FAILOVER")
        .contains("step record #1 COMPLETED in ");

    // Lose the majority: kill the new active too. The one node left still answers; nobody is
    // active, and the header says so instead of naming the last activation as if it held.
    // (The role may have moved again under load since: kill whichever node holds it now.)
    SidecarProcesses.Active last = cluster.awaitActiveWithToken(id -> !id.equals(old), WAIT);
    long lastToken = last.token();
    cluster.kill(last.id());
    Cli lost =
        awaitCli(
            c ->
                c.status() == 0
                    && c.out()
                        .contains(
                            "active none (last activation: "
                                + last.id()
                                + ", token "
                                + lastToken
                                + ")"),
            "status");
    assertThat(rows(lost, "ACTIVE")).isZero();
    assertThat(rows(lost, "STANDBY")).isEqualTo(1);
    JsonNode lostJson = Json.read(cli(withEndpoints("status", "--json")).out());
    assertThat(lostJson.path("activeNow")).isEmpty();
    assertThat(lostJson.path("activeNodeId").asText()).isEqualTo(last.id());
  }

  private static List<Long> tokens(JsonNode history) {
    List<Long> tokens = new ArrayList<>();
    history.path("activations").forEach(a -> tokens.add(a.path("token").asLong()));
    return tokens;
  }

  private static JsonNode activation(JsonNode history, long token) {
    for (JsonNode a : history.path("activations")) {
      if (a.path("token").asLong() == token) {
        return a;
      }
    }
    return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  private static long rows(Cli c, String role) {
    return c.out().lines().filter(l -> l.matches("n\\d +" + role + " .*")).count();
  }

  private static long token(String body) {
    return Long.parseLong(body.replaceAll("(?s).*token=(\\d+).*", "$1"));
  }
}
